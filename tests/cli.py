"""Run this checkout's ``ha-bundle`` (python -m builder), whatever the editable install points at."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO_ROOT

HA_BUNDLE = [sys.executable, "-m", "builder"]


def run(*args: str, cache: str | os.PathLike[str] | None = None, timeout: int = 300,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, **(env or {}))
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    if cache is not None:
        env["HA_BUNDLE_CACHE"] = str(cache)
    return subprocess.run([*HA_BUNDLE, *map(str, args)], env=env, text=True, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=timeout)
