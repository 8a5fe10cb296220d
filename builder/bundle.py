"""Assemble dist/ha-installer-<target>.run from a staged target (RPMs + lock + SBOM).

Layout of the .run (see docs/runfile.md):

    header.sh (rendered by builder.header)  | plain tar: RPMs that do not compress  |  xz/zstd tar: the rest

RPMs are stored as they are: their payloads are already xz/gzip/zstd, and DESIGN.md section 1
measured that xz over 200 MB of them saves nothing and costs 265 s to build. Each RPM is tried
with a quick zlib pass (answer cached by its sha256); only those that shrink join the compressed
part with the onsite code, lock, SBOM and examples, compressed on all cores and cached by content
(``builder.compress``). Everything is reproducible: sorted members, one mtime (SOURCE_DATE_EPOCH,
else the lock's ``created``), uid/gid 0, fixed settings (xz preset 6 CRC64 per 8 MiB segment;
zstd level 19 with checksum), whatever the number of cores.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from builder import __version__, app, compress, header, outputs, reproducible, resources
from builder.containment import SAFE_FIELD
from builder.errors import BundleError
from builder.progress import Ticker
from builder.repos import default_cache_dir, file_digest

CHUNK = 1 << 20
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


def locked_rpms(lock: dict[str, Any]) -> list[dict[str, Any]]:
    """Every RPM the lock names (packages, baseline upgrades), one entry per filename."""
    seen: dict[str, dict[str, Any]] = {}
    for section in ("packages", "baseline_upgrades"):
        for pkg in lock.get(section) or []:
            seen.setdefault(pkg["filename"], pkg)
    return [seen[name] for name in sorted(seen)]


def payload_rpms(lock: dict[str, Any]) -> list[dict[str, Any]]:
    """The RPMs the payload carries: all locked ones, or an update's carried ones."""
    update = lock.get("update")
    if not update:
        return locked_rpms(lock)
    carried = set(update.get("carried") or [])
    return [pkg for pkg in locked_rpms(lock) if pkg["filename"] in carried]


def payload_bootstrap(lock: dict[str, Any]) -> list[str]:
    """Bootstrap RPMs the payload carries (an update carries only those that changed)."""
    carried = {pkg["filename"] for pkg in payload_rpms(lock)}
    entries = lock.get("bootstrap") or []
    return [e for e in entries if e in carried] if lock.get("update") else list(entries)


def _rpm_members(staged_dir: Path, lock: dict[str, Any]) -> list[Member]:
    """The payload's RPMs, each checked against the lock's size and sha256 (collect, then report)."""
    problems = []
    members = []
    by_name = {pkg["filename"]: pkg for pkg in payload_rpms(lock)}
    for name in payload_bootstrap(lock):
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


def _app_members(staged_dir: Path, lock: dict[str, Any]) -> list[Member]:
    """The app release staged at fetch time, each file checked against the lock's size and sha256."""
    entry = lock.get("app")
    if not entry:
        return []
    problems, members = [], []
    for f in entry["files"]:
        name = f["path"]
        if name.startswith("/") or ".." in name.split("/"):
            problems.append(f"app file {name}: lock paths must be relative")
            continue
        path = staged_dir / app.STAGE_DIR / name
        if not path.is_file() or path.stat().st_size != f["size"] or file_digest(path) != f["sha256"]:
            problems.append(f"app file {name}: missing or changed since the lock was written")
            continue
        members.append(Member(app.payload_name(entry, name), path, None, f["mode"]))
    if problems:
        raise BundleError("staged-app-bad", f"{len(problems)} staged app file(s) do not match the lock",
                          context=problems[:20], hint="re-run ha-bundle fetch to stage the release again")
    return members


def onsite_members() -> list[Member]:
    """The onsite program (stubs/onsite), from this checkout or the installed wheel."""
    base = resources.stubs_dir() / "onsite"
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
    members = _rpm_members(staged_dir, lock) + onsite_members() + _app_members(staged_dir, lock)
    members.append(Member("bundle.lock.json", None, lock_bytes, 0o644))
    sbom = staged_dir / "sbom.cdx.json"
    if sbom.is_file():
        members.append(Member("sbom.cdx.json", sbom, None, 0o644))
    example = resources.stubs_dir() / "site.example.toml"
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


def write_tar(members: list[Member], out: BinaryIO, mtime: int) -> None:
    """A reproducible GNU tar: directories first, then files, all sorted, fixed metadata."""
    for segment in compress.tar_segments(_dirs_of(members), members, mtime):
        out.write(segment)


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


