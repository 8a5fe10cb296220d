"""ha-bundle's resolution agrees with dnf's on the fixture repos, and fails like it (exit 2).

dnf (Debian's, through its Python API in tests/oracle/dnf_oracle.py) gets the same baseline and
the same roots; the package sets to carry must be identical.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import run as ha_bundle

from tests.manifest_util import OS_FACTS, fixture_repo_urls, write_manifest

ORACLE = Path(__file__).parent / "oracle" / "dnf_oracle.py"
SYSTEM_PYTHON = "/usr/bin/python3"


def run_resolve(manifest: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    return ha_bundle("resolve", manifest, "--json", cache=cache)


def run_dnf(os_name: str, repos: dict[str, str], install: list[str], enable=(), disable=(), *,
            baseline: list[str] | None = None, baseline_repos: list[str] | None = None,
            baseline_nevras: list[str] = ()) -> dict:
    facts = OS_FACTS[os_name]
    cmd = [SYSTEM_PYTHON, str(ORACLE), "--releasever", facts["releasever"],
           "--platform", f"platform:el{facts['os_major']}"]
    for repo_id, url in repos.items():
        cmd += ["--repo", f"{repo_id}={url}"]
    base_repos = facts["baseline_repos"] if baseline_repos is None else baseline_repos
    cmd += [a for r in base_repos for a in ("--baseline-repo", r)]
    cmd += [a for p in (facts["baseline"] if baseline is None else baseline) for a in ("--baseline", p)]
    cmd += [a for n in baseline_nevras for a in ("--baseline-nevra", n)]
    cmd += [a for p in install for a in ("--install", p)]
    cmd += [a for m in enable for a in ("--enable", m)]
    cmd += [a for m in disable for a in ("--disable", m)]
    proc = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    assert proc.stdout.strip(), proc.stderr
    return json.loads(proc.stdout)


def nevra(p: dict) -> str:
    epoch = f"{p['epoch']}:" if p["epoch"] not in ("0", "") else ""
    return f"{p['name']}-{epoch}{p['version']}-{p['release']}.{p['arch']}"


@pytest.fixture(scope="module")
def local_el7_repo(fixture_repos: Path, tmp_path_factory) -> Path:
    """dnf has no 'local_rpms': give it the same RPMs as a repo of their own."""
    d = tmp_path_factory.mktemp("local-el7")
    for rpm in (fixture_repos / "el7" / "local").glob("*.rpm"):
        shutil.copy(rpm, d)
    subprocess.run(["createrepo_c", "--quiet", str(d)], check=True)
    return d


CASES = [
    pytest.param("el7", ["keepalived = 2.0.20", "libnl3", "openssl", "mysql-community-server", "python3"],
                 (), (), True, id="el7-keepalived2.0.20-mysql57-python3"),
    pytest.param("el7", ["keepalived", "mariadb-server"], (), (), False, id="el7-stock-keepalived-mariadb55"),
    pytest.param("el8", ["keepalived", "mariadb-server"], ("mariadb:10.5",), ("mysql",), False,
                 id="el8-mariadb10.5-module"),
    pytest.param("el8", ["keepalived", "mariadb-server"], (), (), False, id="el8-default-streams"),
    pytest.param("el8", ["mysql-server"], ("mysql:8.0",), ("mariadb",), False, id="el8-mysql8.0-module"),
    pytest.param("el9", ["keepalived", "mysql-community-server"], (), (), False, id="el9-mysql80"),
]


@pytest.mark.parametrize("os_name,install,enable,disable,use_local", CASES)
def test_package_set_matches_dnf(os_name, install, enable, disable, use_local, repo_url, local_el7_repo,
                                 tmp_path):
    repos = fixture_repo_urls(repo_url, os_name)
    local = ""
    dnf_repos = dict(repos)
    if use_local:
        local = str(local_el7_repo)
        dnf_repos["local"] = f"file://{local_el7_repo}"
    manifest = write_manifest(tmp_path, os_name, repos, install, local=local, enable=enable, disable=disable)
    ours = run_resolve(manifest, tmp_path / "cache")
    assert ours.returncode == 0, ours.stderr + ours.stdout
    plan = json.loads(ours.stdout)
    theirs = run_dnf(os_name, dnf_repos, install, enable, disable)
    assert "error" not in theirs, theirs
    assert sorted(nevra(p) for p in plan["packages"]) == theirs["install"]
    assert plan["baseline_removals"] == sorted(set(theirs["remove"]) - {
        r for r in theirs["remove"] if r.rsplit("-", 2)[0] in {p["name"] for p in plan["packages"]}})
    assert plan["problems"] == []


UNSAT = [
    # the el7 keepalived build taken to an el9 host: its sonames do not exist there
    pytest.param("el9", ["keepalived = 2.0.20"], "el7", (), (),
                 ["keepalived-2.0.20-1.el7.x86_64 needs libcrypto.so.10()(64bit)",
                  "no package in repos"], id="wrong-os-rpm"),
    # a pin nothing satisfies: never silently another version
    pytest.param("el7", ["keepalived = 9.9"], "", (), (),
                 ["no package matches 'keepalived = 9.9'", "keepalived-1.3.5-19.el7.x86_64"], id="pin-unmet"),
    # the stream that has mariadb-server is disabled: the package is hidden by modularity
    pytest.param("el8", ["mariadb-server"], "", (), ("mariadb",),
                 ["no package matches 'mariadb-server'", "hidden by modularity", "enable its module stream"], id="module-disabled"),
    # two streams' servers conflict
    pytest.param("el8", ["mysql-server", "mariadb-server"], "", ("mysql:8.0", "mariadb:10.5"), (),
                 ["conflicts with"], id="conflicting-servers"),
]


@pytest.mark.parametrize("os_name,install,local_from,enable,disable,words", UNSAT)
def test_unsatisfiable_exits_2_and_names_the_capability(os_name, install, local_from, enable, disable, words,
                                                         repo_url, fixture_repos, tmp_path):
    repos = fixture_repo_urls(repo_url, os_name)
    local = str(fixture_repos / local_from / "local") if local_from else ""
    manifest = write_manifest(tmp_path, os_name, repos, install, local=local, enable=enable, disable=disable)
    ours = run_resolve(manifest, tmp_path / "cache")
    assert ours.returncode == 2, ours.stderr + ours.stdout
    plan = json.loads(ours.stdout)
    text = " ".join(plan["problems"])
    for word in words:
        assert word in text, text
    assert "Traceback" not in ours.stderr
    if not local_from:  # dnf agrees that there is no solution
        theirs = run_dnf(os_name, repos, install, enable, disable)
        assert "error" in theirs, theirs


# -- issue 11: baseline semantics, checked against dnf given an rpmdb of exactly that baseline --

ISSUE_BASELINE = ["bash", "glibc", "openssl-libs", "postfix", "mariadb-libs", "iptables"]


def _same_as_dnf(plan: dict, theirs: dict) -> None:
    assert "error" not in theirs, theirs
    assert sorted(nevra(p) for p in plan["packages"]) == theirs["install"]
    assert plan["problems"] == []
    assert plan["closure"]["passed"], plan["closure"]


def test_baseline_without_repos_while_a_third_party_repo_obsoletes_a_baseline_package(
        repo_url, local_el7_repo, tmp_path):
    """The issue's manifest: no [baseline] repos, the MySQL repo obsoletes mariadb-libs."""
    repos = fixture_repo_urls(repo_url, "el7")
    install = ["keepalived = 2.0.20", "mysql-community-server"]
    manifest = write_manifest(tmp_path, "el7", repos, install, local=str(local_el7_repo),
                              baseline=ISSUE_BASELINE, baseline_repos=[])
    ours = run_resolve(manifest, tmp_path / "cache")
    assert ours.returncode == 0, ours.stderr + ours.stdout
    plan = json.loads(ours.stdout)
    names = {p["name"] for p in plan["packages"]}
    assert {"mysql-community-common", "mysql-community-libs", "mysql-community-libs-compat"} <= names
    assert "mariadb-libs-1:5.5.68-1.el7.x86_64" in plan["baseline"]
    assert plan["baseline_removals"] == ["mariadb-libs-1:5.5.68-1.el7.x86_64"]
    assert any("[baseline] repos is not set" in w and 'repos = ["base", "updates"]' in w for w in plan["warnings"])
    dnf_repos = dict(repos, local=f"file://{local_el7_repo}")
    theirs = run_dnf("el7", dnf_repos, install, baseline=ISSUE_BASELINE, baseline_repos=[])
    _same_as_dnf(plan, theirs)


