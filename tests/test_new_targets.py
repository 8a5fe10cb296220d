"""openEuler 22.03/24.03 LTS, Kylin V10 and Anolis OS 8 as targets of their own (issue 17): each
shipped manifest built from its fixture repos (real package names, versions and release tags:
.oe2203sp3, .oe2403sp1, .ky10 with .pNN patch levels, .an8),
the .run installed with real rpm into a root whose os-release is that system's, and refused on
the others with a sentence naming both systems."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures import target_manifest
from tests.runfile_helpers import FIXTURE_REPOS, build_fixture_repos, rpm_q, run_sh
from tests.test_os_detection import OS_RELEASE

BAD_INPUT = 11


# target -> (fixture tree, the os-release it accepts, what it refuses, packages it must install)
TARGETS = {
    "openeuler2203": ("oe2203", "openeuler2203", ["kylin10", "anolis8", "openeuler2403", "openeuler2209", "centos7"],
                      ["keepalived-2.2.4-3.oe2203sp3.x86_64", "mariadb-server-10.5.16-3.oe2203sp3.x86_64",
                       "libnl3-3.5.0-5.oe2203sp3.x86_64"]),
    "anolis8": ("an8", "anolis8", ["rocky8", "openeuler2203", "kylin10", "centos7"],
                ["keepalived-2.1.5-9.an8.x86_64", "mariadb-server-10.5.22-1.module+an8.6.0+10979+2a8e0a8a.x86_64"]),
    "openeuler2403": ("oe2403", "openeuler2403", ["openeuler2203", "kylin10", "anolis8", "uos20", "centos7"],
                      ["keepalived-2.2.8-3.oe2403sp1.x86_64", "mariadb-server-10.5.25-2.oe2403sp1.x86_64",
                       "libnl3-3.7.0-3.oe2403sp1.x86_64"]),
    "kylin10": ("ky10", "kylin10", ["openeuler2203", "openeuler2403", "uos20", "anolis8", "centos7"],
                ["keepalived-2.0.20-18.p02.ky10.x86_64", "mariadb-server-10.3.39-1.p01.ky10.x86_64"]),
}
WANT = {"openeuler2203": "openeuler 22.03 x86_64", "openeuler2403": "openeuler 24.03 x86_64",
        "kylin10": "kylin V10 x86_64", "anolis8": "anolis 8 x86_64"}


def fixture_manifest(directory: Path, name: str) -> Path:
    """The shipped manifest pointed at its fixture repos (tests/fixtures/target_manifest.py)."""
    assert target_manifest.TREES[name] == TARGETS[name][0]
    return target_manifest.write(name, directory)


def build_target(name: str, base: Path) -> dict:
    """The target's .run built from its fixture repos, and its baseline RPM files."""
    build_fixture_repos()
    base.mkdir(parents=True, exist_ok=True)
    manifest = fixture_manifest(base, name)
    proc = subprocess.run(["ha-bundle", "build", str(manifest), "--out", str(base / "dist")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0, proc.stdout
    from builder import plan
    result = plan.resolve_manifest(manifest, {}, base / "cache", quiet=True)
    baseline = []
    for nevra in result.resolution.baseline:
        rpm = re.sub(r"-\d+:", "-", nevra) + ".rpm"
        found = sorted(FIXTURE_REPOS.glob("%s/*/Packages/%s" % (TARGETS[name][0], rpm)))
        assert found, rpm
        baseline.append(found[0])
    return {"name": name, "run": base / "dist" / ("ha-installer-%s.run" % name), "baseline": baseline, "base": base}


@pytest.fixture(scope="module", params=sorted(TARGETS))
def built(request, tmp_path_factory):
    return build_target(request.param, tmp_path_factory.mktemp(request.param))


def root_for(tmp_path: Path, system: str, baseline=()) -> Path:
    root = tmp_path / system
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text(OS_RELEASE[system])
    subprocess.run(["rpm", "--root", str(root), "--initdb"], check=True)
    if baseline:
        subprocess.run(["rpm", "--root", str(root), "-U", *map(str, baseline)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return root


def test_the_run_installs_on_its_own_system_with_its_own_packages(built, tmp_path, py36):
    _tree, system, _others, expect = TARGETS[built["name"]]
    root = root_for(tmp_path, system, built["baseline"])
    py_bin = tmp_path / "py36bin"
    py_bin.mkdir()
    (py_bin / "python3").symlink_to(py36)
    info = run_sh("dash", built["run"], "--info").stdout
    assert "Target:       %s (" % built["name"] in info
    out = run_sh("dash", built["run"], "--accept", "--", "install", "--root", str(root),
                 env={"PATH": "%s:%s" % (py_bin, os.environ["PATH"])})
    assert out.returncode == 0, out.stdout + out.stderr
    rel = dict(line.split("=", 1) for line in OS_RELEASE[system].splitlines())
    assert "%s %s" % (rel["ID"].strip('"'), rel["VERSION_ID"].strip('"')) in out.stdout   # as the host writes it
    for nevra in expect:
        assert rpm_q(root, nevra).returncode == 0, nevra
    bad = subprocess.run(["rpm", "--root", str(root), "-Va", "--nofiles", "--noscripts"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True).stdout
    assert "Unsatisfied" not in bad and "is needed by" not in bad, bad


def test_the_run_refuses_other_systems_naming_both(built, tmp_path):
    want = WANT[built["name"]]
    for system in TARGETS[built["name"]][2]:
        root = root_for(tmp_path, system)
        out = run_sh("dash", built["run"], "--accept", "--", "install", "--root", str(root))
        assert out.returncode == BAD_INPUT, out.stdout + out.stderr
        rel = dict(line.split("=", 1) for line in OS_RELEASE[system].splitlines())
        have = "%s %s" % (rel["ID"].strip('"'), rel["VERSION_ID"].strip('"'))
        assert "this host runs %s, but this bundle is for %s" % (have, want) in out.stderr, out.stderr
        assert subprocess.run(["rpm", "--root", str(root), "-qa"], stdout=subprocess.PIPE,
                              universal_newlines=True).stdout.strip() == ""


def test_the_fixture_manifest_tool_points_every_repo_at_its_fixture_tree(tmp_path):
    out = subprocess.run([sys.executable, "-m", "tests.fixtures.target_manifest", "openeuler2403", str(tmp_path)],
                         cwd=str(target_manifest.REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    assert out.returncode == 0, out.stderr
    text = Path(out.stdout.strip()).read_text()
    assert "gpgkey" not in text and "https://" not in text
    assert text.count('baseurl = "file://%s/oe2403/' % FIXTURE_REPOS) == 3
    bad = subprocess.run([sys.executable, "-m", "tests.fixtures.target_manifest", "uos20", str(tmp_path)],
                         cwd=str(target_manifest.REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         universal_newlines=True)
    assert bad.returncode != 0 and "unknown target 'uos20'" in bad.stderr
