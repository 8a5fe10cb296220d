"""Assemble dist/ha-installer-<target>.run from a staged target (RPMs + lock + SBOM).

Layout of the .run (see docs/runfile.md):

    header.sh (rendered by builder.header)  | plain tar: RPMs that do not compress  |  xz/zstd tar: the rest

RPMs are stored as they are: their payloads are already xz/gzip/zstd, and DESIGN.md section 1
measured that xz over 200 MB of them saves nothing and costs 265 s to build. Each RPM is tried
with a quick zlib pass; only those that shrink (small stub-like RPMs whose header dominates) join
the compressed part with the onsite code, lock, SBOM and examples. Everything is reproducible:
sorted members, one mtime (SOURCE_DATE_EPOCH, else the lock's ``created``), uid/gid 0, fixed
compression settings (xz preset 9 CRC64 single-threaded; zstd level 19 with checksum).
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import shutil
import sys
import tarfile
import tempfile
import time
import zlib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from builder import __version__, header, reproducible
from builder.errors import BundleError
from builder.repos import file_digest

REPO_ROOT = Path(__file__).resolve().parent.parent
STUBS = REPO_ROOT / "stubs"
HEADER_TEMPLATE = STUBS / "header.sh"
CHUNK = 1 << 20
# keep an RPM uncompressed unless a fast zlib pass gets it below this fraction of its size
COMPRESS_IF_BELOW = 0.97
XZ_PRESET = 9
ZSTD_LEVEL = 19
COMPRESSIONS = ("xz", "zstd")


@dataclass(frozen=True)
class Member:
    """One file of the payload: where it goes in the tar and where its bytes come from."""

    arcname: str
    source: Path | None
    data: bytes | None
    mode: int

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.source.stat().st_size  # type: ignore[union-attr]

    def open(self) -> BinaryIO:
        if self.data is not None:
            return io.BytesIO(self.data)
        return open(self.source, "rb")  # type: ignore[arg-type]


def source_date_epoch(lock: dict[str, Any]) -> int:
    """SOURCE_DATE_EPOCH when set (reproducible-builds.org), else the lock's creation time."""
    fixed = reproducible.source_date_epoch()
    if fixed is not None:
        return fixed
    created = lock.get("created")
    if not isinstance(created, int) or created < 0:
        raise BundleError("lock-without-created", "bundle.lock.json has no integer 'created' field",
                          hint="re-run ha-bundle fetch, or set SOURCE_DATE_EPOCH")
    return created


def _compresses(member: Member) -> bool:
    """True when a fast zlib pass shrinks the file below COMPRESS_IF_BELOW of its size."""
    size = member.size
    if size == 0:
        return True
    comp = zlib.compressobj(1)
    out = 0
    with member.open() as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            out += len(comp.compress(chunk))
    out += len(comp.flush())
    return out < size * COMPRESS_IF_BELOW


def locked_rpms(lock: dict[str, Any]) -> list[dict[str, Any]]:
    """Every RPM the lock names (packages, baseline upgrades), one entry per filename."""
    seen: dict[str, dict[str, Any]] = {}
    for section in ("packages", "baseline_upgrades"):
        for pkg in lock.get(section) or []:
            seen.setdefault(pkg["filename"], pkg)
    return [seen[name] for name in sorted(seen)]


def _rpm_members(staged_dir: Path, lock: dict[str, Any]) -> list[Member]:
    """The locked RPMs, each checked against the lock's size and sha256 (collect, then report)."""
    problems = []
    members = []
    by_name = {pkg["filename"]: pkg for pkg in locked_rpms(lock)}
    for name in lock.get("bootstrap") or []:
        if name not in by_name:
            problems.append(f"bootstrap RPM {name} is not among the locked packages")
    for name, pkg in sorted(by_name.items()):
        if name.startswith("/") or ".." in Path(name).parts or not name.startswith("rpms/"):
            problems.append(f"{name}: lock filenames must be relative paths under rpms/")
            continue
        path = staged_dir / name
        if not path.is_file():
            problems.append(f"{name}: missing from {staged_dir}")
            continue
        if path.stat().st_size != pkg.get("size", path.stat().st_size):
            problems.append(f"{name}: size {path.stat().st_size}, lock says {pkg['size']}")
            continue
        digest = file_digest(path)
        if digest != pkg.get("sha256"):
            problems.append(f"{name}: sha256 {digest}, lock says {pkg.get('sha256')}")
            continue
        members.append(Member(name, path, None, 0o644))
    if problems:
        raise BundleError("staged-rpms-bad", f"{len(problems)} staged RPM(s) do not match the lock",
                          context=problems, hint="re-run ha-bundle fetch to download them again")
    return members


