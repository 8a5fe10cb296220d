"""rpm-md client and fetch: verified, cached, resumable; bad input is a clear error and leaves nothing."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import run as ha_bundle
import zstandard

from builder import manifest as manifest_mod
from builder.repos import RepoClient
from tests.fixtures.hostile import replace_primary
from tests.fixtures.serve import RepoServer
from tests.manifest_util import fixture_repo_urls, write_manifest


def cli(*args: str, cache: Path) -> subprocess.CompletedProcess[str]:
    return ha_bundle(*args, cache=cache)


@pytest.fixture()
def el7_copy(fixture_repos: Path, tmp_path: Path):
    """A private copy of the el7 fixture repos served over HTTP (tests may damage it)."""
    root = tmp_path / "srv"
    shutil.copytree(fixture_repos / "el7", root / "el7")
    with RepoServer(root) as server:
        yield root, server.url


def _data_entry(repomd: str, mdtype: str) -> str:
    return re.search(rf'<data type="{mdtype}">.*?</data>', repomd, re.S).group(0)


def _manifest(tmp_path: Path, url: str, install=("keepalived", "libnl3")) -> Path:
    return write_manifest(tmp_path, "el7", {"base": f"{url}/el7/base", "updates": f"{url}/el7/updates"},
                          list(install))


def test_second_load_downloads_no_metadata(repo_url, tmp_path):
    m = manifest_mod.load(_manifest(tmp_path, repo_url))
    first = RepoClient(tmp_path / "cache")
    metas = [first.load(r, r.baseurl) for r in m.repos]
    assert first.downloads == 2 * 3  # repomd.xml, primary, filelists per repo ("other" is never needed)
    second = RepoClient(tmp_path / "cache")
    again = [second.load(r, r.baseurl) for r in m.repos]
    assert second.downloads == 0
    assert [a.repomd_sha256 for a in again] == [b.repomd_sha256 for b in metas]


def test_corrupt_metadata_checksum_is_refused(el7_copy, tmp_path):
    root, url = el7_copy
    repomd = root / "el7" / "base" / "repodata" / "repomd.xml"
    text = repomd.read_text()
    entry = _data_entry(text, "primary")
    digest = re.search(r'<checksum type="sha256">([0-9a-f]+)', entry).group(1)
    repomd.write_text(text.replace(digest, "0" * 64, 1))
    out = cli("resolve", str(_manifest(tmp_path, url)), cache=tmp_path / "cache")
    assert out.returncode == 1, out.stderr
    assert "primary metadata does not match repomd.xml's checksum" in out.stderr
    assert "metadata-checksum-mismatch" in out.stderr
    assert "Traceback" not in out.stderr


def test_truncated_primary_is_refused(el7_copy, tmp_path):
    root, url = el7_copy
    repo = root / "el7" / "base"
    href = re.search(r'href="([^"]+primary[^"]+)"', (repo / "repodata" / "repomd.xml").read_text()).group(1)
    data = (repo / href).read_bytes()
    replace_primary(repo, data[: len(data) // 2], "primary.xml.gz")
    out = cli("resolve", str(_manifest(tmp_path, url)), cache=tmp_path / "cache")
    assert out.returncode == 1, out.stderr
    assert "primary metadata cannot be decompressed" in out.stderr
    assert "truncated or damaged" in out.stderr


def test_zstd_metadata_is_read(el7_copy, tmp_path):
    root, url = el7_copy
    repo = root / "el7" / "base"
    href = re.search(r'href="([^"]+primary[^"]+)"', (repo / "repodata" / "repomd.xml").read_text()).group(1)
    plain = gzip.decompress((repo / href).read_bytes())
    replace_primary(repo, zstandard.ZstdCompressor().compress(plain), "primary.xml.zst", plain)
    out = cli("resolve", str(_manifest(tmp_path, url)), "--json", cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    names = {p["name"] for p in json.loads(out.stdout)["packages"]}
    assert {"keepalived", "libnl3", "net-snmp-libs"} <= names


def test_missing_repo_is_a_clear_error(repo_url, tmp_path):
    m = write_manifest(tmp_path, "el7", {"base": f"{repo_url}/el7/base", "epel": f"{repo_url}/el7/no-such-repo"},
                       ["keepalived"])
    out = cli("resolve", str(m), cache=tmp_path / "cache")
    assert out.returncode == 1
    assert "repo epel:" in out.stderr and "HTTP 404" in out.stderr
    assert "--mirror" in out.stderr


def test_mirror_overrides_baseurl(repo_url, tmp_path):
    # the manifest's URLs point at a closed loopback port; --mirror must replace them
    m = write_manifest(tmp_path, "el7", {"base": "http://127.0.0.1:9/centos/$releasever/os/",
                                         "updates": "http://127.0.0.1:9/centos/$releasever/updates/"},
                       ["keepalived"])
    out = cli("resolve", str(m), "--json", "--mirror", f"base={repo_url}/el7/base",
              "--mirror", f"updates={repo_url}/el7/updates", cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    assert "keepalived" in {p["name"] for p in json.loads(out.stdout)["packages"]}
    bad = cli("resolve", str(m), "--mirror", "nosuch=http://127.0.0.1:9/", cache=tmp_path / "cache")
    assert bad.returncode == 1 and "--mirror names repos the manifest does not have: nosuch" in bad.stderr


def test_fetch_writes_verified_rpms_lock_and_sbom(repo_url, fixture_repos, tmp_path):
    urls = fixture_repo_urls(repo_url, "el7")
    m = write_manifest(tmp_path, "el7", urls, ["keepalived = 2.0.20", "mysql-community-server"],
                       local=str(fixture_repos / "el7" / "local"), bootstrap=True)
    out_dir = tmp_path / "dist"
    out = cli("fetch", str(m), "--out", str(out_dir), cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    target = out_dir / "el7"
    lock = json.loads((target / "bundle.lock.json").read_text())
    assert lock["target"]["name"] == "el7" and lock["lock_version"] == 1
    names = {p["name"] for p in lock["packages"]}
    assert {"keepalived", "libnl3", "mysql-community-server", "mysql-community-libs-compat", "python3"} <= names
    for p in lock["packages"]:
        data = (target / p["filename"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == p["sha256"] and len(data) == p["size"]
    assert sorted(os.listdir(target / "rpms")) == sorted(Path(p["filename"]).name for p in lock["packages"])
    assert {Path(b).name.split("-")[0] for b in lock["bootstrap"]} >= {"python3"}
    assert [p["name"] for p in lock["baseline_upgrades"]] == ["glibc", "glibc-common"]
    assert lock["baseline_removals"] == ["mariadb-libs-1:5.5.68-1.el7.x86_64"]
    sbom = json.loads((target / "sbom.cdx.json").read_text())
    assert sbom["bomFormat"] == "CycloneDX" and len(sbom["components"]) == len(lock["packages"])
    # same inputs -> byte-identical lock and SBOM
    first = (target / "bundle.lock.json").read_bytes(), (target / "sbom.cdx.json").read_bytes()
    again = cli("fetch", str(m), "--out", str(out_dir), cache=tmp_path / "cache")
    assert again.returncode == 0, again.stderr
    assert ((target / "bundle.lock.json").read_bytes(), (target / "sbom.cdx.json").read_bytes()) == first


def test_fetch_refuses_an_rpm_whose_checksum_does_not_match(el7_copy, tmp_path):
    root, url = el7_copy
    rpm = next((root / "el7" / "base" / "Packages").glob("libnl3-*.rpm"))
    data = bytearray(rpm.read_bytes())
    data[len(data) // 2] ^= 0xFF
    rpm.write_bytes(bytes(data))
    out_dir = tmp_path / "dist"
    out = cli("fetch", str(_manifest(tmp_path, url)), "--out", str(out_dir), cache=tmp_path / "cache")
    assert out.returncode == 1
    assert "libnl3-3.2.28-4.el7.x86_64: sha256 mismatch" in out.stderr and "file discarded" in out.stderr
    assert not (out_dir / "el7").exists()
    assert [p.name for p in out_dir.iterdir()] == []  # nothing half-written
    assert not list((tmp_path / "cache" / "rpms").glob("libnl3*"))  # and nothing bad cached


def test_fetch_with_unmet_pin_exits_2_and_writes_nothing(repo_url, tmp_path):
    m = write_manifest(tmp_path, "el7", fixture_repo_urls(repo_url, "el7"), ["keepalived = 2.0.20"])
    out_dir = tmp_path / "dist"
    out = cli("fetch", str(m), "--out", str(out_dir), cache=tmp_path / "cache")
    assert out.returncode == 2
    assert "no package matches 'keepalived = 2.0.20'" in out.stderr
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_empty_local_rpms_dir_says_what_to_do(repo_url, tmp_path):
    empty = tmp_path / "local-el7"
    empty.mkdir()
    m = write_manifest(tmp_path, "el7", fixture_repo_urls(repo_url, "el7"), ["keepalived = 2.0.20"], local=str(empty))
    out = cli("resolve", str(m), cache=tmp_path / "cache")
    assert out.returncode == 1
    assert f"local_rpms directory {empty} holds no .rpm files" in out.stderr
    assert "keepalived-2.0.20 build" in out.stderr


def test_rpm_too_new_for_target_rpm_is_refused(repo_url, fixture_repos, tmp_path):
    """An el8 (zstd payload) RPM carried into an el7 bundle: el7's rpm 4.11 cannot install it."""
    local = tmp_path / "local"
    local.mkdir()
    shutil.copy(next((fixture_repos / "el8" / "baseos" / "Packages").glob("iptables-libs-*.rpm")), local)
    m = write_manifest(tmp_path, "el7", {"base": f"{repo_url}/el7/base"}, ["iptables-libs"], local=str(local))
    out_dir = tmp_path / "dist"
    out = cli("fetch", str(m), "--out", str(out_dir), cache=tmp_path / "cache")
    assert out.returncode == 1, out.stdout + out.stderr
    assert "needs rpmlib(PayloadIsZstd)" in out.stderr and "cannot install" in out.stderr
    assert not (out_dir / "el7").exists()