@pytest.mark.parametrize("with_mariadb_libs", [True, False], ids=["rpm_qa-with-mariadb-libs", "rpm_qa-without"])
def test_rpm_qa_baseline_with_and_without_mariadb_libs(with_mariadb_libs, repo_url, tmp_path):
    repos = fixture_repo_urls(repo_url, "el7")
    qa = ["bash-4.2.46-34.el7.x86_64", "glibc-2.17-317.el7.x86_64", "glibc-common-2.17-317.el7.x86_64",
          "openssl-libs-1.0.2k-19.el7.x86_64", "filesystem-3.2-25.el7.x86_64", "zlib-1.2.7-18.el7.x86_64"]
    if with_mariadb_libs:
        qa += ["mariadb-libs-5.5.68-1.el7.x86_64", "postfix-2.10.1-9.el7.x86_64"]
    listing = tmp_path / "rpm-qa.txt"
    listing.write_text("\n".join(qa) + "\n")
    install = ["mysql-community-server"]
    manifest = write_manifest(tmp_path, "el7", repos, install, rpm_qa=listing, baseline_repos=[])
    ours = run_resolve(manifest, tmp_path / "cache")
    assert ours.returncode == 0, ours.stderr + ours.stdout
    plan = json.loads(ours.stdout)
    assert not [w for w in plan["warnings"] if "not in the repos" in w], plan["warnings"]
    names = {p["name"] for p in plan["packages"]}
    assert ("mysql-community-libs-compat" in names) is with_mariadb_libs
    theirs = run_dnf("el7", repos, install, baseline_repos=[], baseline_nevras=qa)
    _same_as_dnf(plan, theirs)


