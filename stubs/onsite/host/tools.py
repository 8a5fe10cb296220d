"""Run a host tool whose output we parse: always in the C locale.

rpm, ip, arping, clockdiff and firewall-cmd translate their messages; our parsers read the
English (C locale) words, so every parsed tool runs through here.
"""

import os
import subprocess


def c_env(env=None):
    """The environment with LC_ALL=C (and LANGUAGE unset: GNU gettext prefers it to LC_ALL)."""
    out = dict(os.environ if env is None else env)
    out["LC_ALL"] = "C"
    out.pop("LANGUAGE", None)
    return out


def run(argv, input_text=None, stderr=subprocess.STDOUT, timeout=None):
    """CompletedProcess of argv in the C locale, text mode, stdout captured (stderr merged by
    default). OSError when the program is missing."""
    return subprocess.run(argv, input=input_text, stdout=subprocess.PIPE, stderr=stderr,
                          universal_newlines=True, env=c_env(), timeout=timeout)
