"""Detached GnuPG signatures over the whole .run (header included), made with the build
engineer's own key, and their verification against a given public key.

A signature over the payload alone (makeself's ``--sign``) trusts an unverified header; ours
covers every byte of the file. RSA-3072 with SHA-256 verifies on el7's GnuPG 2.0.22 and on
RHEL 9 (which rejects SHA-1); the signature is ASCII-armored beside the file: ``<run>.asc``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from builder import exitcodes
from builder.errors import BundleError, HaBundleError

SUFFIX = ".asc"


def signature_path(run_path: Path) -> Path:
    return run_path.with_name(run_path.name + SUFFIX)


def _gpg(args: list[str], homedir: Path | None, input_bytes: bytes | None = None) -> subprocess.CompletedProcess:
    argv = ["gpg", "--batch", "--no-tty"] + (["--homedir", str(homedir)] if homedir else []) + args
    try:
        return subprocess.run(argv, input=input_bytes, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    except FileNotFoundError:
        raise HaBundleError("gpg-missing", "gpg is not installed on this build host",
                            hint="install GnuPG (apt install gnupg / dnf install gnupg2)",
                            exit_code=exitcodes.INPUT) from None


def signer_of(keyid: str, homedir: Path | None = None) -> dict[str, str]:
    """{"fingerprint", "uid"} of the secret key KEYID names; HaBundleError when there is none."""
    proc = _gpg(["--with-colons", "--list-secret-keys", "--", keyid], homedir)
    fpr = uid = ""
    for line in proc.stdout.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if fields[0] == "fpr" and not fpr:
            fpr = fields[9]
        elif fields[0] == "uid" and not uid:
            uid = fields[9]
    if proc.returncode != 0 or not fpr:
        raise HaBundleError("sign-key-unknown", f"--sign {keyid}: no secret key of that name in the keyring",
                            [proc.stderr.decode("utf-8", "replace").strip()[-300:]],
                            hint="gpg --list-secret-keys shows the keys; pass --gpg-homedir for another keyring",
                            exit_code=exitcodes.INPUT)
    return {"fingerprint": fpr, "uid": uid}


def sign(run_path: Path, fingerprint: str, homedir: Path | None = None) -> Path:
    """Write <run>.asc, a detached SHA-256 signature by the key with this fingerprint."""
    out = signature_path(run_path)
    proc = _gpg(["--yes", "--local-user", fingerprint + "!", "--digest-algo", "SHA256", "--armor",
                 "--detach-sign", "--output", str(out), str(run_path)], homedir)
    if proc.returncode != 0 or not out.is_file():
        raise HaBundleError("sign-failed", f"gpg could not sign {run_path.name}",
                            [proc.stderr.decode("utf-8", "replace").strip()[-300:]],
                            hint="check the key (gpg --list-secret-keys) and its passphrase agent",
                            exit_code=exitcodes.INPUT)
    return out


def verify(run_path: Path, key_file: Path) -> str:
    """The fingerprint that signed <run>.asc, which must be a key of key_file; BundleError
    (exit 3, damaged/untrusted) otherwise. Uses a throw-away keyring holding only key_file."""
    sig = signature_path(run_path)
    if not sig.is_file():
        raise BundleError("signature-missing", f"{run_path.name} has no signature ({sig.name} is missing)",
                          hint="copy the .asc file that came with the installer, or ask the build team",
                          exit_code=exitcodes.DAMAGED)
    with tempfile.TemporaryDirectory(prefix="hb-gpg-") as home:
        os.chmod(home, 0o700)
        imported = _gpg(["--import", str(key_file)], Path(home))
        listed = _gpg(["--with-colons", "--fingerprint"], Path(home))
        trusted = {line.split(":")[9] for line in listed.stdout.decode().splitlines() if line.startswith("fpr:")}
        if imported.returncode != 0 or not trusted:
            raise HaBundleError("signature-key-bad", f"{key_file}: not a public key gpg can read",
                                hint="pass the build team's public key (gpg --export --armor KEYID)",
                                exit_code=exitcodes.INPUT)
        proc = _gpg(["--status-fd", "1", "--verify", str(sig), str(run_path)], Path(home))
    status = proc.stdout.decode("utf-8", "replace").splitlines()
    # VALIDSIG counts only with GOODSIG: an expired or revoked key gives EXPKEYSIG/REVKEYSIG
    good = any(line.startswith("[GNUPG:] GOODSIG ") for line in status)
    valid = [line.split() for line in status if line.startswith("[GNUPG:] VALIDSIG ")] if good else []
    signers = {valid[0][2], valid[0][-1]} if valid else set()
    if proc.returncode != 0 or not valid or not signers & trusted:
        why = "it was changed after signing, or signed by another key" if not valid else "signed by another key"
        raise BundleError("signature-bad", f"{run_path.name}: the signature does not verify with {key_file.name} ({why})",
                          [proc.stderr.decode("utf-8", "replace").strip()[-300:]],
                          hint="do not run this file; get the installer and its .asc again from the build team",
                          exit_code=exitcodes.DAMAGED)
    return valid[0][-1]
