"""The built wheel (not editable) works: installed in a fresh venv, run outside the source tree (issue 12).

Runs CI's own scripts/wheel_check.sh, with the venv borrowing this Python's dependencies
(HB_WHEEL_OFFLINE=1: tests talk to no package index).
"""

from __future__ import annotations

import os
import subprocess

from tests.conftest import REPO_ROOT


def test_wheel_builds_the_demo_bundle_from_outside_the_tree(fixture_repos, tmp_path):
    env = dict(os.environ, HB_WHEEL_OFFLINE="1", TMPDIR=str(tmp_path))
    env.pop("PYTHONPATH", None)
    out = subprocess.run(["bash", str(REPO_ROOT / "scripts" / "wheel_check.sh")], env=env, cwd=tmp_path, text=True,
                         capture_output=True, timeout=600)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "wheel-check: OK" in out.stdout


def test_ci_runs_the_wheel_check():
    assert "scripts/wheel_check.sh" in (REPO_ROOT / ".ci" / "run").read_text()
