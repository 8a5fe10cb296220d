"""The shipped el7/el8/el9 manifests resolve when their repos are mirrored to the fixture repos."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import run as ha_bundle

from tests.conftest import REPO_ROOT
from tests.manifest_util import fixture_repo_urls


def resolve(manifest: Path, mirrors: dict[str, str], cache: Path) -> subprocess.CompletedProcess[str]:
    args: list[str] = ["resolve", str(manifest), "--json"]
    for repo_id, url in mirrors.items():
        args += ["--mirror", f"{repo_id}={url}"]
    return ha_bundle(*args, cache=cache)


@pytest.mark.parametrize("target,expect", [
    ("el8", {"keepalived", "mariadb-server", "mariadb"}),
    ("el9", {"keepalived", "mysql-community-server", "mysql-community-icu-data-files"}),
    ("openeuler2203", {"keepalived", "mariadb-server", "mariadb", "mariadb-connector-c"}),
    ("anolis8", {"keepalived", "mariadb-server", "mariadb"}),
    ("openeuler2403", {"keepalived", "mariadb-server", "mariadb", "mariadb-connector-c"}),
    ("kylin10", {"keepalived", "mariadb-server", "mariadb", "mariadb-connector-c"}),
])
def test_shipped_manifest_resolves_against_mirrors(target, expect, repo_url, tmp_path):
    out = resolve(REPO_ROOT / "manifests" / f"{target}.toml", fixture_repo_urls(repo_url, target), tmp_path)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert expect <= {p["name"] for p in plan["packages"]}
    # every target's keepalived reads the configuration onsite writes (2.0.20 keywords)
    assert [r["status"] for r in plan["compat"] if r["check"] == "keepalived"] == ["PASS"], plan["compat"]
    if target == "openeuler2203":  # its own platform: openEuler builds only, no el tag anywhere
        assert {p["release"].rsplit(".", 1)[-1] for p in plan["packages"]} == {"oe2203sp3"}
        assert not [r for r in plan["compat"] if r["check"] == "origin"]
        assert {r["subject"]: r["status"] for r in plan["compat"]}.get("libcrypto.so.1.1") == "PASS"
    if target == "openeuler2403":  # openssl 3.0: the carried packages need libcrypto.so.3
        assert {p["release"].rsplit(".", 1)[-1] for p in plan["packages"]} == {"oe2403sp1"}
        assert {r["subject"]: r["status"] for r in plan["compat"]}.get("libcrypto.so.3") == "PASS"
        assert "libcrypto.so.1.1" not in {r["subject"] for r in plan["compat"]}
    if target == "kylin10":  # Kylin's own builds (.ky10, .pNN patch levels), keepalived 2.0.20
        assert all(p["release"].endswith(".ky10") for p in plan["packages"]), plan["packages"]
        assert {p["version"] for p in plan["packages"] if p["name"] == "keepalived"} == {"2.0.20"}
        assert {r["subject"]: r["status"] for r in plan["compat"]}.get("libcrypto.so.1.1") == "PASS"
    if target == "anolis8":  # its own builds (.an8), the module stream enabled like el8
        assert not [r for r in plan["compat"] if r["check"] == "origin"]
        assert {p["version"] for p in plan["packages"] if p["name"] == "mariadb-server"} == {"10.5.22"}
        assert all(".an8" in p["release"] or "+an8" in p["release"] for p in plan["packages"]), plan["packages"]
    if target == "el8":  # mariadb:10.5 is enabled: nothing from the 10.3 default stream
        assert {p["version"] for p in plan["packages"] if p["name"].startswith("mariadb-server")} == {"10.5.22"}


def test_shipped_el7_needs_the_keepalived_build(repo_url, fixture_repos, tmp_path):
    manifest = REPO_ROOT / "manifests" / "el7.toml"
    out = resolve(manifest, fixture_repo_urls(repo_url, "el7"), tmp_path)
    assert out.returncode == 1
    assert "local_rpms directory" in out.stderr and "manifests/local/el7 holds no .rpm files" in out.stderr
    # with the engineer's keepalived 2.0.20 build in place, it resolves
    copy = tmp_path / "manifests"
    shutil.copytree(REPO_ROOT / "manifests", copy, ignore=shutil.ignore_patterns("*.rpm"))
    for rpm in (fixture_repos / "el7" / "local").glob("*.rpm"):
        shutil.copy(rpm, copy / "local" / "el7")
    out = resolve(copy / "el7.toml", fixture_repo_urls(repo_url, "el7"), tmp_path)
    assert out.returncode == 0, out.stderr
    names = {p["name"]: p for p in json.loads(out.stdout)["packages"]}
    assert names["keepalived"]["version"] == "2.0.20"
    assert {"mysql-community-server", "mysql-community-libs-compat", "python3"} <= set(names)


def test_cli_help_and_version():
    version = subprocess.run(["ha-bundle", "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.startswith("ha-bundle ")
    helptext = ha_bundle("--help")
    assert helptext.returncode == 0
    for command in ("resolve", "fetch", "build", "inspect", "verify", "manifests"):
        assert command in helptext.stdout


def test_build_rejects_a_bad_compression_before_writing_anything(tmp_path):
    out = ha_bundle("build", REPO_ROOT / "manifests" / "demo.toml", "--compression", "gz", "--out", tmp_path / "dist",
                    cache=tmp_path / "cache")
    assert out.returncode == 64  # a usage error (builder.exitcodes.USAGE), not 2 ("unsatisfiable")
    assert "--compression must be xz or zstd, got 'gz'" in out.stderr
    assert not (tmp_path / "dist").exists()
