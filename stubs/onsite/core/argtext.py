"""argparse's own words (usage, errors, help headings) in the user's language.

argparse looks each of its strings up through the module-level name ``_`` (gettext) when it
prints; ``install()`` points that name at the catalog below, so ``--lang zh_CN`` (or LANG)
also gives Chinese usage lines and argument errors. Strings argparse does not ask for here
stay English, and an unknown language leaves argparse as it is.
"""

import argparse

from onsite.core import messages

# argparse msgid -> Chinese (the msgids of Python 3.6 to 3.12; placeholders unchanged)
ZH_CN = {
    "usage: ": "用法: ",
    "positional arguments": "位置参数",
    "optional arguments": "可选参数",
    "options": "选项",
    "show this help message and exit": "显示此帮助信息并退出",
    "show program's version number and exit": "显示程序版本号并退出",
    "the following arguments are required: %s": "缺少以下必需参数: %s",
    "unrecognized arguments: %s": "无法识别的参数: %s",
    "invalid choice: %(value)r (choose from %(choices)s)": "无效的选项: %(value)r (可选: %(choices)s)",
    "invalid %(type)s value: %(value)r": "无效的 %(type)s 值: %(value)r",
    "expected one argument": "需要一个参数",
    "expected at most one argument": "最多需要一个参数",
    "expected at least one argument": "至少需要一个参数",
    "argument %(argument_name)s: %(message)s": "参数 %(argument_name)s: %(message)s",
    "%(prog)s: error: %(message)s\n": "%(prog)s: 错误: %(message)s\n",
    "ambiguous option: %(option)s could match %(matches)s": "有歧义的选项: %(option)s 可匹配 %(matches)s",
    "not allowed with argument %s": "不能与参数 %s 同时使用",
    "ignored explicit argument %r": "忽略显式参数 %r",
}


def translate(text):
    if messages.current_lang() == "zh_CN":
        return ZH_CN.get(text, text)
    return text


def error_text(message):
    """An argparse error message: Python 3.6 builds 'argument X: ...' without asking ``_``."""
    if messages.current_lang() == "zh_CN" and message.startswith("argument "):
        return "参数 " + message[len("argument "):]
    return message


def install():
    """Make argparse ask us for its strings (looked up when printed, so --lang applies)."""
    argparse._ = translate
