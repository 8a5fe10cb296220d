"""Bilingual (en, zh_CN) messages for field staff: short, and saying what to do next.

Each entry: reference -> {lang: (text, hint)}. Modules add their own entries with
``register({...})`` at import time so this file does not become a merge hot spot.
"""

import os

DEFAULT_LANG = "en"
SUPPORTED = ("en", "zh_CN")

_CATALOG = {
    "word-error": {"en": ("error", ""), "zh_CN": ("错误", "")},
    "word-next": {"en": ("next", ""), "zh_CN": ("下一步", "")},
    "word-warning": {"en": ("warning", ""), "zh_CN": ("警告", "")},
    "not-root": {
        "en": ("this command must run as root", "run it again with sudo or as root"),
        "zh_CN": ("此命令必须以 root 身份运行", "请使用 sudo 或 root 用户重新运行"),
    },
    "unknown-command": {
        "en": ("unknown command '{command}'", "run with --help to see the commands"),
        "zh_CN": ("未知命令 '{command}'", "使用 --help 查看可用命令"),
    },
    "internal-error": {
        "en": ("unexpected internal error: {detail}",
               "send the log in /var/log/ha-installer/ to the build team"),
        "zh_CN": ("意外的内部错误: {detail}",
                  "请将 /var/log/ha-installer/ 中的日志发送给构建团队"),
    },
}

_lang_override = None


def register(entries):
    """Add message entries (reference -> {lang: (text, hint)}); a duplicate is a bug."""
    for ref, by_lang in entries.items():
        if ref in _CATALOG and _CATALOG[ref] != by_lang:
            raise ValueError("message reference registered twice: " + ref)
        if "en" not in by_lang or "zh_CN" not in by_lang:
            raise ValueError("message needs en and zh_CN: " + ref)
        _CATALOG[ref] = by_lang


def set_lang(lang):
    global _lang_override
    _lang_override = normalise(lang) if lang else None


def normalise(lang):
    if not lang:
        return DEFAULT_LANG
    low = lang.lower()
    if low.startswith("zh"):
        return "zh_CN"
    return DEFAULT_LANG


def current_lang():
    if _lang_override:
        return _lang_override
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return normalise(value)
    return DEFAULT_LANG


def _entry(reference, lang):
    by_lang = _CATALOG.get(reference)
    if by_lang is None:
        return (reference, "")
    return by_lang.get(lang or current_lang()) or by_lang["en"]


def text(reference, lang=None, **params):
    return _entry(reference, lang)[0].format(**params)


def hint(reference, lang=None, **params):
    return _entry(reference, lang)[1].format(**params)
