"""Never trust a name, path or size from a mirror: hrefs stay inside their repo, names are NEVRAs.

- ``contained_url``: a metadata href may only name a file under its repo's baseurl: same scheme,
  same host, no ``..`` segment (also not percent-encoded), no control characters; for local repos
  the real path (symlinks resolved) must stay under the repo's real directory.
- ``unsafe_fields``: name, version, release and arch use rpm's own safe characters only, so a
  payload file name, a lock entry, an SBOM purl or a header list can never carry shell syntax.
- ``header_mismatch``: the downloaded RPM's own header must say the NEVRA the metadata said.
- ``rpm_filename``: the one place payload file names come from (the verified NEVRA).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from builder import rpmheader
from builder.errors import RepoError

# rpm's own name/version/release characters (plus '^' and '~' of versions); never a shell metachar
SAFE_FIELD = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~^-]*$")
SAFE_EPOCH = re.compile(r"^[0-9]{1,10}$")
MAX_FIELD = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f\\]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def _local_dir(url: str) -> Path | None:
    parsed = urlsplit(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme == "" or len(parsed.scheme) == 1:
        return Path(url)
    return None


def href_problem(baseurl: str, href: str) -> str:
    """Why ``href`` may not be fetched from the repo at ``baseurl`` ('' when it may)."""
    if not href:
        return "the href is empty"
    if _CONTROL.search(href) or _CONTROL.search(unquote(href)):
        return "the href holds control characters or backslashes"
    if "?" in href or "#" in href:
        return "the href holds a query or fragment"
    segments = unquote(urlsplit(href).path).split("/")
    if ".." in segments:
        return "the href climbs out with '..'"
    base = baseurl if baseurl.endswith("/") else baseurl + "/"
    joined = urljoin(base, href)
    b, j = urlsplit(base), urlsplit(joined)
    scheme = href.split(":", 1)[0].lower() if _SCHEME.match(href) else ""
    if len(scheme) > 1 and scheme != b.scheme:
        return f"the href changes the scheme to {scheme}:"
    if (j.scheme, j.netloc) != (b.scheme, b.netloc):
        return f"the href points at another host ({j.netloc or 'local file'})"
    if not j.path.startswith(b.path):
        return "the href points outside the repo's baseurl"
    local = _local_dir(base)
    if local is not None:
        target = _local_dir(joined)
        root = os.path.realpath(local)
        real = os.path.realpath(target) if target is not None else ""
        if os.path.commonpath([root, real or "/"]) != root:
            return "the href (after symlinks) points outside the repo's directory"
    return ""


def contained_url(baseurl: str, href: str, repo_id: str, what: str) -> str:
    """The URL of ``href`` inside the repo, or RepoError (nothing is fetched)."""
    problem = href_problem(baseurl, href)
    if problem:
        raise RepoError("href-outside-repo", f"repo {repo_id}: {what} has a location outside the repo; refused",
                        [f"href: {href!r}", f"baseurl: {baseurl}", problem],
                        hint="the repo metadata is hostile or broken: do not use this mirror "
                             "(or point --mirror ID=URL at a trustworthy copy)")
    base = baseurl if baseurl.endswith("/") else baseurl + "/"
    return urljoin(base, href)


def unsafe_fields(name: str, epoch: str, version: str, release: str, arch: str) -> list[str]:
    """Which NEVRA fields are not plain rpm characters (empty list: all safe)."""
    bad = [f"{label}={value!r}" for label, value in (("name", name), ("version", version), ("release", release),
                                                     ("arch", arch))
           if not SAFE_FIELD.match(value) or len(value) > MAX_FIELD]
    if epoch not in ("", "0") and not SAFE_EPOCH.match(epoch):
        bad.append(f"epoch={epoch!r}")
    return bad


def rpm_filename(name: str, version: str, release: str, arch: str) -> str:
    """``name-version-release.arch.rpm``: the payload name, built from verified fields only."""
    return f"{name}-{version}-{release}.{arch}.rpm"


def header_nevra(path: Path) -> tuple[str, str, str, str, str]:
    """(name, epoch, version, release, arch) as the RPM file's own header says (ValueError if unreadable)."""
    h = rpmheader.read(path)
    epoch = h.get("serial", h.get("epoch"))  # rpmfile names RPMTAG_EPOCH (1003) "serial"
    epoch_text = "0" if epoch in (None, b"", "") else rpmheader.text(epoch[0] if isinstance(epoch, list) else epoch)
    arch = "src" if h.get("sourcepackage") else rpmheader.text(h.get("arch"))
    t = rpmheader.text
    return t(h.get("name")), epoch_text, t(h.get("version")), t(h.get("release")), arch


def header_mismatch(path: Path, name: str, epoch: str, version: str, release: str, arch: str) -> str:
    """'' when the RPM's header carries exactly this NEVRA, else what differs."""
    try:
        got = header_nevra(path)
    except ValueError as exc:
        return f"its RPM header cannot be read ({exc})"
    want = (name, epoch or "0", version, release, arch)
    if got != want:
        fields = ("name", "epoch", "version", "release", "arch")
        diffs = [f"{f} {g!r} (metadata says {w!r})" for f, g, w in zip(fields, got, want) if g != w]
        return "its RPM header says " + ", ".join(diffs)
    return ""
