"""The onsite code must run on the target's Python 3.6 with the standard library only."""

import subprocess

from tests.conftest import STUBS


def test_vermin_says_python36_is_enough():
    out = subprocess.run(["vermin", "-q", "--no-tips", "--violations", "-t=3.6-", str(STUBS / "onsite")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.returncode == 0, out.stdout
    assert out.stdout.strip() == "", out.stdout


def test_onsite_help_runs_on_python36(py36, onsite_env):
    out = subprocess.run([py36, "-m", "onsite", "--help"], env=onsite_env,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.returncode == 0, out.stdout
    assert "ha-installer" in out.stdout
