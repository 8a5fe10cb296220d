"""GPG: packages from a repo that names a gpgkey must carry a good signature by that key."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli import run as ha_bundle

from tests.fixtures.serve import RepoServer
from tests.manifest_util import write_manifest


def _gpg_key(home: Path, name: str) -> Path:
    home.mkdir(mode=0o700, parents=True)
    env = dict(os.environ, GNUPGHOME=str(home))
    subprocess.run(["gpg", "--batch", "--passphrase", "", "--quick-gen-key", f"{name} <{name}@test.invalid>",
                    "rsa2048", "sign", "never"], env=env, check=True, capture_output=True)
    key = home / "public.asc"
    key.write_bytes(subprocess.run(["gpg", "--armor", "--export", name], env=env, check=True,
                                   capture_output=True).stdout)
    return key


def _stop_agents(*homes: Path) -> None:
    """gpg starts a gpg-agent per home directory: stop the ones these tests started."""
    for home in homes:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "gpg-agent"], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def signed_repos(fixture_repos: Path, tmp_path_factory):
    """el7 base signed with key A (and createrepo'd again); updates left unsigned."""
    tmp = tmp_path_factory.mktemp("signed")
    shutil.copytree(fixture_repos / "el7" / "base", tmp / "srv" / "base")
    shutil.copytree(fixture_repos / "el7" / "updates", tmp / "srv" / "updates")
    key_a = _gpg_key(tmp / "gpg-a", "hbtesta")
    key_b = _gpg_key(tmp / "gpg-b", "hbtestb")
    rpms = sorted(str(p) for p in (tmp / "srv" / "base" / "Packages").glob("*.rpm"))
    subprocess.run(["rpmsign", "--addsign", "--define", "_gpg_name hbtesta", "--define", f"_gpg_path {tmp / 'gpg-a'}",
                    "--define", "__gpg /usr/bin/gpg", *rpms], check=True, capture_output=True,
                   env=dict(os.environ, GNUPGHOME=str(tmp / "gpg-a")))
    subprocess.run(["createrepo_c", "--quiet", str(tmp / "srv" / "base")], check=True)
    try:
        with RepoServer(tmp / "srv") as server:
            yield server.url, key_a, key_b
    finally:
        _stop_agents(tmp / "gpg-a", tmp / "gpg-b")


def _fetch(tmp_path: Path, manifest: Path) -> subprocess.CompletedProcess[str]:
    return ha_bundle("fetch", manifest, "--out", tmp_path / "dist", cache=tmp_path / "cache")


def _manifest(tmp_path: Path, url: str, key: Path, repo: str = "base") -> Path:
    m = write_manifest(tmp_path, "el7", {"base": f"{url}/base", "updates": f"{url}/updates"}, ["keepalived"])
    text = m.read_text().replace(f'baseurl = "{url}/{repo}"', f'baseurl = "{url}/{repo}"\ngpgkey = "{key}"')
    m.write_text(text)
    return m


def test_signed_by_the_repo_key_passes(signed_repos, tmp_path):
    url, key_a, _ = signed_repos
    out = _fetch(tmp_path, _manifest(tmp_path, url, key_a))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "dist" / "el7" / "bundle.lock.json").exists()


def test_signed_by_another_key_is_refused(signed_repos, tmp_path):
    url, _, key_b = signed_repos
    out = _fetch(tmp_path, _manifest(tmp_path, url, key_b))
    assert out.returncode == 1
    assert "RPMs failed the GPG signature check" in out.stderr
    assert "keepalived-1.3.5-19.el7.x86_64 (repo base): bad or unknown signature" in out.stderr
    assert not (tmp_path / "dist" / "el7").exists()


