"""Hostile mirrors: hrefs contained, sizes capped, NEVRAs verified, names safe (issue 12, part 1).

Each repo here is a createrepo_c fixture repo with its primary.xml edited the way an attacker (or
a broken mirror) would, served by a faulty HTTP server on 127.0.0.1 that records every request.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from builder import lock
from tests.cli import run as ha_bundle
from tests.fixtures.hostile import HostileServer, edit_package, el7_copy, set_href
from tests.manifest_util import write_manifest

LIBNL3 = "Packages/libnl3-3.2.28-4.el7.x86_64.rpm"


@pytest.fixture()
def srv(fixture_repos: Path, tmp_path: Path) -> Path:
    """A private copy of the el7 repos (tests make it hostile), plus a file outside any repo."""
    root = el7_copy(fixture_repos, tmp_path / "srv")
    (root / "outside").mkdir()
    shutil.copy(root / "el7" / "base" / LIBNL3, root / "outside" / "x.rpm")  # same bytes: the checksum matches
    return root


def _manifest(tmp_path: Path, base: str) -> Path:
    return write_manifest(tmp_path, "el7", {"base": f"{base}/el7/base", "updates": f"{base}/el7/updates"},
                          ["keepalived", "libnl3"])


def _fetch(tmp_path: Path, manifest: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return ha_bundle("fetch", manifest, "--out", tmp_path / "dist", *extra, cache=tmp_path / "cache", timeout=120)


def _nothing_written(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    assert not (dist / "el7").exists()
    assert not list(dist.glob(".hb-*")) if dist.exists() else True
    assert not list((tmp_path / "cache").rglob("*.part")), "a partial download was left behind"


def _refused(out: subprocess.CompletedProcess[str], reference: str) -> None:
    assert out.returncode == 1, out.stderr
    assert f"[{reference}]" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr


def test_file_repo_href_climbing_out_is_refused(srv, tmp_path):
    set_href(srv / "el7" / "base", "libnl3", "../../outside/x.rpm")
    out = _fetch(tmp_path, _manifest(tmp_path, str(srv)))
    _refused(out, "href-outside-repo")
    assert "'..'" in out.stderr
    _nothing_written(tmp_path)


def test_file_repo_href_to_dev_zero_is_refused_and_leaves_no_part(srv, tmp_path):
    set_href(srv / "el7" / "base", "libnl3", "file:///dev/zero")
    out = _fetch(tmp_path, _manifest(tmp_path, str(srv)))
    _refused(out, "href-outside-repo")
    _nothing_written(tmp_path)


def test_file_repo_symlink_out_of_the_repo_is_refused(srv, tmp_path):
    link = srv / "el7" / "base" / "Packages" / "evil.rpm"
    link.symlink_to(srv / "outside" / "x.rpm")
    set_href(srv / "el7" / "base", "libnl3", "Packages/evil.rpm")
    out = _fetch(tmp_path, _manifest(tmp_path, str(srv)))
    _refused(out, "href-outside-repo")
    assert "after symlinks" in out.stderr


@pytest.mark.parametrize("href", ["../../../../outside/x.rpm", "%2e%2e/%2e%2e/%2e%2e/outside/x.rpm",
                                  "/outside/x.rpm", "file:///etc/passwd", "OTHER/outside/x.rpm"])
def test_http_href_outside_the_repo_is_refused_before_any_request(srv, tmp_path, href):
    with HostileServer(srv) as server, HostileServer(srv, host="127.0.0.2") as other:
        href = href.replace("OTHER", other.url)
        set_href(srv / "el7" / "base", "libnl3", href)
        out = _fetch(tmp_path, _manifest(tmp_path, server.url))
        _refused(out, "href-outside-repo")
        assert not [r for r in server.requests if "outside" in r or "passwd" in r]
        assert not [r for r in server.requests if r.endswith(".rpm")], "no RPM is fetched once one href is hostile"
        assert other.requests == []
    _nothing_written(tmp_path)


def test_metadata_href_outside_the_repo_is_refused(srv, tmp_path):
    repomd = srv / "el7" / "base" / "repodata" / "repomd.xml"
    text = repomd.read_text()
    repomd.write_text(re.sub(r'(<data type="filelists">.*?<location href=")[^"]+', r"\g<1>../../outside/x.rpm",
                             text, flags=re.S))
    with HostileServer(srv) as server:
        out = ha_bundle("resolve", _manifest(tmp_path, server.url), cache=tmp_path / "cache")
        _refused(out, "href-outside-repo")
        assert not [r for r in server.requests if "outside" in r]


def test_body_larger_than_declared_is_cut_off_and_discarded(srv, tmp_path):
    with HostileServer(srv) as server:
        server.rules[LIBNL3] = "endless"  # 200 MB for a 5.7 KB RPM
        out = _fetch(tmp_path, _manifest(tmp_path, server.url))
    assert out.returncode == 1, out.stderr
    assert "larger than the 5769 bytes its metadata declares" in out.stderr
    assert "Traceback" not in out.stderr
    _nothing_written(tmp_path)
    assert sum(p.stat().st_size for p in (tmp_path / "cache").rglob("*") if p.is_file()) < 5 << 20


def test_rpm_whose_header_is_another_package_is_refused(srv, tmp_path):
    """Checksum and size fixed up to match, but the file is libnl3 posing as net-snmp-libs."""
    base = srv / "el7" / "base"
    data = (base / LIBNL3).read_bytes()
    victim = next((base / "Packages").glob("net-snmp-libs-*.rpm"))
    victim.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()

    def forge(block: str) -> str:
        block = re.sub(r'(<checksum type="sha256" pkgid="YES">)[0-9a-f]+', rf"\g<1>{digest}", block)
        return re.sub(r'<size package="\d+"', f'<size package="{len(data)}"', block)

    edit_package(base, "net-snmp-libs", forge)
    out = _fetch(tmp_path, _manifest(tmp_path, str(srv)))
    assert out.returncode == 1, out.stderr
    assert "its RPM header says name 'libnl3' (metadata says 'net-snmp-libs')" in out.stderr
    _nothing_written(tmp_path)


def test_metadata_name_with_shell_syntax_is_refused_before_download(srv, tmp_path):
    edit_package(srv / "el7" / "base", "libnl3",
                 lambda b: b.replace("<name>libnl3</name>", "<name>libnl3;$(touch PWNED)</name>"))
    with HostileServer(srv) as server:
        out = _fetch(tmp_path, _manifest(tmp_path, server.url))  # 'libnl3' still matches its provides
        assert not [r for r in server.requests if r.endswith(".rpm")]
    _refused(out, "unsafe-package-name")
    assert "name='libnl3;$(touch PWNED)'" in out.stderr
    assert not list(tmp_path.rglob("PWNED"))


@pytest.mark.parametrize("href", ["Packages/lib nl3.rpm", "Packages/*.rpm"])
def test_payload_names_come_from_the_verified_nevra_not_the_href(srv, tmp_path, href):
    base = srv / "el7" / "base"
    (base / LIBNL3).rename(base / href)
    set_href(base, "libnl3", href)  # as createrepo_c writes it
    out = _fetch(tmp_path, _manifest(tmp_path, str(srv)))
    assert out.returncode == 0, out.stderr
    staged = tmp_path / "dist" / "el7"
    names = sorted(p.name for p in (staged / "rpms").iterdir())
    assert "libnl3-3.2.28-4.el7.x86_64.rpm" in names
    assert all(re.fullmatch(r"[A-Za-z0-9._+~^-]+\.rpm", n) for n in names), names
    data = json.loads((staged / "bundle.lock.json").read_text())
    assert all(" " not in p["filename"] and "*" not in p["filename"] for p in data["packages"])


def test_purl_components_are_percent_encoded():
    pkg = {"name": "libstdc++", "epoch": "1", "version": "4.8.5", "release": "44.el7", "arch": "x86_64",
           "repo": "base", "sha256": "0" * 64}
    sbom = lock.make_sbom({"created": 0, "target": {"name": "t"}, "packages": [pkg]})
    assert sbom["components"][0]["purl"] == "pkg:rpm/libstdc%2B%2B@4.8.5-44.el7?arch=x86_64&epoch=1"


def test_redirect_to_another_host_is_not_followed(srv, tmp_path):
    with HostileServer(srv) as server, HostileServer(srv, host="127.0.0.2") as other:
        server.rules["repodata/repomd.xml"] = f"redirect:{other.url}"
        out = ha_bundle("resolve", _manifest(tmp_path, server.url), cache=tmp_path / "cache")
        assert other.requests == []
    assert out.returncode == 1, out.stderr
    assert "redirects to" in out.stderr and "not followed" in out.stderr
    assert "Traceback" not in out.stderr


def test_endless_repomd_is_cut_off_at_its_cap(srv, tmp_path):
    with HostileServer(srv) as server:
        server.rules["el7/base/repodata/repomd.xml"] = "endless"
        out = ha_bundle("resolve", _manifest(tmp_path, server.url), cache=tmp_path / "cache")
    assert out.returncode == 1, out.stderr
    assert "larger than the 8388608 bytes" in out.stderr and "Traceback" not in out.stderr
    assert not list((tmp_path / "cache").rglob(".part-*"))


def test_metadata_larger_than_repomd_says_is_refused(srv, tmp_path):
    repomd = srv / "el7" / "base" / "repodata" / "repomd.xml"
    text = repomd.read_text()
    repomd.write_text(re.sub(r'(<data type="primary">.*?<size>)\d+', r"\g<1>100", text, count=1, flags=re.S))
    with HostileServer(srv) as server:
        out = ha_bundle("resolve", _manifest(tmp_path, server.url), cache=tmp_path / "cache")
    assert out.returncode == 1, out.stderr
    assert "larger than the 100 bytes its metadata declares" in out.stderr
