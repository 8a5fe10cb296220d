"""Throw-away GnuPG keys for the signing tests (real gpg, no passphrase)."""

import subprocess
from pathlib import Path


def make_key(home: Path, name: str) -> tuple[str, Path]:
    """A passphrase-less RSA-3072 signing key in its own GnuPG home; (fingerprint, public key file).

    RSA-3072 with SHA-256: what el7's GnuPG 2.0 and RHEL 9's policy both accept."""
    home.mkdir(mode=0o700, parents=True)
    gpg = ["gpg", "--batch", "--homedir", str(home)]
    subprocess.run(gpg + ["--passphrase", "", "--quick-gen-key", f"{name} <{name}@example.invalid>",
                          "rsa3072", "sign", "never"], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    listing = subprocess.run(gpg + ["--with-colons", "--list-secret-keys"], check=True, stdout=subprocess.PIPE,
                             universal_newlines=True).stdout
    fpr = [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")][0]
    public = home.parent / f"{name}.asc"
    public.write_bytes(subprocess.run(gpg + ["--armor", "--export", fpr], check=True,
                                      stdout=subprocess.PIPE).stdout)
    return fpr, public


def detach_sign(home: Path, fingerprint: str, path: Path) -> Path:
    """path.asc: a detached armored signature by this key (as a stranger or the builder would)."""
    sig = Path(str(path) + ".asc")
    subprocess.run(["gpg", "--batch", "--yes", "--homedir", str(home), "--local-user", fingerprint,
                    "--armor", "--detach-sign", "--output", str(sig), str(path)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return sig
