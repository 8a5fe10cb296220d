"""Bilingual (en, zh_CN) messages for field staff: short, and saying what to do next.

Each package keeps its messages in its own ``catalog.py`` (data only: reference ->
{lang: (text, hint)}); CATALOGS lists them and ``catalog()`` merges them once, refusing a
reference defined twice or missing a language. tests/test_catalog.py checks that every key used
is defined, that en and zh_CN take the same placeholders, and that no key is unused.
"""

import functools
import importlib
import os

DEFAULT_LANG = "en"
SUPPORTED = ("en", "zh_CN")
LANG_VARIABLE = "HA_INSTALLER_LANG"     # set by --lang (cli.main); wins over LC_ALL/LANG
CATALOGS = ("onsite.core.catalog", "onsite.host.catalog", "onsite.site.catalog",
            "onsite.failover.catalog", "onsite.db.catalog", "onsite.app.catalog", "onsite.filesync.catalog", "onsite.pair.catalog", "onsite.ops.catalog",
            "onsite.upgrade.catalog")


@functools.lru_cache(maxsize=None)
def catalog():
    """The merged catalog (built on first use, then the same object)."""
    merged = {}
    for name in CATALOGS:
        for ref, by_lang in importlib.import_module(name).MESSAGES.items():
            if ref in merged:
                raise ValueError("message reference defined twice: " + ref)
            if set(by_lang) != set(SUPPORTED):
                raise ValueError("message needs exactly en and zh_CN: " + ref)
            merged[ref] = by_lang
    return merged


def normalise(lang):
    if not lang:
        return DEFAULT_LANG
    if lang.lower().startswith("zh"):
        return "zh_CN"
    return DEFAULT_LANG


def current_lang(environ=None):
    """--lang (through HA_INSTALLER_LANG), else LC_ALL, LC_MESSAGES, LANG; default en."""
    environ = os.environ if environ is None else environ
    for var in (LANG_VARIABLE, "LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(var)
        if value:
            return normalise(value)
    return DEFAULT_LANG


def _entry(reference, lang):
    by_lang = catalog().get(reference)
    if by_lang is None:
        raise KeyError("message reference not in the catalog: " + reference)
    return by_lang[lang or current_lang()]


def text(reference, lang=None, **params):
    return _entry(reference, lang)[0].format(**params)


def hint(reference, lang=None, **params):
    return _entry(reference, lang)[1].format(**params)
