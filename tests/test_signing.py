"""Signed installers (issue 16, item 1), with real gpg and throw-away RSA-3072 keys:
`ha-bundle build --sign` writes <run>.asc over the whole file and records the signer in the
lock; `ha-bundle verify --signature --key` and the header's `--verify-signature KEYFILE` accept
the genuine file and refuse a tampered one, a foreign signature and a missing signature, before
anything runs."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.runfile_helpers import build_fixture_repos
from tests.runfile_helpers import run_sh
from tests.signing_helpers import detach_sign, make_key

pytestmark = pytest.mark.skipif(shutil.which("gpg") is None, reason="gpg not installed")


def ha_bundle(*args, cwd=REPO_ROOT):
    return subprocess.run([sys.executable, "-c", "from builder.cli import main; main()", *args], cwd=str(cwd),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)


@pytest.fixture(scope="module")
def signed(tmp_path_factory):
    base = tmp_path_factory.mktemp("signed")
    build_fixture_repos()
    fpr, public = make_key(base / "builder-home", "builder")
    other_fpr, other_public = make_key(base / "other-home", "stranger")
    out = ha_bundle("build", str(REPO_ROOT / "manifests" / "demo.toml"), "--out", str(base / "dist"),
                    "--sign", fpr, "--gpg-homedir", str(base / "builder-home"))
    assert out.returncode == 0, out.stdout
    run = base / "dist" / "ha-installer-demo.run"
    return {"base": base, "run": run, "fpr": fpr, "public": public, "other": other_public,
            "other_home": base / "other-home", "other_fpr": other_fpr, "out": out.stdout}


def copy_pair(signed, dest: Path, with_sig=True) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    run = dest / "ha-installer-demo.run"
    shutil.copy(signed["run"], run)
    if with_sig:
        shutil.copy(str(signed["run"]) + ".asc", str(run) + ".asc")
    return run


def test_build_signs_the_whole_file_and_records_the_signer(signed):
    assert Path(str(signed["run"]) + ".asc").read_text().startswith("-----BEGIN PGP SIGNATURE-----")
    assert "signed by" in signed["out"]
    lock = json.loads((signed["run"].parent / "demo" / "bundle.lock.json").read_text())
    assert lock["signer"]["fingerprint"] == signed["fpr"]
    assert "builder@example.invalid" in lock["signer"]["uid"]


def test_the_genuine_file_verifies_on_both_sides(signed):
    out = ha_bundle("verify", "--signature", "--key", str(signed["public"]), str(signed["run"]))
    assert out.returncode == 0, out.stdout
    assert "signature OK (key %s)" % signed["fpr"] in out.stdout
    header = run_sh("dash", signed["run"], "--verify-signature", str(signed["public"]), "--check")
    assert header.returncode == 0, header.stderr
    assert "Signature OK: made by key %s" % signed["fpr"] in header.stderr


def test_a_tampered_file_is_refused_before_anything_runs(signed, tmp_path):
    run = copy_pair(signed, tmp_path / "t")
    data = bytearray(run.read_bytes())
    data[-100] ^= 1
    run.write_bytes(bytes(data))
    out = ha_bundle("verify", "--signature", "--key", str(signed["public"]), str(run))
    assert out.returncode == 3 and "the signature does not verify" in out.stdout, out.stdout
    target = tmp_path / "x"
    header = run_sh("dash", run, "--verify-signature", str(signed["public"]), "--noexec", "--target", str(target))
    assert header.returncode == 3, header.stderr
    assert "the signature does not verify with" in header.stderr and "do not run it" in header.stderr
    assert not target.exists()


def test_a_foreign_signature_is_refused(signed, tmp_path):
    run = copy_pair(signed, tmp_path / "f", with_sig=False)
    detach_sign(signed["other_home"], signed["other_fpr"], run)
    out = ha_bundle("verify", "--signature", "--key", str(signed["public"]), str(run))
    assert out.returncode == 3 and "signed by another key" in out.stdout, out.stdout
    header = run_sh("dash", run, "--verify-signature", str(signed["public"]), "--check")
    assert header.returncode == 3 and "signed by another key" in header.stderr, header.stderr
    # with the stranger's own key the same file verifies: the key, not the file, is the question
    assert run_sh("dash", run, "--verify-signature", str(signed["other"]), "--check").returncode == 0


def test_a_missing_signature_is_refused(signed, tmp_path):
    run = copy_pair(signed, tmp_path / "m", with_sig=False)
    out = ha_bundle("verify", "--signature", "--key", str(signed["public"]), str(run))
    assert out.returncode == 3 and "has no signature" in out.stdout, out.stdout
    header = run_sh("dash", run, "--verify-signature", str(signed["public"]), "--check", env={"LANG": "zh_CN.UTF-8"})
    assert header.returncode == 3 and "没有签名" in header.stderr, header.stderr


def test_an_unsigned_rebuild_removes_the_stale_signature(signed, tmp_path):
    out_dir = tmp_path / "dist"
    first = ha_bundle("build", str(REPO_ROOT / "manifests" / "demo.toml"), "--out", str(out_dir),
                      "--sign", signed["fpr"], "--gpg-homedir", str(signed["base"] / "builder-home"))
    assert first.returncode == 0, first.stdout
    assert (out_dir / "ha-installer-demo.run.asc").exists()
    again = ha_bundle("build", str(REPO_ROOT / "manifests" / "demo.toml"), "--out", str(out_dir))
    assert again.returncode == 0, again.stdout
    assert not (out_dir / "ha-installer-demo.run.asc").exists()


def test_an_unknown_signing_key_fails_before_any_download(tmp_path):
    out = ha_bundle("build", str(REPO_ROOT / "manifests" / "demo.toml"), "--out", str(tmp_path / "dist"),
                    "--sign", "nobody@example.invalid", "--gpg-homedir", str(tmp_path))
    assert out.returncode == 1 and "no secret key of that name" in out.stdout, out.stdout
    assert not (tmp_path / "dist" / "ha-installer-demo.run").exists()


def test_a_signature_by_a_revoked_key_is_refused(signed, tmp_path):
    """gpg still reports VALIDSIG for a revoked key (with REVKEYSIG, not GOODSIG): not good enough."""
    home = tmp_path / "revoker"
    home.mkdir(mode=0o700)
    gpg = ["gpg", "--batch", "--homedir", str(home)]
    cert = (signed["base"] / "builder-home" / "openpgp-revocs.d" / (signed["fpr"] + ".rev")).read_text()
    revocation = tmp_path / "revocation.asc"
    revocation.write_text(cert.replace(":-----BEGIN PGP PUBLIC KEY BLOCK-----", "-----BEGIN PGP PUBLIC KEY BLOCK-----"))
    for path in (signed["public"], revocation):
        subprocess.run(gpg + ["--import", str(path)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    revoked = tmp_path / "revoked.asc"
    revoked.write_bytes(subprocess.run(gpg + ["--armor", "--export", signed["fpr"]], check=True,
                                       stdout=subprocess.PIPE).stdout)
    run = copy_pair(signed, tmp_path / "r")
    out = ha_bundle("verify", "--signature", "--key", str(revoked), str(run))
    assert out.returncode == 3 and "the signature does not verify" in out.stdout, out.stdout
    header = run_sh("dash", run, "--verify-signature", str(revoked), "--check")
    assert header.returncode == 3 and "the signature does not verify with" in header.stderr, header.stderr
    # the same file with the key before its revocation: fine
    assert run_sh("dash", run, "--verify-signature", str(signed["public"]), "--check").returncode == 0
