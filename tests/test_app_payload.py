"""The app release in the bundle (issue 15, item 1): [app] in the manifest, the release read
contained from a directory or tarball, listed file by file in the lock and the SBOM, carried in
the .run and shown by `ha-bundle inspect`. Hostile releases (names escaping the release,
symlinks, hard links, devices, too big) are refused with the entry named and nothing staged
outside the staging directory."""

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from builder import app as app_mod
from builder import runfile
from builder.errors import BundleError, ManifestError
from builder.manifest import App, load
from tests.ops_helpers import build_demo_run

MANIFEST = """
[target]
name = "t"
releasever = "7"
basearch = "x86_64"
os_ids = ["centos"]
os_major = "7"
[[repo]]
id = "base"
baseurl = "repo"
[baseline]
packages = ["bash"]
[install]
packages = ["keepalived"]
[app]
{app}
"""
GOOD = 'name = "itv"\nversion = "1.0.0"\nsource = "rel"\nstart = "python3 server.py"\nport = 8081\n'


def app_of(source: Path) -> App:
    return App("itv", "1.0.0", source, "python3 server.py", 8081)


def release_dir(tmp_path: Path) -> Path:
    rel = tmp_path / "rel"
    (rel / "static").mkdir(parents=True)
    (rel / "server.py").write_text("print('hi')\n")
    (rel / "server.py").chmod(0o755)
    (rel / "static" / "index.html").write_text("<p>hi</p>\n")
    return rel


def test_a_directory_release_is_staged_and_listed_file_by_file(tmp_path):
    files = app_mod.stage(app_of(release_dir(tmp_path)), tmp_path / "staging")
    assert [(f.path, f.mode) for f in files] == [("server.py", 0o755), ("static/index.html", 0o644)]
    assert (tmp_path / "staging" / "app" / "static" / "index.html").read_text() == "<p>hi</p>\n"
    entry = app_mod.lock_entry(app_of(tmp_path / "rel"), files)
    assert entry["files"][0]["sha256"] == __import__("hashlib").sha256(b"print('hi')\n").hexdigest()
    assert len(entry["tree_sha256"]) == 64 and entry["size"] == len("print('hi')\n") + len("<p>hi</p>\n")


def _tar(path: Path, members):
    with tarfile.open(path, "w:gz") as archive:
        for info, data in members:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _file(name, data=b"x"):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _special(name, kind, target=""):
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = target
    return info, None


@pytest.mark.parametrize("members, words", [
    ([_file("../outside.txt")], "unsafe file name '../outside.txt'"),
    ([_file("/etc/passwd")], "unsafe file name '/etc/passwd'"),
    ([_file("a/\x1b[31mred")], "unsafe file name"),
    ([_special("link", tarfile.SYMTYPE, "/etc/shadow")], "link is not a regular file"),
    ([_file("a.txt"), _special("hard", tarfile.LNKTYPE, "a.txt")], "hard is not a regular file"),
    ([_special("dev", tarfile.CHRTYPE)], "dev is not a regular file"),
    ([_file("a.txt"), _file("a.txt")], "a.txt appears twice"),
    ([], "holds no files"),
])
def test_hostile_tarballs_are_refused_with_the_entry_named(tmp_path, members, words):
    source = _tar(tmp_path / "rel.tar.gz", members)
    staging = tmp_path / "staging"
    with pytest.raises(BundleError) as err:
        app_mod.stage(app_of(source), staging)
    assert err.value.reference == "app-source-bad"
    assert words in str(err.value), str(err.value)
    assert not (tmp_path / "outside.txt").exists() and not (tmp_path.parent / "outside.txt").exists()


def test_a_symlink_in_a_release_directory_is_refused_not_followed(tmp_path):
    rel = release_dir(tmp_path)
    os.symlink("/etc/passwd", rel / "passwd")
    with pytest.raises(BundleError) as err:
        app_mod.stage(app_of(rel), tmp_path / "staging")
    assert "passwd is not a regular file or directory" in str(err.value)


def test_a_release_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(app_mod, "MAX_BYTES", 10)
    with pytest.raises(BundleError) as err:
        app_mod.stage(app_of(release_dir(tmp_path)), tmp_path / "staging")
    assert "larger than" in str(err.value)


@pytest.mark.parametrize("app, key", [
    (GOOD.replace('name = "itv"', 'name = "Itv App"'), "app.name"),
    (GOOD.replace("port = 8081", "port = 70000"), "app.port"),
    (GOOD.replace("port = 8081", 'port = "8081"'), "app.port"),
    (GOOD + 'data_dirs = ["uploads"]\n', "app.data_dirs"),
    (GOOD + 'data_dirs = ["/etc"]\n', "app.data_dirs"),
    (GOOD + 'user = "root"\n', "app.user"),
    (GOOD + 'health_path = "health"\n', "app.health_path"),
    (GOOD.replace('source = "rel"', 'source = "http://example.invalid/rel.tgz"'), "app.source"),
    (GOOD + 'runtime = ["nodejs >> 18"]\n', "app.runtime"),
    (GOOD.replace('version = "1.0.0"', 'version = "../1"'), "app.version"),
    (GOOD + "colour = 1\n", "app.colour"),
])
def test_bad_app_tables_name_the_key(tmp_path, app, key):
    path = tmp_path / "m.toml"
    path.write_text(MANIFEST.format(app=app))
    with pytest.raises(ManifestError) as err:
        load(path)
    assert any(line == "key: " + key for line in err.value.context), err.value.context


def test_runtime_packages_join_the_install_roots(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text(MANIFEST.format(app=GOOD + 'runtime = ["nodejs >= 18", "keepalived"]\n'))
    m = load(path)
    assert [s.name for s in m.install.packages] == ["keepalived", "nodejs"]
    assert m.app.runtime[0].op == ">=" and m.app.user == "itv"


def test_the_demo_bundle_carries_the_demo_app_in_lock_sbom_payload_and_inspect(tmp_path):
    run = build_demo_run(tmp_path / "dist")
    info = runfile.inspect(run)
    assert info["checksum"] == "ok"
    assert info["app"]["name"] == "itv" and info["app"]["version"] == "1.0.0"
    assert "app/1.0.0/server.py" in info["members"]
    lock = json.loads((tmp_path / "dist" / "demo" / "bundle.lock.json").read_text())
    server = [f for f in lock["app"]["files"] if f["path"] == "server.py"][0]
    source = Path(__file__).resolve().parent.parent / "manifests" / "demo-app" / "server.py"
    assert server["sha256"] == __import__("hashlib").sha256(source.read_bytes()).hexdigest()
    assert lock["app"]["data_dirs"] == ["/var/lib/itv/uploads"]
    sbom = json.loads((tmp_path / "dist" / "demo" / "sbom.cdx.json").read_text())
    apps = [c for c in sbom["components"] if c["type"] == "application"]
    assert apps and apps[0]["name"] == "itv"
    assert {c["name"] for c in apps[0]["components"]} == {f["path"] for f in lock["app"]["files"]}
