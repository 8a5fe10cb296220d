"""Shared pytest fixtures. Onsite code is imported from stubs/ (it is not an installed package)."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
STUBS = REPO_ROOT / "stubs"
if str(STUBS) not in sys.path:
    sys.path.insert(0, str(STUBS))


def find_python36() -> str | None:
    """A real CPython 3.6 to run onsite code as the target does (pyenv ships one here)."""
    candidates = [os.environ.get("HA_BUNDLE_PY36", "")]
    candidates += sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.6*/bin/python3.6")))
    candidates += sorted(glob.glob("/root/.pyenv/versions/3.6*/bin/python3.6"))
    candidates.append(shutil.which("python3.6") or "")
    for cand in candidates:
        if cand and os.path.exists(cand):
            try:
                out = subprocess.run([cand, "-c", "import sys;print(sys.version_info[:2])"],
                                     stdout=subprocess.PIPE, universal_newlines=True, timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if out.returncode == 0 and out.stdout.strip() == "(3, 6)":
                return cand
    return None


@pytest.fixture(autouse=True)
def english_messages(monkeypatch):
    """Messages rendered in this process are English whatever LANG the test run has (a test
    that wants zh_CN patches current_lang itself); subprocesses keep their own environment."""
    from onsite.core import messages

    monkeypatch.setattr(messages, "current_lang", lambda environ=None: "en")


@pytest.fixture(scope="session")
def py36() -> str:
    """Path of a Python 3.6 interpreter; skips (with the reason) where none exists."""
    path = find_python36()
    if path is None:
        pytest.skip("no Python 3.6 interpreter found (set HA_BUNDLE_PY36)")
    return path


@pytest.fixture(scope="session")
def onsite_env() -> dict[str, str]:
    """Environment for running ``python3 -m onsite`` from the source tree: messages in English
    whatever the test run's locale (a test that wants zh_CN sets LANG or passes --lang)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("LANG", "LC_ALL", "LC_MESSAGES", "LANGUAGE", "HA_INSTALLER_LANG")}
    env["PYTHONPATH"] = str(STUBS)
    return env


@pytest.fixture(scope="session")
def fixture_repos() -> Path:
    """The el7/el8/el9 fixture repos (built once; shared with `scripts/setup.sh`)."""
    from tests.fixtures.build_repos import build_all

    return build_all(REPO_ROOT / "build" / "fixture-repos")


@pytest.fixture(scope="session")
def repo_url(fixture_repos: Path):
    """Base URL of an HTTP server on 127.0.0.1 serving the fixture repos."""
    from tests.fixtures.serve import RepoServer

    with RepoServer(fixture_repos) as server:
        yield server.url
