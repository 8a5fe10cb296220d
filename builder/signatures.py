"""GPG signature check of downloaded RPMs against the repo's ``gpgkey`` (rpmkeys, like dnf).

Only repos that name a gpgkey are checked; for those, an unsigned RPM or a bad/unknown
signature is an error. The keys go into a throw-away rpm keyring, never the build host's.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from builder.errors import FetchError
from builder.repos import RepoClient, local_path
from builder.packages import ResolvedPackage


def _key_file(client: RepoClient, url: str, repo_id: str, workdir: Path) -> Path:
    local = local_path(url)
    if local is not None:
        if not local.is_file():
            raise FetchError("gpgkey-missing", f"repo {repo_id}: gpgkey {url} does not exist",
                             hint="fix the repo's gpgkey path in the manifest (relative to the manifest)")
        return local
    dest = workdir / f"{repo_id}.key"
    client.download(url, dest, repo_id)
    return dest


def verify(packages: list[ResolvedPackage], rpm_dir: Path, gpgkeys: dict[str, str], client: RepoClient) -> int:
    """Check every package from a repo with a gpgkey; returns how many were checked."""
    wanted = [p for p in packages if gpgkeys.get(p.repo)]
    if not wanted:
        return 0
    if shutil.which("rpmkeys") is None:
        raise FetchError("rpmkeys-missing", "the manifest names gpgkeys but rpmkeys is not installed",
                         hint="install rpm on the build host (Debian: apt-get install rpm)")
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="hb-keys-") as tmp:
        workdir = Path(tmp)
        keyring = workdir / "root"
        keyring.mkdir()
        for repo_id, url in sorted({(p.repo, gpgkeys[p.repo]) for p in wanted}):
            key = _key_file(client, url, repo_id, workdir)
            imp = subprocess.run(["rpmkeys", "--root", str(keyring), "--import", str(key)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if imp.returncode != 0:
                raise FetchError("gpgkey-invalid", f"repo {repo_id}: gpgkey {url} cannot be imported",
                                 [imp.stdout.strip()], hint="check that the file is an ASCII-armored public key")
        for pkg in wanted:
            path = rpm_dir / pkg.filename
            out = subprocess.run(["rpmkeys", "--root", str(keyring), "--checksig", str(path)],
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            line = out.stdout.strip().splitlines()[-1] if out.stdout.strip() else ""
            if out.returncode != 0:
                failures.append(f"{pkg.nevra} (repo {pkg.repo}): bad or unknown signature: {line}")
            elif "signatures" not in line:
                failures.append(f"{pkg.nevra} (repo {pkg.repo}): not signed, but the repo has a gpgkey")
    if failures:
        raise FetchError("signature-check-failed", f"{len(failures)} RPMs failed the GPG signature check",
                         failures, hint="make sure the repo's gpgkey is the key its packages are signed with; "
                                        "never bundle packages you cannot verify")
    return len(wanted)
