"""The message catalog: every key the code uses exists, en and zh_CN take the same
placeholders, no key is unused, and the package catalogs do not overlap."""

import ast
import string

import pytest

from onsite.core import messages
from tests.conftest import STUBS

ONSITE = STUBS / "onsite"
CALLS = ("text", "hint", "OnsiteError", "say_next")
# keys built at run time from a fixed family: prefix -> where the suffixes come from
FAMILIES = ("chk-", "st-role-")
REAL_CURRENT_LANG = messages.current_lang     # before the autouse fixture pins English


def sources():
    for path in sorted(ONSITE.rglob("*.py")):
        if "_vendor" not in path.parts and path.name != "catalog.py":
            yield path, ast.parse(path.read_text())


def _name(func):
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def used_keys():
    """{key: 'file:line'} of message references the code names literally."""
    found = {}
    for path, tree in sources():
        for node in ast.walk(tree):
            literals = []
            if isinstance(node, ast.Call) and _name(node.func) in CALLS and node.args:
                literals.append(node.args[0])
            elif isinstance(node, ast.Call) and _name(node.func) == "confirm":
                literals += node.args[:2]
            elif isinstance(node, ast.Call) and _name(node.func) in ("add", "_say") and len(node.args) > 1:
                literals.append(node.args[1])          # add(key, reference, ...), _say(ctx, reference)
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "ref" for t in node.targets):
                value = node.value
                literals += [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]
            literals = [x for lit in literals for x in ([lit.body, lit.orelse] if isinstance(lit, ast.IfExp) else [lit])]
            for lit in literals:
                if isinstance(lit, ast.Str):
                    found.setdefault(lit.s, "%s:%d" % (path.relative_to(ONSITE), node.lineno))
    return found


def all_strings():
    out = set()
    for _path, tree in sources():
        out |= {n.s for n in ast.walk(tree) if isinstance(n, ast.Str)}
    return out


def fields(text):
    return sorted({f for _lit, f, _spec, _conv in string.Formatter().parse(text) if f is not None})


def test_the_catalog_merges_without_duplicates_and_has_both_languages():
    catalog = messages.catalog()
    assert len(catalog) > 150
    for ref, by_lang in catalog.items():
        assert set(by_lang) == {"en", "zh_CN"}, ref
        for lang in by_lang:
            assert len(by_lang[lang]) == 2 and by_lang[lang][0], (ref, lang)


def test_every_key_used_is_in_the_catalog():
    catalog = messages.catalog()
    missing = ["%s (%s)" % (key, where) for key, where in sorted(used_keys().items())
               if key not in catalog]
    assert missing == []


def test_no_key_is_unused():
    strings = all_strings()
    unused = [ref for ref in sorted(messages.catalog())
              if ref not in strings and not ref.startswith(FAMILIES)]
    assert unused == []


@pytest.mark.parametrize("part", [0, 1], ids=["text", "hint"])
def test_en_and_zh_take_the_same_placeholders(part):
    wrong = []
    for ref, by_lang in sorted(messages.catalog().items()):
        en, zh = fields(by_lang["en"][part]), fields(by_lang["zh_CN"][part])
        if en != zh:
            wrong.append("%s: en %s, zh_CN %s" % (ref, en, zh))
        if by_lang["en"][part] and not by_lang["zh_CN"][part]:
            wrong.append("%s: no zh_CN %s" % (ref, ["text", "hint"][part]))
    assert wrong == []


def test_an_unknown_key_is_a_bug_not_a_message():
    with pytest.raises(KeyError):
        messages.text("no-such-message")


def test_lang_flag_wins_over_the_environment():
    env = {"LANG": "zh_CN.UTF-8", "LC_ALL": ""}
    assert REAL_CURRENT_LANG(env) == "zh_CN"
    assert REAL_CURRENT_LANG(dict(env, HA_INSTALLER_LANG="en")) == "en"
    assert REAL_CURRENT_LANG({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}) == "zh_CN"
    assert REAL_CURRENT_LANG({}) == "en"


def test_user_visible_output_goes_through_tty_or_cli():
    """print() and direct stdout writes only in core/tty.py and cli.py: every other line goes
    through tty.say with a catalog text (or is a table/JSON built from catalog texts)."""
    wrong = []
    for path, tree in sources():
        rel = path.relative_to(ONSITE).as_posix()
        if rel in ("core/tty.py", "cli.py", "filesync/agent.py"):   # the agent's stdout is its journal log
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and (_name(node.func) == "print" or (
                    _name(node.func) == "write" and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Attribute)
                    and node.func.value.attr in ("stdout", "stderr"))):
                wrong.append("%s:%d" % (rel, node.lineno))
    assert wrong == []
