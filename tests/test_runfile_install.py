"""The .run installs the demo (el7-like) payload into a scratch rpm root with real rpm.

The root starts with only the target's baseline (what the resolver assumed a minimal el7 has).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from builder import bundle
from tests.runfile_helpers import demo_baseline, new_rpm_root, rpm_q, run_sh, stage_demo
from onsite.core import errors  # the exit code table


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    base = tmp_path_factory.mktemp("install")
    staged = stage_demo(base / "out", base / "cache")
    run_file = bundle.assemble(staged, base / "dist")
    return {"run": run_file, "lock": staged.lock, "baseline": demo_baseline(base / "cache")}


@pytest.fixture
def baseline_root(demo, tmp_path):
    root = new_rpm_root(tmp_path / "root")
    subprocess.run(["rpm", "--root", str(root), "-U", *map(str, demo["baseline"])], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert rpm_q(root, "bash", "glibc", "postfix").returncode == 0
    return root


def qa(root: Path) -> list[str]:
    out = subprocess.run(["rpm", "--root", str(root), "-qa"], stdout=subprocess.PIPE, universal_newlines=True,
                         check=True)
    return sorted(out.stdout.split())


def nvra(pkg: dict) -> str:
    return f"{pkg['name']}-{pkg['version']}-{pkg['release']}.{pkg['arch']}"


def unsatisfied(root: Path) -> list[str]:
    out = subprocess.run(["rpm", "--root", str(root), "-Va", "--nofiles", "--noscripts"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    return [line for line in out.stdout.splitlines() if "Unsatisfied" in line or "is needed by" in line
            or line.startswith("\t")]


def test_rpm_verify_sees_missing_dependencies(demo, tmp_path):
    """The zero-missing-dependencies check below can fail: a lone keepalived shows its gaps."""
    root = new_rpm_root(tmp_path / "r")
    keepalived = next(p for p in demo["lock"]["packages"] if p["name"] == "keepalived")
    staged = demo["run"].parent.parent / "out" / "demo" / keepalived["filename"]
    subprocess.run(["rpm", "--root", str(root), "-U", "--nodeps", str(staged)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert unsatisfied(root)


def test_install_then_second_install_is_a_noop(demo, baseline_root, tmp_path, py36):
    root = baseline_root
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    py_bin = tmp_path / "py36bin"
    py_bin.mkdir()
    (py_bin / "python3").symlink_to(py36)  # the target's interpreter: CentOS 7 python3 / el8 platform-python
    out = run_sh("dash", demo["run"], "--accept", "--", "install", "--root", str(root),
                 env={"TMPDIR": str(tmp), "PATH": f"{py_bin}:{os.environ['PATH']}"})
    assert out.returncode == 0, out.stdout + out.stderr
    total = len(bundle.locked_rpms(demo["lock"]))
    assert "matches the bundle target" in out.stdout
    assert "checking with rpm -U --test (changes nothing)" in out.stdout
    assert f"all {total} bundle packages are present" in out.stdout
    # every locked package is installed, with nothing missing
    for pkg in bundle.locked_rpms(demo["lock"]):
        q = rpm_q(root, nvra(pkg))
        assert q.returncode == 0, q.stdout
    assert unsatisfied(root) == []
    # mysql-community-libs obsoletes the baseline's mariadb-libs
    assert rpm_q(root, "mariadb-libs").returncode != 0
    state = json.loads((root / "var/lib/ha-installer/state.json").read_text())
    assert state["steps"]["install"]["status"] == "done"
    log = (root / "var/log/ha-installer/install.log").read_text()
    assert "rpm --root" in log and "-U --test" in log
    assert list(tmp.iterdir()) == []

    before = qa(root)
    again = run_sh("bash", demo["run"], "--accept", "--", "install", "--root", str(root))
    assert again.returncode == 0, again.stderr
    assert f"nothing to do: all {total} bundle packages are already installed" in again.stdout
    assert qa(root) == before
    state = json.loads((root / "var/lib/ha-installer/state.json").read_text())
    assert state["steps"]["install"]["noop"] is True

    status = run_sh("dash", demo["run"], "-q", "--", "status", "--root", str(root))
    assert f"packages: {total} of {total} installed" in status.stdout
    assert "step install: done" in status.stdout


def test_install_in_chinese(demo, baseline_root):
    out = run_sh("dash", demo["run"], "--accept", "--", "--lang", "zh_CN", "install", "--root", str(baseline_root))
    assert out.returncode == 0, out.stderr
    assert "均已就位" in out.stdout


def test_install_on_a_terminal_asks_first_and_no_changes_nothing(demo, baseline_root):
    """Without --accept, install asks on a terminal; answering n leaves the rpm database alone."""
    import pty

    before = qa(baseline_root)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(["dash", str(demo["run"]), "--", "install", "--root", str(baseline_root)],
                                stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                universal_newlines=True, env={k: v for k, v in os.environ.items() if k != "LANG"})
        os.write(master, b"n\n")
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        os.close(master)
        os.close(slave)
    assert proc.returncode == errors.REFUSED
    assert "packages onto this host? [y/N]" in stdout
    assert "not confirmed: nothing was changed" in stderr
    assert qa(baseline_root) == before


def test_wrong_os_is_refused_and_changes_nothing(demo, tmp_path):
    root = new_rpm_root(tmp_path / "deb", os_id="debian", version_id="12")
    out = run_sh("dash", demo["run"], "--accept", "--", "install", "--root", str(root))
    assert out.returncode == errors.BAD_INPUT
    assert "this host runs debian 12, but this bundle is for centos/rhel/rocky/almalinux/ol 7 x86_64" in out.stderr
    assert qa(root) == []
    assert not (root / "var/lib/ha-installer").exists()


def test_missing_dependencies_are_reported_in_plain_words_and_nothing_changes(demo, tmp_path):
    root = new_rpm_root(tmp_path / "empty")  # no baseline at all: bash, systemd, ... are missing
    out = run_sh("dash", demo["run"], "--accept", "--", "install", "--root", str(root))
    assert out.returncode == errors.BAD_INPUT
    assert "which neither this host nor the bundle provides" in out.stdout
    # the host is not the one the bundle was resolved for: each missing baseline package is named
    assert "this host lacks bash, which the bundle was built to find installed" in out.stdout
    assert "this host differs from the host the bundle was built for; nothing was changed" in out.stderr
    assert "Alien" not in out.stdout
    assert qa(root) == []
    state = json.loads((root / "var/lib/ha-installer/state.json").read_text())
    assert state["steps"]["install"]["status"] == "failed"


def test_preflight_passes_on_the_baseline_and_fails_on_the_wrong_os(demo, baseline_root, tmp_path):
    ok = run_sh("dash", demo["run"], "-q", "--", "preflight", "--root", str(baseline_root))
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "rpm -U --test:" in ok.stdout and "would install cleanly" in ok.stdout
    assert "preflight passed" in ok.stdout
    deb = new_rpm_root(tmp_path / "deb", os_id="debian", version_id="12")
    bad = run_sh("dash", demo["run"], "-q", "--", "preflight", "--root", str(deb))
    assert bad.returncode == errors.CHECKS_FAILED
    assert re.search(r"^FAIL +os-arch +this host runs debian 12", bad.stdout, re.M), bad.stdout
    assert "preflight found" in bad.stdout


def _bin_without_python(dest: Path) -> Path:
    dest.mkdir()
    for tool in ("dash", "sh", "bash", "tail", "head", "sha256sum", "tar", "xz", "awk", "df", "mkdir", "rm", "chmod", "wc",
                 "tr", "mktemp", "ls", "dirname", "basename", "rpm", "id", "cat", "pwd", "touch"):
        path = shutil.which(tool)
        assert path, tool
        (dest / tool).symlink_to(path)
    return dest


def test_bootstrap_installs_python3_rpms_when_no_python_is_found(demo, baseline_root, tmp_path):
    assert demo["lock"]["bootstrap"], "the demo manifest asks for bootstrap_python"
    bindir = _bin_without_python(tmp_path / "bin")
    out = run_sh("dash", demo["run"], "--rpm-root", str(baseline_root), "--", "install", "--root",
                 str(baseline_root), env={"PATH": str(bindir), "TMPDIR": str(tmp_path)})
    wanted = len(demo["lock"]["bootstrap"])
    assert f"No python3 >= 3.6 found: installing python3 from this bundle ({wanted} RPMs) with rpm -U" in out.stderr
    for filename in demo["lock"]["bootstrap"]:
        pkg = next(p for p in bundle.locked_rpms(demo["lock"]) if p["filename"] == filename)
        assert rpm_q(baseline_root, nvra(pkg)).returncode == 0
    # the fixture's python3 is a stub, so the header still finds no interpreter and says so
    assert out.returncode == 7
    assert "no python3 >= 3.6 found" in out.stderr
    # run again: rpm says the bootstrap RPMs are installed already, so nothing is reinstalled
    before = qa(baseline_root)
    again = run_sh("dash", demo["run"], "--rpm-root", str(baseline_root), "--", "status",
                   env={"PATH": str(bindir), "TMPDIR": str(tmp_path)})
    assert again.returncode == 7
    assert "installing python3 from this bundle" not in again.stderr
    assert qa(baseline_root) == before
    # with a real python the install completes and skips what the bootstrap put there
    done = run_sh("dash", demo["run"], "--accept", "--", "install", "--root", str(baseline_root))
    assert done.returncode == 0, done.stderr
    assert f"({wanted} already installed, same or newer)" in done.stdout


def test_bootstrap_and_install_skip_what_a_newer_host_already_has(demo, baseline_root, tmp_path):
    """Customer hosts are often updated past the bundle: a newer glibc must not stop the install."""
    from tests.fixtures.build_repos import build_rpm
    from tests.fixtures.catalog import _glibc

    newer = [build_rpm(stub, "el7", tmp_path / "newer", tmp_path / "work")
             for stub in _glibc("2.17-330.el7_9", "updates", "2.17")]
    subprocess.run(["rpm", "--root", str(baseline_root), "-U", *map(str, newer)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    bindir = _bin_without_python(tmp_path / "bin")
    out = run_sh("dash", demo["run"], "--rpm-root", str(baseline_root), "--", "status",
                 env={"PATH": str(bindir), "TMPDIR": str(tmp_path)})
    python_rpms = [f for f in demo["lock"]["bootstrap"] if "/python3" in f]
    assert f"installing python3 from this bundle ({len(python_rpms)} RPMs)" in out.stderr
    assert rpm_q(baseline_root, "glibc-2.17-330.el7_9.x86_64").returncode == 0
    assert rpm_q(baseline_root, "python3").returncode == 0
    done = run_sh("dash", demo["run"], "--accept", "--", "install", "--root", str(baseline_root))
    assert done.returncode == 0, done.stdout + done.stderr
    assert rpm_q(baseline_root, "glibc-2.17-330.el7_9.x86_64").returncode == 0
    assert unsatisfied(baseline_root) == []


def test_onsite_vermin_clean():
    out = subprocess.run(["vermin", "-q", "--no-tips", "--violations", "-t=3.6-", "stubs/onsite/ops/install.py",
                          "stubs/onsite/ops/preflight.py", "stubs/onsite/ops/status.py", "stubs/onsite/host/rpmdb.py",
                          "stubs/onsite/core/payload.py", "stubs/onsite/host/target.py", "stubs/onsite/core/logfile.py"],
                         cwd=Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout


@pytest.mark.parametrize("a,b", [
    ("1.0", "1.0"), ("1.0", "1.1"), ("2.0.20", "2.0.9"), ("1.0~rc1", "1.0"), ("1.0~rc1", "1.0~rc2"),
    ("1.0^git1", "1.0"), ("1.0^git1", "1.0.1"), ("5.5.68", "5.7.44"), ("el7_9", "el7"), ("a", "1"),
    ("1.0a", "1.0"), ("1.01", "1.1"), ("1..0", "1.0"), ("20131105.el7", "20131105.el7_4"), ("1.0.el7", "1.0_el7"),
])
def test_vercmp_agrees_with_rpm(a, b):
    """Our rpmvercmp (onsite has no rpm bindings) against rpm's own, through rpm's Lua."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "stubs"))
    from onsite.host import rpmdb

    out = subprocess.run(["rpm", "--eval", f'%{{lua: print(rpm.vercmp("{a}", "{b}"))}}'],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True)
    assert rpmdb.vercmp(a, b) == int(out.stdout.strip())