def check_compression(kind: str, target: dict[str, Any]) -> None:
    if kind not in COMPRESSIONS:
        raise BundleError("bad-compression", f"--compression must be xz or zstd, got {kind!r}")
    if kind == "zstd" and int(str(target["os_major"]).split(".")[0]) < 8:
        raise BundleError("zstd-not-on-target", f"target {target['name']} (major {target['os_major']}) "
                          "has no zstd command in a minimal install",
                          hint="use --compression xz (the default) for el7")


def _bootstrap_value(lock: dict[str, Any]) -> str:
    """HB_BOOTSTRAP: space-separated payload paths, each plain rpm characters (the header walks it)."""
    entries = sorted(payload_bootstrap(lock))
    bad = [e for e in entries if not (e.startswith("rpms/") and e.endswith(".rpm") and SAFE_FIELD.match(e[5:]))]
    if bad:
        raise BundleError("bootstrap-name-unsafe", "bootstrap RPM names hold characters the header may not walk",
                          [repr(e) for e in bad], hint="re-run ha-bundle fetch; names come from verified NEVRAs")
    return " ".join(entries)


def assemble(staged: Any, out: Path, site: Path | None = None, compression: str = "xz",
             cache_dir: Path | None = None, run_name: str | None = None) -> Path:
    """Write OUT/ha-installer-<target>.run (or OUT/RUN_NAME) from ``staged`` (.directory, .lock);
    return its path."""
    staged_dir = Path(staged.directory)
    lock = staged.lock
    target = _target(lock)
    check_compression(compression, target)
    mtime = source_date_epoch(lock)
    bootstrap = _bootstrap_value(lock)
    members = payload_members(staged_dir, lock, site)
    cache = (Path(cache_dir) if cache_dir else default_cache_dir()) / "assemble"
    rpms = [m for m in members if m.arcname.startswith("rpms/")]
    digests = {pkg["filename"]: str(pkg.get("sha256", "")) for pkg in payload_rpms(lock)}
    squeeze = compress.compressible(rpms, digests, cache)
    store = [m for m in rpms if m.arcname not in squeeze]
    stored = {m.arcname for m in store}
    meta = [m for m in members if m.arcname not in stored]
    out.mkdir(parents=True, exist_ok=True)
    run_path = out / (run_name or f"ha-installer-{target['name']}.run")
    update = lock.get("update")
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
        packages=len(payload_rpms(lock)),
        lock_sha256=hashlib.sha256((staged_dir / "bundle.lock.json").read_bytes()).hexdigest(),
        bootstrap=bootstrap,
        has_site="yes (site.toml inside: this file holds secrets)" if site else "no",
        applies_to=("hosts installed from lock " + str(update["from"]["lock_sha256"])) if update
        else "any host, full bundle",
    )
    write_run(run_path, store, meta, fields, mtime, mode=0o700 if site else 0o755, cache=cache)
    if site is not None:
        sys.stderr.write(f"WARNING: {run_path} now holds {site} (site secrets). Keep it like a password: "
                         "do not publish it, hand it over only to the site's engineers.\n")
    return run_path


def write_run(run_path: Path, store: list[Member], meta: list[Member], fields: header.HeaderFields,
              mtime: int, mode: int = 0o755, cache: Path | None = None) -> None:
    """Pack: plain tar of ``store`` + compressed tar of ``meta`` behind the rendered header.

    Assembled in an owned ``.hb-assemble-*`` directory beside the .run (removed on any exit, and
    by the next run after a kill -9), fsynced, then renamed into place.
    """
    template = resources.header_template()
    tmp_dir = outputs.owned_dir(run_path.parent, outputs.ASSEMBLE_PREFIX)
    try:
        store_tar = tmp_dir / "store.tar"
        meta_comp = tmp_dir / "meta.tar.c"
        with open(store_tar, "wb") as handle:
            if store:
                write_tar(store, handle, mtime)
        dirs = _dirs_of(meta)
        tar_size = sum(512 + m.size + (-m.size % 512) for m in meta) + 512 * len(dirs) + 1024
        ticker = Ticker(f"assemble {run_path.name}: compressing", total_bytes=tar_size + (-tar_size % 10240))
        with open(meta_comp, "wb") as handle:
            compress.compress_stream(compress.tar_segments(dirs, meta, mtime), handle,
                                     fields.compression, compress.SegmentCache(cache), on_segment=ticker.advance)
        ticker.finish()
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
    finally:
        outputs.remove(tmp_dir)