def test_transient_http_errors_are_retried(fixture_repos, tmp_path):
    """A mirror answering 503 twice per file, then 200: metadata still loads (retries with backoff)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    failures: dict[str, int] = {}

    class Flaky(SimpleHTTPRequestHandler):
        def log_message(self, *args):  # noqa: D401
            pass

        def do_GET(self):  # noqa: N802
            failures[self.path] = failures.get(self.path, 0) + 1
            if failures[self.path] <= 2:
                self.send_error(503, "busy")
                return
            super().do_GET()

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Flaky, directory=str(fixture_repos)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        m = manifest_mod.load(write_manifest(tmp_path, "el7", {"base": f"{url}/el7/base"}, ["keepalived"]))
        client = RepoClient(tmp_path / "cache")
        meta = client.load(m.repos[0], m.repos[0].baseurl)
        assert meta.files["primary"].path.exists()
        assert all(count == 3 for count in failures.values()), failures
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_rpm_qa_baseline_gives_the_same_plan_as_the_package_list(repo_url, tmp_path):
    """`[baseline] rpm_qa` (output of `rpm -qa` on a real host: NEVRA without epoch) == packages."""
    urls = fixture_repo_urls(repo_url, "el7")
    by_list = write_manifest(tmp_path, "el7", urls, ["keepalived", "mysql-community-server"], name="bylist")
    first = ha_bundle("resolve", by_list, "--json", cache=tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    plan = json.loads(first.stdout)
    rpm_qa = tmp_path / "host-rpm-qa.txt"
    nevras = [re.sub(r"-\d+:", "-", n) for n in plan_baseline(by_list, tmp_path)]
    rpm_qa.write_text("\n".join(nevras + ["gpg-pubkey-f4a80eb5-53a7ff4b"]) + "\n")
    by_qa = tmp_path / "byqa.toml"
    text = by_list.read_text().replace('name = "bylist"', 'name = "byqa"')
    text = re.sub(r"\[baseline\]\npackages = .*\nrepos = .*\n", f'[baseline]\nrpm_qa = "{rpm_qa}"\n', text)
    by_qa.write_text(text)
    second = ha_bundle("resolve", by_qa, "--json", cache=tmp_path / "cache")
    assert second.returncode == 0, second.stderr
    plan_qa = json.loads(second.stdout)
    assert [p["name"] for p in plan_qa["packages"]] == [p["name"] for p in plan["packages"]]
    assert plan_qa["baseline_removals"] == plan["baseline_removals"] == ["mariadb-libs-1:5.5.68-1.el7.x86_64"]
    # a host package the repos do not know is reported, not silently guessed
    assert any("gpg-pubkey-f4a80eb5-53a7ff4b" in w for w in plan_qa["warnings"])


def plan_baseline(manifest: Path, tmp_path: Path) -> list[str]:
    from builder import plan as plan_mod

    result = plan_mod.resolve_manifest(manifest, cache_dir=tmp_path / "cache", quiet=True)
    return result.resolution.baseline
