"""Manifest v1: the shipped manifests load; bad ones get one clear error naming file, key, expectation."""

from __future__ import annotations


import pytest

from tests.cli import run as ha_bundle

from builder import manifest
from builder.errors import ManifestError
from tests.conftest import REPO_ROOT

GOOD = """
[target]
name = "el7"
releasever = "7"
basearch = "x86_64"
os_ids = ["centos", "rhel"]
os_major = "7"

[[repo]]
id = "base"
baseurl = "https://example.invalid/centos/$releasever/os/$basearch/"

[baseline]
packages = ["bash", "glibc"]

[install]
packages = ["keepalived = 2.0.20", "libnl3", "mysql-community-server >= 5.7"]
"""


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "manifests").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_manifests_load(path):
    m = manifest.load(path)
    assert m.target.name == path.stem
    assert m.repos and m.install.packages


def test_good_manifest_parses_specs_and_substitutes(tmp_path):
    p = tmp_path / "m.toml"
    p.write_text(GOOD)
    m = manifest.load(p)
    assert [str(s) for s in m.install.packages] == ["keepalived = 2.0.20", "libnl3", "mysql-community-server >= 5.7"]
    assert m.substitute(m.repos[0].baseurl) == "https://example.invalid/centos/7/os/x86_64/"
    assert len(m.sha256) == 64


BAD = [
    # (replace this, with that, key named in the error, expectation words)
    ('name = "el7"', 'name = "el7"\ncolour = "blue"', "target.colour", "unknown key"),
    ('basearch = "x86_64"', 'basearch = "sparc"', "target.basearch", "one of x86_64"),
    ('os_major = "7"', "os_major = 7", "target.os_major", "a string"),
    ('os_ids = ["centos", "rhel"]', "os_ids = []", "target.os_ids", "non-empty list"),
    ('"keepalived = 2.0.20"', '"keepalived => 2.0.20"', "install.packages", "unknown version operator '=>'"),
    ('"keepalived = 2.0.20"', '"keepalived ~= 2.0"', "install.packages", "unknown version operator '~='"),
    ('"keepalived = 2.0.20"', '"keepalived = "', "install.packages", "name OP version"),
    ('packages = ["bash", "glibc"]', 'packages = "bash"', "baseline.packages", "a list"),
    ('packages = ["bash", "glibc"]', 'rpm_qa = "x.txt"\npackages = ["bash"]', "baseline", "exactly one of"),
    ('id = "base"', 'id = "base"\nenabled = true', "repo[0].enabled", "unknown key"),
    ("[[repo]]", "[[repos]]", "repos", "unknown table"),
    ('[install]\npackages = ["keepalived = 2.0.20", "libnl3", "mysql-community-server >= 5.7"]', "", "install",
     "required table"),
    ("[baseline]", '[modules]\nenable = ["mariadb"]\n\n[baseline]', "modules.enable", "module:stream"),
    ("[baseline]", '[modules]\nenable = ["mariadb:10.5"]\ndisable = ["mariadb"]\n\n[baseline]', "modules.disable",
     "not also listed"),
    ("[baseline]", '[baseline]\nrepos = ["nope"]', "baseline.repos", "ids of [[repo]] tables"),
    ('name = "el7"', 'name = "EL 7"', "target.name", "lower-case"),
]


@pytest.mark.parametrize("old,new,key,words", BAD, ids=[b[2] + ":" + b[3][:20] for b in BAD])
def test_bad_manifest_names_file_key_and_expectation(tmp_path, old, new, key, words):
    assert old in GOOD
    p = tmp_path / "bad.toml"
    p.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(ManifestError) as info:
        manifest.load(p)
    text = info.value.render()
    assert str(p) in text
    assert f"key: {key}" in text
    assert words in text


def test_cli_reports_bad_manifest_without_traceback(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(GOOD.replace('basearch = "x86_64"', 'basearch = "sparc"'))
    out = ha_bundle("resolve", p)
    assert out.returncode == 1
    assert "Traceback" not in out.stderr
    assert f"{p}:5" in out.stderr  # file:line of the offending key
    assert "target.basearch" in out.stderr


def test_toml_syntax_error_is_reported(tmp_path):
    p = tmp_path / "broken.toml"
    p.write_text("[target\nname = 1\n")
    with pytest.raises(ManifestError) as info:
        manifest.load(p)
    assert "not valid TOML" in info.value.render()
    assert "line" in info.value.render()


def test_missing_manifest_file(tmp_path):
    with pytest.raises(ManifestError) as info:
        manifest.load(tmp_path / "none.toml")
    assert info.value.reference == "manifest-unreadable"
