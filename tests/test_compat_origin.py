"""A carried package built for another distribution than the target's is named (issue 17,
item 3): its release tag against the tag of the target's own baseline, with whether the
target's libraries meet its requires (the closure proof, computed apart from the solver)."""

from __future__ import annotations

import json

from tests.cli import run as ha_bundle
from tests.manifest_util import fixture_repo_urls, write_manifest

from builder.compat import dist_tag


def test_release_tags_name_the_distribution():
    assert [dist_tag(r) for r in ("317.el7", "19.el7_9", "1.module_el8.6.0+3340+d764b636", "2.oe2203sp3",
                                  "5.ky10", "1.an8", "1")] == ["el7", "el7", "el8", "oe2203", "ky10", "an8", None]


def test_a_build_for_another_distribution_is_named(repo_url, tmp_path):
    from tests.fixtures.build_repos import build_rpm
    from tests.fixtures.catalog import S

    local = tmp_path / "local"
    build_rpm(S("dcim-agent", "2.1-1.el7", "local", "noarch", r=["/bin/sh"], f=["/usr/bin/dcim-agent"]),
              "el8", local, tmp_path / "work")
    manifest = write_manifest(tmp_path, "el8", fixture_repo_urls(repo_url, "el8"), ["keepalived", "dcim-agent"],
                              local=str(local))
    out = ha_bundle("resolve", str(manifest), "--json", cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    rows = [r for r in json.loads(out.stdout)["compat"] if r["check"] == "origin"]
    assert [(r["subject"], r["status"]) for r in rows] == [("dcim-agent-2.1-1.el7.noarch", "WARN")], rows
    assert "built for el7, the target's own packages are el8; its requires are met" in rows[0]["detail"]


def test_own_builds_get_no_origin_row(repo_url, tmp_path):
    manifest = write_manifest(tmp_path, "el8", fixture_repo_urls(repo_url, "el8"), ["keepalived", "libnl3"])
    out = ha_bundle("resolve", str(manifest), "--json", cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    assert not [r for r in json.loads(out.stdout)["compat"] if r["check"] == "origin"]


def test_the_keepalived_row_says_whether_it_reads_what_onsite_writes(repo_url, tmp_path):
    """el7's own keepalived 1.3.5 is older than the 2.0.20 keyword set onsite renders: WARN;
    el8's 2.1.5: PASS."""
    rows = {}
    for os_name in ("el7", "el8"):
        (tmp_path / os_name).mkdir()
        manifest = write_manifest(tmp_path / os_name, os_name, fixture_repo_urls(repo_url, os_name), ["keepalived"])
        out = ha_bundle("resolve", str(manifest), "--json", cache=tmp_path / "cache")
        assert out.returncode == 0, out.stderr
        rows[os_name] = [r for r in json.loads(out.stdout)["compat"] if r["check"] == "keepalived"]
    assert [(r["subject"], r["status"]) for r in rows["el7"]] == [("keepalived-1.3.5-19.el7.x86_64", "WARN")]
    assert "older than 2.0.20" in rows["el7"][0]["detail"] and "local_rpms" in rows["el7"][0]["detail"]
    assert [(r["subject"], r["status"]) for r in rows["el8"]] == [("keepalived-2.1.5-9.el8.x86_64", "PASS")]


def test_the_keepalived_floor_orders_versions_as_rpm_does():
    from builder.compat import KEEPALIVED_FLOOR, _at_least

    assert [v for v in ("2.0.20", "2.0.20a", "2.0.21", "2.1", "2.2.8", "10.0")
            if _at_least(v, KEEPALIVED_FLOOR)] == ["2.0.20", "2.0.20a", "2.0.21", "2.1", "2.2.8", "10.0"]
    assert [v for v in ("2.0.19", "2.0.20~rc1", "1.3.5", "2.0") if _at_least(v, KEEPALIVED_FLOOR)] == []
