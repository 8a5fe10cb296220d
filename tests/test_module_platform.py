"""Module contexts are kept only for the target's platform (manifest `target.platform_id`), as
dnf does with the host's PLATFORM_ID: an Anolis 8 target never takes a context built for el8."""

from __future__ import annotations

import yaml

from builder.modularity import ModuleIndex


def doc(stream: str, context: str, platform: list[str] | None, rpm: str) -> dict:
    data = {"name": "mariadb", "stream": stream, "version": 1, "context": context, "arch": "x86_64",
            "artifacts": {"rpms": [rpm]}}
    if platform is not None:
        data["dependencies"] = [{"buildrequires": {"platform": ["x"]}, "requires": {"platform": platform}}]
    return {"document": "modulemd", "version": 2, "data": data}


def load(tmp_path, platform: str, docs: list[dict]) -> ModuleIndex:
    path = tmp_path / "modules.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    idx = ModuleIndex(platform=platform)
    idx.add_yaml(path)
    return idx


def test_only_the_targets_platform_contexts_count(tmp_path):
    docs = [doc("10.5", "c1", ["el8"], "mariadb-server-3:10.5.22-1.module_el8.x86_64"),
            doc("10.5", "c2", ["an8"], "mariadb-server-3:10.5.22-1.module+an8.x86_64"),
            doc("10.3", "c3", ["el8"], "mariadb-server-3:10.3.39-1.module_el8.x86_64")]
    an8 = load(tmp_path, "an8", docs)
    assert an8.streams == {("mariadb", "10.5"): {"mariadb-server-3:10.5.22-1.module+an8.x86_64"}}
    el8 = load(tmp_path, "el8", docs)
    assert el8.streams[("mariadb", "10.5")] == {"mariadb-server-3:10.5.22-1.module_el8.x86_64"}
    assert ("mariadb", "10.3") in el8.streams
    # no platform_id in the manifest: every context counts (the behaviour before the key)
    assert load(tmp_path, "", docs).streams[("mariadb", "10.5")] == {
        "mariadb-server-3:10.5.22-1.module_el8.x86_64", "mariadb-server-3:10.5.22-1.module+an8.x86_64"}


def test_any_platform_and_exclusions(tmp_path):
    docs = [doc("1", "a", None, "a-0:1-1.x86_64"),            # no dependencies: any platform
            doc("2", "b", [], "b-0:1-1.x86_64"),              # empty list: any platform
            doc("3", "c", ["-el8"], "c-0:1-1.x86_64"),        # everything but el8
            doc("4", "d", ["-an8"], "d-0:1-1.x86_64")]        # everything but an8
    assert sorted(s for _m, s in load(tmp_path, "an8", docs).streams) == ["1", "2", "3"]
    assert sorted(s for _m, s in load(tmp_path, "el8", docs).streams) == ["1", "2", "4"]


def test_platform_id_is_checked_in_the_manifest(tmp_path):
    import pytest

    from builder import manifest
    from tests.conftest import REPO_ROOT

    text = (REPO_ROOT / "manifests" / "anolis8.toml").read_text()
    assert manifest.load(_write(tmp_path, "ok.toml", text)).target.platform_id == "platform:an8"
    with pytest.raises(Exception) as err:
        manifest.load(_write(tmp_path, "bad.toml", text.replace('"platform:an8"', '"an8; rm -rf /"')))
    assert "target.platform_id" in str(err.value)


def _write(directory, name, text):
    path = directory / name
    path.write_text(text)
    return path


def test_an_anolis_target_on_el8_repos_is_told_why_its_stream_is_missing(tmp_path):
    from tests.cli import run as ha_bundle
    from tests.fixtures import target_manifest
    from tests.runfile_helpers import build_fixture_repos

    build_fixture_repos()
    ours = target_manifest.write("anolis8", tmp_path)
    wrong = _write(tmp_path, "wrong.toml", ours.read_text().replace("/an8/", "/el8/"))
    out = ha_bundle("resolve", str(wrong), cache=tmp_path / "cache")
    assert out.returncode != 0
    assert "module stream mariadb:10.5 is not in the repos" in out.stderr
    assert "only for platform el8, not this target's platform:an8" in out.stderr, out.stderr
    assert ha_bundle("resolve", str(ours), cache=tmp_path / "cache").returncode == 0
