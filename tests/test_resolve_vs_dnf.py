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


def run_dnf(os_name: str, repos: dict[str, str], install: list[str], enable=(), disable=()) -> dict:
    facts = OS_FACTS[os_name]
    cmd = [SYSTEM_PYTHON, str(ORACLE), "--releasever", facts["releasever"],
           "--platform", f"platform:el{facts['os_major']}"]
    for repo_id, url in repos.items():
        cmd += ["--repo", f"{repo_id}={url}"]
    cmd += [a for r in facts["baseline_repos"] for a in ("--baseline-repo", r)]
    cmd += [a for p in facts["baseline"] for a in ("--baseline", p)]
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
