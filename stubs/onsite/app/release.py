"""Releases side by side: ``<prefix>/releases/<version>`` and a ``current`` link.

A release is copied from the payload into a partial directory, every file checked against the
lock's sha256 and size while it is copied, then renamed into place: a release directory exists
whole or not at all. Releases are root-owned and read-only to the app (its writable state lives
in the data directories). ``current`` is switched with one rename, so a later release can switch
and an older .run switch back.
"""

import hashlib
import os
import shutil
import stat

from onsite.core import fileops, state
from onsite.core.errors import BAD_INPUT, OnsiteError

PAYLOAD_DIR = "app"          # payload app/<version>/<path> (builder/app.py)
CHUNK = 1 << 20


def releases_dir(prefix):
    return os.path.join(prefix, "releases")


def release_dir(prefix, version):
    return os.path.join(releases_dir(prefix), version)


def current_link(prefix):
    return os.path.join(prefix, "current")


def current_version(prefix):
    """The version ``current`` points at, or None."""
    try:
        target = os.readlink(current_link(prefix))
    except OSError:
        return None
    parts = target.rstrip("/").split("/")
    return parts[-1] if len(parts) == 2 and parts[0] == "releases" else None


def differences(directory, spec):
    """Files of the release that are missing or differ in directory (empty: the same release)."""
    out = []
    for rel, sha, size, _mode in spec.files:
        path = os.path.join(directory, rel)
        try:
            info = os.lstat(path)
        except OSError:
            out.append(rel)
            continue
        if not stat.S_ISREG(info.st_mode) or info.st_size != size or fileops.sha256_of(path, CHUNK) != sha:
            out.append(rel)
    return out


def _copy_checked(src, dest, sha, size, mode):
    """Copy one payload file, refusing anything but a regular file with the locked content."""
    try:
        info = os.lstat(src)
    except OSError:
        raise OnsiteError("app-payload-missing", {"path": src}, exit_code=BAD_INPUT)
    if not stat.S_ISREG(info.st_mode) or info.st_size != size:
        raise OnsiteError("app-payload-differs", {"path": src}, exit_code=BAD_INPUT)
    digest = hashlib.sha256()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with open(src, "rb") as source, os.fdopen(fd, "wb") as out:
        for block in iter(lambda: source.read(CHUNK), b""):
            digest.update(block)
            out.write(block)
    if digest.hexdigest() != sha:
        raise OnsiteError("app-payload-differs", {"path": src}, exit_code=BAD_INPUT)
    os.chmod(dest, mode)


def install(spec, prefix, payload_root):
    """Put the bundle's release in place; returns True when it copied it. A directory of that
    version with other content is never replaced (someone changed it: it stays for them)."""
    target = release_dir(prefix, spec.version)
    if os.path.isdir(target) and not os.path.islink(target):
        wrong = differences(target, spec)
        if not wrong:
            return False
        raise OnsiteError("app-release-differs", {"path": target, "count": len(wrong)}, context=wrong[:10],
                          exit_code=BAD_INPUT)
    if os.path.lexists(target):
        raise OnsiteError("app-release-differs", {"path": target, "count": 1}, exit_code=BAD_INPUT)
    source = os.path.join(payload_root, PAYLOAD_DIR, spec.version)
    partial = target + ".partial"
    if os.path.lexists(partial):          # left by a run that was killed while copying
        shutil.rmtree(partial)
    state.append("app_releases", target)   # journalled first: uninstall removes it
    os.makedirs(partial, 0o755)
    for rel, sha, size, mode in spec.files:
        dest = os.path.join(partial, rel)
        parent = os.path.dirname(dest)
        if not os.path.isdir(parent):
            os.makedirs(parent, 0o755)
        _copy_checked(os.path.join(source, rel), dest, sha, size, mode)
    for top, dirs, _files in os.walk(partial):
        for name in dirs:
            os.chmod(os.path.join(top, name), 0o755)
    os.chmod(partial, 0o755)
    os.rename(partial, target)
    return True


def switch(prefix, version):
    """Point ``current`` at releases/<version> (one rename); returns the old version or False
    when it already points there."""
    old = current_version(prefix)
    if old == version:
        return False
    link = current_link(prefix)
    if os.path.lexists(link) and not os.path.islink(link):
        raise OnsiteError("app-current-not-link", {"path": link}, exit_code=BAD_INPUT)
    if not os.path.lexists(link):
        state.append("created", link)      # journalled first: uninstall removes the link
    tmp = link + ".new"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink("releases/" + version, tmp)
    os.rename(tmp, link)
    return old or ""


def installed_versions(prefix):
    try:
        names = os.listdir(releases_dir(prefix))
    except OSError:
        return []
    return sorted(n for n in names if not n.endswith(".partial")
                  and os.path.isdir(os.path.join(releases_dir(prefix), n)))
