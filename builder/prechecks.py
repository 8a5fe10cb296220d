"""Checks that need no network, run before any metadata or RPM is fetched.

A missing gpgkey file, ``--compression zstd`` for el7 or an ``os_ids`` entry with a newline used
to be found only after the whole download. Everything here looks at the manifest, the command
line and this checkout, so a wrong input costs a second, not a fetch.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from builder import exitcodes, outputs, resources
from builder.errors import HaBundleError, ManifestError
from builder.manifest import Manifest
from builder.repos import local_path

# values that end up in the .run header (single-quoted there, but also shown in messages)
_HEADER_SAFE = re.compile(r"^[A-Za-z0-9._+-]{1,64}$")
_VERSION_PATTERN = re.compile(r"^[A-Za-z0-9._+*-]{1,64}$")
MAX_TARGET_NAME = 64


def _manifest_error(m: Manifest, key: str, expected: str, got: object) -> ManifestError:
    return ManifestError("manifest-invalid", f"manifest {m.path.name}: {key} is not valid",
                         [f"file: {m.path}", f"key: {key}", f"expected: {expected}", f"got: {got!r}"],
                         hint="fix the key as described (format: docs/manifest.md)")


def check_manifest(m: Manifest) -> None:
    """Header-safe target values, name lengths, local key files present (resolve, fetch and build)."""
    t = m.target
    if len(t.name) > MAX_TARGET_NAME:
        raise _manifest_error(m, "target.name", f"at most {MAX_TARGET_NAME} characters (it names files)",
                              t.name[:80] + "...")
    for key, values in (("target.os_ids", t.os_ids), ("target.releasever", (t.releasever,)),
                        ("target.basearch", (t.basearch,)), ("target.os_major", (t.os_major,))):
        for value in values:
            if not _HEADER_SAFE.match(value):
                raise _manifest_error(m, key, "letters, digits, '.', '_', '+' or '-' (1-64 characters)", value)
    for value in t.os_versions:        # VERSION_ID patterns: '*' is a wildcard
        if not _VERSION_PATTERN.match(value):
            raise _manifest_error(m, "target.os_versions", "letters, digits, '.', '_', '+', '-' or '*' (1-64 "
                                  "characters)", value)
    keys = [(f"repo {r.id} gpgkey", m.substitute(r.gpgkey)) for r in m.repos if r.gpgkey]
    if m.install.local_rpms_gpgkey:
        keys.append(("install.local_rpms_gpgkey", m.install.local_rpms_gpgkey))
    for what, url in keys:
        local = local_path(url)
        if local is not None and not local.is_file():
            raise HaBundleError("gpgkey-missing", f"{what}: {url} does not exist", [f"manifest: {m.path}"],
                                hint="fix the gpgkey path in the manifest (relative to the manifest)")


def _gpgkeys_named(m: Manifest) -> bool:
    return bool(m.install.local_rpms_gpgkey) or any(r.gpgkey for r in m.repos)


def check_build(m: Manifest, out: Path, compression: str | None, site: Path | None) -> None:
    """What a fetch or build needs locally (after check_manifest): tools, outputs, payload code, compression."""
    from builder import bundle

    if _gpgkeys_named(m) and shutil.which("rpmkeys") is None:
        raise HaBundleError("rpmkeys-missing", "the manifest names gpgkeys but rpmkeys is not installed",
                            hint="install rpm on the build host (Debian: apt-get install rpm)")
    outputs.prepare_out(out, m.target.name)
    if compression is None:
        return
    bundle.check_compression(compression, {"name": m.target.name, "os_major": m.target.os_major})
    bundle.onsite_members()  # raises onsite-missing when this installation lacks the payload code
    resources.header_template()
    if site is not None and not site.is_file():
        raise HaBundleError("site-file-missing", f"--site {site}: no such file",
                            hint="give the site.toml written by `site init`", exit_code=exitcodes.INPUT)
