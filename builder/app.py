"""The app release a bundle carries: read it once from the build engineer's directory or tarball,
contained and validated, into the staging directory; list it file by file for the lock.

A release is input we do not control (a colleague's tarball): names are checked like mirror
hrefs (relative, no '..', no control characters, sane lengths), only regular files and
directories are taken (a symlink, device or hard link is refused with its name, never followed),
and its size is bounded. What lands in the payload is the staged copy, verified against the lock
at assembly time like the RPMs.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from builder.errors import BundleError
from builder.manifest import App

STAGE_DIR = "app"              # staging/app/<path>; payload app/<version>/<path>
MAX_FILES = 50_000
MAX_BYTES = 2 << 30            # 2 GiB: a web app release, not a disk image
_PART_RE = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,255}$")


@dataclass(frozen=True)
class AppFile:
    path: str                  # relative, '/'-separated
    sha256: str
    size: int
    mode: int                  # 0o755 for executables, else 0o644

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "size": self.size, "mode": self.mode}


def _fail(app: App, what: str, context: list[str] | None = None) -> BundleError:
    return BundleError("app-source-bad", f"app release {app.source}: {what}", context or [],
                       hint="give [app] source a directory or .tar.gz of regular files (docs/manifest.md)")


def check_name(app: App, name: str) -> str:
    """A release-relative path we accept, normalised; BundleError otherwise."""
    text = name[2:] if name.startswith("./") else name
    parts = text.rstrip("/").split("/")
    if not text or text.startswith("/") or any(p in ("", ".", "..") or not _PART_RE.match(p) for p in parts) \
            or len(text) > 4096:
        raise _fail(app, f"unsafe file name {name!r} (absolute, '..', empty part or control character)")
    return "/".join(parts)


def _mode(raw_mode: int) -> int:
    return 0o755 if raw_mode & 0o111 else 0o644


def _copy(src: BinaryIO, dest: Path, budget: list[int], app: App) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with open(dest, "wb") as out:
        while True:
            chunk = src.read(1 << 20)
            if not chunk:
                break
            size += len(chunk)
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise _fail(app, f"larger than {MAX_BYTES >> 20} MiB")
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest(), size


def _entries_from_dir(app: App) -> Iterator[tuple[str, str, Any]]:
    """(kind, relative name, opener or mode) for a directory source; symlinks refused."""
    root = app.source
    for top, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in sorted(dirs + files):
            full = Path(top) / name
            rel = full.relative_to(root).as_posix()
            info = full.lstat()
            if stat.S_ISDIR(info.st_mode):
                yield "dir", rel, None
            elif stat.S_ISREG(info.st_mode):
                yield "file", rel, (lambda p=full: open(p, "rb"), info.st_mode)
            else:
                raise _fail(app, f"{rel} is not a regular file or directory (symlinks and devices are refused)")


def _entries_from_tar(app: App) -> Iterator[tuple[str, str, Any]]:
    try:
        archive = tarfile.open(app.source, "r:*")
    except (OSError, tarfile.TarError) as exc:
        raise _fail(app, f"not a readable tar archive ({exc})") from None
    with archive:
        try:
            for member in archive:
                if member.isdir():
                    yield "dir", member.name, None
                elif member.isreg():
                    yield "file", member.name, (lambda m=member: archive.extractfile(m), member.mode)
                else:
                    raise _fail(app, f"{member.name} is not a regular file or directory "
                                     "(symlinks, hard links and devices are refused)")
        except (OSError, tarfile.TarError, EOFError) as exc:
            raise _fail(app, f"the archive is damaged ({exc})") from None


def stage(app: App, staging: Path) -> list[AppFile]:
    """Copy the release into staging/app/, checking every name; returns the file list (sorted)."""
    source = app.source
    if source.is_dir():
        entries = _entries_from_dir(app)
    elif source.is_file():
        entries = _entries_from_tar(app)
    else:
        raise _fail(app, "no such directory or file")
    dest_root = staging / STAGE_DIR
    dest_root.mkdir(parents=True, exist_ok=True)
    files: dict[str, AppFile] = {}
    budget = [MAX_BYTES]
    for kind, raw_name, info in entries:
        name = check_name(app, raw_name)
        dest = dest_root / name
        if kind == "dir":
            if name in files:
                raise _fail(app, f"{name} is both a file and a directory")
            dest.mkdir(parents=True, exist_ok=True)
            continue
        if name in files or dest.is_dir():
            raise _fail(app, f"{name} appears twice")
        if len(files) >= MAX_FILES:
            raise _fail(app, f"more than {MAX_FILES} files")
        opener, raw_mode = info
        dest.parent.mkdir(parents=True, exist_ok=True)
        handle = opener()
        if handle is None:
            raise _fail(app, f"{name} cannot be read")
        with handle:
            digest, size = _copy(handle, dest, budget, app)
        files[name] = AppFile(name, digest, size, _mode(raw_mode))
    if not files:
        shutil.rmtree(dest_root, ignore_errors=True)
        raise _fail(app, "holds no files")
    return [files[n] for n in sorted(files)]


def lock_entry(app: App, files: list[AppFile]) -> dict[str, Any]:
    """The lock's "app" section: what onsite installs, and every file with its sha256."""
    tree = hashlib.sha256("".join(f"{f.sha256}  {f.path}\n" for f in files).encode()).hexdigest()
    return {
        "name": app.name, "version": app.version, "user": app.user, "start": app.start, "port": app.port,
        "health_path": app.health_path, "data_dirs": list(app.data_dirs),
        "runtime": [f"{s.name} {s.op} {s.evr}".strip() for s in app.runtime],
        "files": [f.to_json() for f in files], "tree_sha256": tree,
        "size": sum(f.size for f in files),
    }


def payload_name(lock_app: dict[str, Any], path: str) -> str:
    return f"app/{lock_app['version']}/{path}"
