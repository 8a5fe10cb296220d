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