def test_el8_package_that_needs_a_module_stream(repo_url, tmp_path):
    """dcim-dbtools needs mariadb-server >= 10.5: only with mariadb:10.5 enabled, for both tools."""
    repos = dict(fixture_repo_urls(repo_url, "el8"), vendor=f"{repo_url}/el8/vendor")
    install = ["dcim-dbtools"]
    manifest = write_manifest(tmp_path, "el8", repos, install, enable=("mariadb:10.5",))
    ours = run_resolve(manifest, tmp_path / "cache")
    assert ours.returncode == 0, ours.stderr + ours.stdout
    plan = json.loads(ours.stdout)
    assert any(p["name"] == "mariadb-server" and p["version"] == "10.5.22" for p in plan["packages"])
    _same_as_dnf(plan, run_dnf("el8", repos, install, ("mariadb:10.5",)))
    # the default stream (10.3) cannot satisfy it: both refuse
    manifest = write_manifest(tmp_path, "el8", repos, install, name="el8-default")
    ours = run_resolve(manifest, tmp_path / "cache2")
    assert ours.returncode == 2, ours.stderr + ours.stdout
    assert "mariadb-server >= 3:10.5" in " ".join(json.loads(ours.stdout)["problems"])
    assert "error" in run_dnf("el8", repos, install)