def test_unsigned_package_from_a_repo_with_a_key_is_refused(signed_repos, tmp_path):
    url, key_a, _ = signed_repos
    m = write_manifest(tmp_path, "el7", {"base": f"{url}/base", "updates": f"{url}/updates"},
                       ["python3"])  # python3 and glibc come from the unsigned updates repo
    m.write_text(m.read_text().replace(f'baseurl = "{url}/updates"', f'baseurl = "{url}/updates"\ngpgkey = "{key_a}"'))
    out = _fetch(tmp_path, m)
    assert out.returncode == 1
    assert "python3-3.6.8-19.el7_9.x86_64 (repo updates): not signed, but the repo has a gpgkey" in out.stderr


def test_missing_key_file_is_a_clear_error(signed_repos, tmp_path):
    url, _, _ = signed_repos
    out = _fetch(tmp_path, _manifest(tmp_path, url, tmp_path / "no-such.asc"))
    assert out.returncode == 1
    assert "gpgkey" in out.stderr and "does not exist" in out.stderr


@pytest.fixture(scope="module")
def signed_local(fixture_repos: Path, tmp_path_factory):
    """el7 repos as they are, plus a local_rpms directory whose keepalived 2.0.20 is signed with key A."""
    tmp = tmp_path_factory.mktemp("signed-local")
    key_a = _gpg_key(tmp / "gpg-a", "hblocala")
    key_b = _gpg_key(tmp / "gpg-b", "hblocalb")
    shutil.copytree(fixture_repos / "el7" / "local", tmp / "signed")
    shutil.copytree(fixture_repos / "el7" / "local", tmp / "unsigned")
    rpms = sorted(str(p) for p in (tmp / "signed").glob("*.rpm"))
    subprocess.run(["rpmsign", "--addsign", "--define", "_gpg_name hblocala", "--define", f"_gpg_path {tmp / 'gpg-a'}",
                    "--define", "__gpg /usr/bin/gpg", *rpms], check=True, capture_output=True,
                   env=dict(os.environ, GNUPGHOME=str(tmp / "gpg-a")))
    yield fixture_repos, tmp, key_a, key_b
    _stop_agents(tmp / "gpg-a", tmp / "gpg-b")


def _local_manifest(tmp_path: Path, repos: Path, local: Path, key: Path | None) -> Path:
    m = write_manifest(tmp_path, "el7", {"base": str(repos / "el7" / "base"), "updates": str(repos / "el7" / "updates")},
                       ["keepalived = 2.0.20"], local=str(local))
    if key is not None:
        m.write_text(m.read_text().replace("local_rpms = ", f'local_rpms_gpgkey = "{key}"\nlocal_rpms = '))
    return m


def test_local_rpms_signed_by_the_given_key_pass(signed_local, tmp_path):
    repos, tmp, key_a, _ = signed_local
    out = _fetch(tmp_path, _local_manifest(tmp_path, repos, tmp / "signed", key_a))
    assert out.returncode == 0, out.stderr
    assert "UNSIGNED" not in out.stderr


@pytest.mark.parametrize("which", ["signed", "unsigned"])
def test_local_rpms_not_signed_by_the_given_key_are_refused(signed_local, tmp_path, which):
    repos, tmp, key_a, key_b = signed_local
    out = _fetch(tmp_path, _local_manifest(tmp_path, repos, tmp / which, key_b if which == "signed" else key_a))
    assert out.returncode == 1, out.stderr
    assert "keepalived-2.0.20-1.el7.x86_64 (repo @local)" in out.stderr
    assert not (tmp_path / "dist" / "el7").exists()


def test_local_rpms_without_a_key_are_listed_loudly_as_unsigned(signed_local, tmp_path):
    repos, tmp, _, _ = signed_local
    out = _fetch(tmp_path, _local_manifest(tmp_path, repos, tmp / "unsigned", None))
    assert out.returncode == 0, out.stderr
    assert "WARNING: 1 local RPMs are NOT signature-checked" in out.stderr
    assert "UNSIGNED keepalived-2.0.20-1.el7.x86_64.rpm" in out.stderr
    import json

    record = json.loads((tmp_path / "dist" / "el7" / "build-record.json").read_text())
    assert record["unsigned_local_rpms"] == ["keepalived-2.0.20-1.el7.x86_64.rpm"]