def _onsite_members() -> list[Member]:
    base = STUBS / "onsite"
    out = []
    for path in sorted(base.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in (".pyc", ".pyo"):
            continue
        out.append(Member("onsite/" + path.relative_to(base).as_posix(), path, None, 0o644))
    if not out:
        raise BundleError("onsite-missing", f"no onsite code found in {base}")
    return out


def payload_members(staged_dir: Path, lock: dict[str, Any], site: Path | None) -> list[Member]:
    """Every file of the payload, sorted by name."""
    lock_bytes = (staged_dir / "bundle.lock.json").read_bytes()
    members = _rpm_members(staged_dir, lock) + _onsite_members()
    members.append(Member("bundle.lock.json", None, lock_bytes, 0o644))
    sbom = staged_dir / "sbom.cdx.json"
    if sbom.is_file():
        members.append(Member("sbom.cdx.json", sbom, None, 0o644))
    example = STUBS / "site.example.toml"
    if example.is_file():
        members.append(Member("site.example.toml", example, None, 0o644))
    if site is not None:
        if not site.is_file():
            raise BundleError("site-file-missing", f"--site {site}: no such file")
        members.append(Member("site.toml", None, site.read_bytes(), 0o600))
    return sorted(members, key=lambda m: m.arcname)


def _dirs_of(members: list[Member]) -> list[str]:
    dirs = set()
    for member in members:
        parts = member.arcname.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            dirs.add("/".join(parts[:i]))
    return sorted(dirs)


def _tarinfo(name: str, mtime: int, mode: int, size: int = 0, is_dir: bool = False) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if is_dir else tarfile.REGTYPE
    info.mode = mode
    info.size = size
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


def write_tar(members: list[Member], out: BinaryIO, mtime: int) -> None:
    """A reproducible GNU tar: directories first, then files, all sorted, fixed metadata."""
    with tarfile.open(fileobj=out, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for name in _dirs_of(members):
            tar.addfile(_tarinfo(name, mtime, 0o755, is_dir=True))
        for member in sorted(members, key=lambda m: m.arcname):
            with member.open() as handle:
                tar.addfile(_tarinfo(member.arcname, mtime, member.mode, member.size), handle)


def _compressor(kind: str) -> Any:
    if kind == "xz":
        return lzma.LZMACompressor(format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=XZ_PRESET)
    import zstandard

    return zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_checksum=True, threads=0).compressobj()


def compress_file(src: Path, dst: Path, kind: str) -> None:
    comp = _compressor(kind)
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        for chunk in iter(lambda: fin.read(CHUNK), b""):
            fout.write(comp.compress(chunk))
        fout.write(comp.flush())


def _read_from(path: Path, offset: int) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(offset)
        yield from iter(lambda: handle.read(CHUNK), b"")


def unpacked_kb(members: list[Member]) -> int:
    """Disk use after extraction, in KiB (4 KiB blocks, one per directory)."""
    blocks = sum((m.size + 4095) // 4096 for m in members) + len(_dirs_of(members))
    return blocks * 4


def _target(lock: dict[str, Any]) -> dict[str, Any]:
    target = lock.get("target") or {}
    for key in ("name", "basearch", "os_ids", "os_major"):
        if key not in target:
            raise BundleError("lock-without-target", f"bundle.lock.json target has no '{key}'")
    return target


def _check_compression(kind: str, target: dict[str, Any]) -> None:
    if kind not in COMPRESSIONS:
        raise BundleError("bad-compression", f"--compression must be xz or zstd, got {kind!r}")
    if kind == "zstd" and int(str(target["os_major"]).split(".")[0]) < 8:
        raise BundleError("zstd-not-on-target", f"target {target['name']} (major {target['os_major']}) "
                          "has no zstd command in a minimal install",
                          hint="use --compression xz (the default) for el7")


def assemble(staged: Any, out: Path, site: Path | None = None, compression: str = "xz") -> Path:
    """Write OUT/ha-installer-<target>.run from ``staged`` (.directory, .lock); return its path."""
    staged_dir = Path(staged.directory)
    lock = staged.lock
    target = _target(lock)
    _check_compression(compression, target)
    mtime = source_date_epoch(lock)
    members = payload_members(staged_dir, lock, site)
    store = [m for m in members if m.arcname.startswith("rpms/") and not _compresses(m)]
    stored = {m.arcname for m in store}
    meta = [m for m in members if m.arcname not in stored]
    out.mkdir(parents=True, exist_ok=True)
    run_path = out / f"ha-installer-{target['name']}.run"
    fields = header.HeaderFields(
        sha256=header.ZERO_DIGEST,
        store_size=0,
        meta_size=0,
        compression=compression,
        unpacked_kb=unpacked_kb(members),
        tool=f"ha-bundle {__version__}",
        target=str(target["name"]),
        target_os=f"{'/'.join(target['os_ids'])} {target['os_major']}",
        target_arch=str(target["basearch"]),
        build_date=time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(mtime)),
        packages=len(locked_rpms(lock)),
        lock_sha256=hashlib.sha256((staged_dir / "bundle.lock.json").read_bytes()).hexdigest(),
        bootstrap=" ".join(sorted(lock.get("bootstrap") or [])),
        has_site="yes (site.toml inside: this file holds secrets)" if site else "no",
    )
    write_run(run_path, store, meta, fields, mtime, mode=0o700 if site else 0o755)
    if site is not None:
        sys.stderr.write(f"WARNING: {run_path} now holds {site} (site secrets). Keep it like a password: "
                         "do not publish it, hand it over only to the site's engineers.\n")
    return run_path


def write_run(run_path: Path, store: list[Member], meta: list[Member], fields: header.HeaderFields,
              mtime: int, mode: int = 0o755) -> None:
    """Pack: plain tar of ``store`` + compressed tar of ``meta`` behind the rendered header.

    Written to a temp file in the same directory, fsynced, then renamed into place.
    """
    template = HEADER_TEMPLATE.read_text()
    with tempfile.TemporaryDirectory(prefix=".hb-assemble-", dir=run_path.parent) as tmp:
        tmp_dir = Path(tmp)
        store_tar = tmp_dir / "store.tar"
        meta_tar = tmp_dir / "meta.tar"
        meta_comp = tmp_dir / "meta.tar.c"
        with open(store_tar, "wb") as handle:
            if store:
                write_tar(store, handle, mtime)
        with open(meta_tar, "wb") as handle:
            write_tar(meta, handle, mtime)
        compress_file(meta_tar, meta_comp, fields.compression)
        fields = replace(fields, sha256=header.ZERO_DIGEST, store_size=store_tar.stat().st_size,
                         meta_size=meta_comp.stat().st_size)
        draft = header.render(template, fields).encode()
        values = header.parse_values(draft.decode())
        head, resume = header.digest_region(draft, int(values["HB_DIGEST_LINE"]), int(values["HB_DIGEST_END"]))
        digest = hashlib.sha256(head + draft[resume:])
        for part in (store_tar, meta_comp):
            for chunk in _read_from(part, 0):
                digest.update(chunk)
        final = header.render(template, replace(fields, sha256=digest.hexdigest())).encode()
        if len(final) != len(draft):  # pragma: no cover - the digest has a fixed width
            raise BundleError("header-size-unstable", "header size changed when the digest was filled in")
        partial = tmp_dir / "run.partial"
        with open(partial, "wb") as fout:
            fout.write(final)
            for part in (store_tar, meta_comp):
                with open(part, "rb") as fin:
                    shutil.copyfileobj(fin, fout, CHUNK)
            fout.flush()
            os.fsync(fout.fileno())
        os.chmod(partial, mode)
        os.replace(partial, run_path)
