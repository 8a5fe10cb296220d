"""The closure proof (builder/closure.py) fails on incomplete sets and names what is missing.

Unit cases build the worlds by hand; the end-to-end cases make the resolver's answer
deliberately incomplete and check that `resolve` shows a FAIL row and `build` refuses with
exit 2 and writes nothing to --out.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder import closure, resolve as resolve_mod
from builder.closure import PackageFacts, prove
from tests.cli import run as ha_bundle
from tests.manifest_util import fixture_repo_urls, write_manifest


def pkg(nevra: str, origin: str = "base", *, p=(), r=(), c=(), o=(), f=()) -> PackageFacts:
    nevr, arch = nevra.rsplit(".", 1)
    name, version, release = nevr.rsplit("-", 2)
    return PackageFacts(name, f"{version}-{release}", arch, origin, tuple(p), tuple(r), tuple(c), tuple(o), tuple(f))


GLIBC = pkg("glibc-2.17-317.el7.x86_64", p=["libc.so.6()(64bit)"], f=["/usr/lib64/libc.so.6"])
BASH = pkg("bash-4.2.46-34.el7.x86_64", r=["libc.so.6()(64bit)"], f=["/bin/sh", "/usr/bin/bash"])
MARIADB_LIBS = pkg("mariadb-libs-5.5.68-1.el7.x86_64", p=["libmysqlclient.so.18()(64bit)"],
                   r=["libc.so.6()(64bit)"])
POSTFIX = pkg("postfix-2.10.1-9.el7.x86_64", r=["libmysqlclient.so.18()(64bit)", "/bin/sh"])
BASELINE = [GLIBC, BASH, MARIADB_LIBS, POSTFIX]
MYSQL_LIBS = pkg("mysql-community-libs-5.7.44-1.el7.x86_64", "mysql",
                 p=["libmysqlclient.so.20()(64bit)", "mysql-community-libs(x86-64) = 5.7.44-1.el7"],
                 r=["mysql-community-common(x86-64) >= 5.7.9"], o=["mariadb-libs"])
MYSQL_COMMON = pkg("mysql-community-common-5.7.44-1.el7.x86_64", "mysql", p=["mysql-community-common(x86-64) = 5.7.44-1.el7"])
MYSQL_COMPAT = pkg("mysql-community-libs-compat-5.7.44-1.el7.x86_64", "mysql",
                   p=["libmysqlclient.so.18()(64bit)"], r=["mysql-community-libs(x86-64) >= 5.7.9"], o=["mariadb-libs"])


def test_a_complete_set_passes():
    proof = prove("x86_64", BASELINE, [MYSQL_LIBS, MYSQL_COMMON, MYSQL_COMPAT],
                  baseline_names=["bash", "glibc", "postfix", "mariadb-libs"],
                  listed_removals=["mariadb-libs-5.5.68-1.el7.x86_64"])
    assert proof.passed, proof.failures
    assert proof.checked_packages == 3 and proof.checked_requires > 0
    assert "closed" in proof.summary()


def test_missing_requirement_is_named_with_the_package_that_needs_it():
    proof = prove("x86_64", BASELINE, [MYSQL_LIBS, MYSQL_COMPAT], listed_removals=["mariadb-libs-5.5.68-1.el7.x86_64"])
    assert not proof.passed
    text = "\n".join(proof.failures)
    assert ("mysql-community-libs-5.7.44-1.el7.x86_64 needs mysql-community-common(x86-64) >= 5.7.9" in text), text


def test_obsoleting_a_baseline_library_breaks_its_users():
    # libs without libs-compat: postfix loses libmysqlclient.so.18 (the el7 postfix trap)
    proof = prove("x86_64", BASELINE, [MYSQL_LIBS, MYSQL_COMMON], listed_removals=["mariadb-libs-5.5.68-1.el7.x86_64"])
    assert "postfix-2.10.1-9.el7.x86_64 needs libmysqlclient.so.18()(64bit)" in "\n".join(proof.failures)


def test_unlisted_replacement_and_upgrade_fail():
    newer_glibc = pkg("glibc-2.17-326.el7.x86_64", "updates", p=["libc.so.6()(64bit)"])
    proof = prove("x86_64", BASELINE, [MYSQL_LIBS, MYSQL_COMMON, MYSQL_COMPAT, newer_glibc])
    text = "\n".join(proof.failures)
    assert "obsoletes baseline package mariadb-libs-5.5.68-1.el7.x86_64" in text
    assert "upgrades baseline package glibc-2.17-317.el7.x86_64" in text
    ok = prove("x86_64", BASELINE, [MYSQL_LIBS, MYSQL_COMMON, MYSQL_COMPAT, newer_glibc], listed_upgrades=["glibc"],
               listed_removals=["mariadb-libs-0:5.5.68-1.el7.x86_64"])
    assert ok.passed, ok.failures


def test_file_requirement_needs_the_file():
    tool = pkg("tool-1-1.x86_64", "x", r=["/usr/bin/perl"])
    assert "tool-1-1.x86_64 needs /usr/bin/perl" in "\n".join(prove("x86_64", BASELINE, [tool]).failures)
    perl = pkg("perl-5.16.3-299.el7.x86_64", "base", f=["/usr/bin/perl"])
    assert prove("x86_64", BASELINE, [tool, perl]).passed


@pytest.mark.parametrize("requirement,extra,ok", [
    ("(glibc or nothere)", [], True),
    ("(nothere or alsonot)", [], False),
    ("(nothere if bash)", [], False),
    ("(nothere if absent)", [], True),
    ("(glibc if bash else nothere)", [], True),
    ("(nothere if bash else glibc)", [], False),
    ("(nothere if absent else glibc)", [], True),
    ("(nothere unless bash)", [], True),
    ("(glibc and (bash or x))", [], True),
    ("(glibc >= 2.18 with glibc < 3)", [], False),
    ("(glibc >= 2.17 with glibc < 3)", [], True),
    ("(libc.so.6()(64bit) without glibc)", [], False),
])
def test_rich_dependencies(requirement, extra, ok):
    user = pkg("user-1-1.x86_64", "x", r=[requirement])
    proof = prove("x86_64", BASELINE, [user] + extra)
    assert proof.passed is ok, proof.failures


def test_conflicts_with_what_stays_installed():
    rival = pkg("rival-1-1.x86_64", "x", c=["postfix"])
    proof = prove("x86_64", BASELINE, [rival])
    assert "rival-1-1.x86_64 conflicts with postfix (postfix-2.10.1-9.el7.x86_64)" in "\n".join(proof.failures)
    versioned = pkg("rival-1-1.x86_64", "x", c=["postfix < 2"])
    assert prove("x86_64", BASELINE, [versioned]).passed


def test_baseline_name_replaced_by_an_obsoleter_is_caught():
    # the resolver bug of issue 11: the 'baseline' holds the obsoleter instead of the named package
    wrong_baseline = [GLIBC, BASH, MYSQL_COMPAT, POSTFIX]
    proof = prove("x86_64", wrong_baseline, [], baseline_names=["bash", "glibc", "postfix", "mariadb-libs"])
    assert "baseline names mariadb-libs, but the modelled host does not have it" in "\n".join(proof.failures)
    proof = prove("x86_64", BASELINE, [], baseline_repos=["mysql"])
    assert "comes from repo base, not from [baseline] repos (mysql)" in "\n".join(proof.failures)


def test_what_the_host_already_lacks_is_a_note_not_a_failure():
    broken_host = [GLIBC, BASH, POSTFIX]  # an rpm -qa baseline without mariadb-libs: postfix already unmet
    proof = prove("x86_64", broken_host, [pkg("tool-1-1.x86_64", "x", r=["bash"])])
    assert proof.passed, proof.failures
    assert any("postfix" in n for n in proof.notes)


def test_rpm_header_facts(fixture_repos: Path):
    rpm = next((fixture_repos / "el7" / "local").glob("keepalived-2.0.20*.rpm"))
    facts = closure.facts_from_rpm(rpm)
    assert (facts.name, facts.evr, facts.arch) == ("keepalived", "2.0.20-1.el7", "x86_64")
    assert "libnl-3.so.200()(64bit)" in facts.requires and "/usr/sbin/keepalived" in facts.files
    assert facts.origin == f"rpm:{rpm.name}"


# -- end to end: a deliberately incomplete answer from the resolver --------------------------

def _drop_from_plan(monkeypatch, name: str) -> None:
    """Make solve_target forget one carried package, as a resolver bug would."""
    real = resolve_mod.solve_target

    def incomplete(*args, **kwargs):
        res = real(*args, **kwargs)
        res.packages = [p for p in res.packages if p.name != name]
        res.world._carried = [s for s in res.world._carried if s.name != name]
        return res

    monkeypatch.setattr(resolve_mod, "solve_target", incomplete)


def test_build_refuses_an_unclosed_set_and_writes_nothing(monkeypatch, repo_url, tmp_path, capsys):
    from typer.testing import CliRunner

    from builder import cli

    manifest = write_manifest(tmp_path, "el7", fixture_repo_urls(repo_url, "el7"), ["mysql-community-server"])
    _drop_from_plan(monkeypatch, "mysql-community-common")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.app, ["resolve", str(manifest), "--json", "--cache", str(tmp_path / "c")])
    plan = json.loads(result.stdout)
    rows = {r["check"]: r for r in plan["compat"]}
    assert rows["closure"]["status"] == "FAIL"
    assert plan["closure"]["passed"] is False
    assert any("needs mysql-community-common" in f for f in plan["closure"]["failures"]), plan["closure"]
    result = CliRunner().invoke(cli.app, ["build", str(manifest), "--out", str(out), "--cache", str(tmp_path / "c")])
    assert result.exit_code != 0
    err = result.exception
    assert getattr(err, "reference", "") == "closure-unproven" and err.exit_code == 2
    assert any("mysql-community-server-5.7.44-1.el7.x86_64 needs mysql-community-common" in c for c in err.context)
    assert not out.exists() or not any(out.iterdir())


def test_resolve_shows_the_proof_row(repo_url, tmp_path):
    manifest = write_manifest(tmp_path, "el7", fixture_repo_urls(repo_url, "el7"), ["keepalived", "mysql-community-server"])
    proc = ha_bundle("resolve", manifest, "--json", cache=tmp_path / "cache")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    row = next(r for r in plan["compat"] if r["check"] == "closure")
    assert row["status"] == "PASS" and "closed" in row["detail"]
