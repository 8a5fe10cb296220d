"""openEuler 22.03 LTS as a target of its own (issue 17): manifests/openeuler2203.toml built
from its fixture repos (real package names, versions and .oe2203sp3 release tags), the .run
installed with real rpm into a root whose os-release is openEuler's, and refused on the others
with a sentence naming both systems."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.runfile_helpers import FIXTURE_REPOS, build_fixture_repos, rpm_q, run_sh
from tests.test_os_detection import OS_RELEASE

BAD_INPUT = 11


def fixture_manifest(directory: Path) -> Path:
    """The shipped manifest with its repos pointed at the fixture repos (and no GPG keys: the
    fixture RPMs are unsigned; signature checks have their own tests)."""
    text = (REPO_ROOT / "manifests" / "openeuler2203.toml").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("gpgkey"))
    for repo in ("OS", "everything", "update"):
        text = re.sub(r'"https://[^"]*/%s/\$basearch/"' % repo,
                      '"file://%s/oe2203/%s"' % (FIXTURE_REPOS, repo.lower()), text)
    path = directory / "openeuler2203.toml"
    path.write_text(text + "\n")
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    build_fixture_repos()
    base = tmp_path_factory.mktemp("oe2203")
    manifest = fixture_manifest(base)
    proc = subprocess.run(["ha-bundle", "build", str(manifest), "--out", str(base / "dist")],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0, proc.stdout
    from builder import plan
    result = plan.resolve_manifest(manifest, {}, base / "cache", quiet=True)
    baseline = []
    for nevra in result.resolution.baseline:
        name = re.sub(r"-\d+:", "-", nevra) + ".rpm"
        found = sorted(FIXTURE_REPOS.glob("oe2203/*/Packages/" + name))
        assert found, name
        baseline.append(found[0])
    return {"run": base / "dist" / "ha-installer-openeuler2203.run", "baseline": baseline, "base": base}


def root_for(tmp_path: Path, system: str, baseline=()) -> Path:
    root = tmp_path / system
    (root / "etc").mkdir(parents=True)
    (root / "etc" / "os-release").write_text(OS_RELEASE[system])
    subprocess.run(["rpm", "--root", str(root), "--initdb"], check=True)
    if baseline:
        subprocess.run(["rpm", "--root", str(root), "-U", *map(str, baseline)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return root


def test_the_run_installs_on_openeuler_with_its_own_packages(built, tmp_path, py36):
    root = root_for(tmp_path, "openeuler2203", built["baseline"])
    py_bin = tmp_path / "py36bin"
    py_bin.mkdir()
    (py_bin / "python3").symlink_to(py36)
    info = run_sh("dash", built["run"], "--info").stdout
    assert "Target:       openeuler2203 (openeuler 22, x86_64)" in info
    out = run_sh("dash", built["run"], "--accept", "--", "install", "--root", str(root),
                 env={"PATH": "%s:%s" % (py_bin, os.environ["PATH"])})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "openEuler 22.03" in out.stdout          # what it found, as the host writes it
    for nevra in ("keepalived-2.2.4-3.oe2203sp3.x86_64", "mariadb-server-10.5.16-3.oe2203sp3.x86_64",
                  "libnl3-3.5.0-5.oe2203sp3.x86_64"):
        assert rpm_q(root, nevra).returncode == 0, nevra
    bad = subprocess.run(["rpm", "--root", str(root), "-Va", "--nofiles", "--noscripts"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True).stdout
    assert "Unsatisfied" not in bad and "is needed by" not in bad, bad


@pytest.mark.parametrize("system", ["kylin10", "anolis8", "openeuler2403", "openeuler2209", "centos7"])
def test_the_run_refuses_other_systems_naming_both(built, tmp_path, system):
    root = root_for(tmp_path, system)
    out = run_sh("dash", built["run"], "--accept", "--", "install", "--root", str(root))
    assert out.returncode == BAD_INPUT, out.stdout + out.stderr
    rel = dict(line.split("=", 1) for line in OS_RELEASE[system].splitlines())
    have = "%s %s" % (rel["ID"].strip('"'), rel["VERSION_ID"].strip('"'))
    assert "this host runs %s, but this bundle is for openeuler 22.03 x86_64" % have in out.stderr, out.stderr
    assert subprocess.run(["rpm", "--root", str(root), "-qa"], stdout=subprocess.PIPE,
                          universal_newlines=True).stdout.strip() == ""
