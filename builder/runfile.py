"""Read a ha-installer-<target>.run without executing it: ``ha-bundle inspect`` and ``verify``.

Hashes exactly what header.sh's hb_verify hashes (builder.header.digest_region), then opens the
two payload parts in Python (plain tar, then xz/zstd tar) to read the lock and check every
locked RPM against it.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import tarfile
from pathlib import Path
from typing import Any, BinaryIO, Iterator

from builder import exitcodes, header
from builder.errors import BundleError
from builder.repos import file_digest

CHUNK = 1 << 20
MAX_HEADER = 1 << 20
_NUMERIC = ("HB_DIGEST_LINE", "HB_DIGEST_END", "HB_HEADER_SIZE", "HB_TOTAL_SIZE", "HB_STORE_SIZE",
            "HB_META_SIZE", "HB_UNPACKED_KB", "HB_PACKAGES")
DAMAGED_HINT = ("compare `sha256sum FILE` with the published sha256 and copy the file again; "
                "if the published file is damaged too, rebuild it with ha-bundle build")


def read_header(path: Path) -> dict[str, str]:
    """The baked values of a .run (BundleError if it is not one or the fields are mangled)."""
    try:
        with open(path, "rb") as handle:
            prefix = handle.read(MAX_HEADER)
    except OSError as exc:
        raise BundleError("run-unreadable", f"cannot read {path}: {exc}") from exc
    text = prefix.decode("utf-8", errors="replace")
    if header.BEGIN_MARK not in text or header.END_MARK not in text:
        raise BundleError("not-a-runfile", f"{path} is not a ha-installer .run file (no baked values)",
                          hint=DAMAGED_HINT, exit_code=exitcodes.DAMAGED)
    values = header.parse_values(text)
    bad = [name for name in _NUMERIC if not values.get(name, "").isdigit()]
    if bad or len(values.get("HB_SHA256", "")) != 64:
        raise BundleError("run-damaged", f"{path} is damaged: header fields are mangled",
                          context=[f"bad fields: {', '.join(bad) or 'HB_SHA256'}"], hint=DAMAGED_HINT,
                          exit_code=exitcodes.DAMAGED)
    return values


def _chunks(path: Path, offset: int, length: int | None = None) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        handle.seek(offset)
        left = length
        while left is None or left > 0:
            chunk = handle.read(CHUNK if left is None else min(CHUNK, left))
            if not chunk:
                return
            if left is not None:
                left -= len(chunk)
            yield chunk


def integrity_problems(path: Path, values: dict[str, str]) -> list[str]:
    """Size and sha256 problems, as header.sh would find them (empty list: intact)."""
    size = path.stat().st_size
    want = int(values["HB_TOTAL_SIZE"])
    problems = []
    if size != want:
        kind = "truncated" if size < want else "extra bytes at the end"
        problems.append(f"size is {size} bytes, expected {want} ({kind})")
    with open(path, "rb") as handle:
        prefix = handle.read(int(values["HB_DIGEST_END"]))
    try:
        head, resume = header.digest_region(prefix, int(values["HB_DIGEST_LINE"]), int(values["HB_DIGEST_END"]))
    except ValueError:
        return problems + ["the header's first lines are damaged"]
    digest = hashlib.sha256(head)
    for chunk in _chunks(path, resume):
        digest.update(chunk)
    if digest.hexdigest() != values["HB_SHA256"]:
        problems.append(f"sha256 is {digest.hexdigest()}, expected {values['HB_SHA256']}")
    return problems


class _Slice(io.RawIOBase):
    """A read-only window [offset, offset+length) of a file, for tarfile."""

    def __init__(self, handle: BinaryIO, offset: int, length: int) -> None:
        self._handle, self._offset, self._left = handle, offset, length
        handle.seek(offset)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            return 0
        data = self._handle.read(min(len(buffer), self._left))
        self._left -= len(data)
        buffer[:len(data)] = data
        return len(data)


def _decompressed(raw: BinaryIO, kind: str) -> BinaryIO:
    if kind == "xz":
        return lzma.open(raw)  # type: ignore[return-value]
    if kind == "zstd":
        import zstandard

        return zstandard.ZstdDecompressor().stream_reader(raw, read_across_frames=True)  # type: ignore[return-value]
    raise BundleError("run-damaged", f"unknown payload compression {kind!r}", hint=DAMAGED_HINT)


def walk_payload(path: Path, values: dict[str, str]) -> Iterator[tuple[tarfile.TarInfo, bytes | None]]:
    """Each payload member with its bytes (None for directories): stored part, then compressed."""
    header_size = int(values["HB_HEADER_SIZE"])
    store_size = int(values["HB_STORE_SIZE"])
    meta_size = int(values["HB_META_SIZE"])
    with open(path, "rb") as handle:
        streams: list[Any] = []
        if store_size:
            streams.append(lambda: io.BufferedReader(_Slice(handle, header_size, store_size)))
        streams.append(lambda: _decompressed(io.BufferedReader(_Slice(handle, header_size + store_size, meta_size)),
                                             values.get("HB_COMPRESSION", "xz")))
        for make in streams:
            with tarfile.open(fileobj=make(), mode="r|") as tar:
                for member in tar:
                    extracted = tar.extractfile(member) if member.isfile() else None
                    yield member, (extracted.read() if extracted is not None else None)


def _payload_report(path: Path, values: dict[str, str]) -> tuple[list[str], dict[str, Any] | None, list[str]]:
    """(member names, parsed lock, problems) after checking every locked RPM against the lock."""
    names: list[str] = []
    digests: dict[str, tuple[int, str]] = {}
    lock_bytes = None
    problems: list[str] = []
    try:
        for member, data in walk_payload(path, values):
            names.append(member.name)
            if member.name.startswith("/") or ".." in member.name.split("/"):
                problems.append(f"unsafe member name {member.name!r}")
            if not (member.isfile() or member.isdir()):
                problems.append(f"member {member.name!r} is neither a file nor a directory")
            if data is not None:
                digests[member.name] = (len(data), hashlib.sha256(data).hexdigest())
                if member.name == "bundle.lock.json":
                    lock_bytes = data
    except (tarfile.TarError, lzma.LZMAError, OSError, EOFError) as exc:
        problems.append(f"payload cannot be read: {exc}")
    lock = None
    if lock_bytes is None:
        problems.append("bundle.lock.json is missing from the payload")
    else:
        if hashlib.sha256(lock_bytes).hexdigest() != values.get("HB_LOCK_SHA256"):
            problems.append("bundle.lock.json does not match the header's lock digest")
        try:
            lock = json.loads(lock_bytes)
        except ValueError as exc:
            problems.append(f"bundle.lock.json is not JSON: {exc}")
    if lock is not None:
        from builder.bundle import payload_rpms

        for pkg in payload_rpms(lock):
            got = digests.get(pkg["filename"])
            if got is None:
                problems.append(f"{pkg['filename']} is locked but not in the payload")
            elif got != (pkg.get("size"), pkg.get("sha256")):
                problems.append(f"{pkg['filename']} does not match its lock entry (size/sha256)")
    return names, lock, problems


def inspect(path: Path) -> dict[str, Any]:
    """Everything a build engineer wants to know about a .run, without running it."""
    from builder.bundle import payload_bootstrap

    path = Path(path)
    values = read_header(path)
    problems = integrity_problems(path, values)
    names: list[str] = []
    lock: dict[str, Any] | None = None
    if not problems:
        names, lock, payload_problems = _payload_report(path, values)
        problems += payload_problems
    packages = []
    if lock is not None:
        from builder.bundle import payload_rpms

        for pkg in payload_rpms(lock):
            epoch = str(pkg.get("epoch") or "0")
            evr = f"{pkg['version']}-{pkg['release']}" if epoch == "0" else f"{epoch}:{pkg['version']}-{pkg['release']}"
            packages.append(f"{pkg['name']}-{evr}.{pkg['arch']}")
    return {
        "file": str(path),
        "size": path.stat().st_size,
        "sha256": file_digest(path),
        "header": {k[3:].lower(): v for k, v in sorted(values.items())},
        "checksum": "ok" if not problems else "damaged",
        "problems": problems,
        "target": (lock or {}).get("target"),
        "lock_created": (lock or {}).get("created"),
        "bootstrap": payload_bootstrap(lock) if lock else [],
        "packages": packages,
        "app": _app_summary((lock or {}).get("app")),
        "update": _update_summary((lock or {}).get("update")),
        "members": names,
    }


def _update_summary(update: dict[str, Any] | None) -> dict[str, Any] | None:
    """What an update bundle applies to and changes (None for a full bundle)."""
    if not update:
        return None
    return {"from_lock_sha256": update["from"]["lock_sha256"], "from_created": update["from"].get("created"),
            "from_app_version": update["from"].get("app_version"), "changes": update["changes"]}


def _app_summary(app: dict[str, Any] | None) -> dict[str, Any] | None:
    if not app:
        return None
    return {"name": app["name"], "version": app["version"], "files": len(app["files"]), "size": app["size"],
            "tree_sha256": app["tree_sha256"], "start": app["start"], "port": app["port"],
            "data_dirs": app["data_dirs"], "runtime": app["runtime"]}


def print_info(info: dict[str, Any]) -> None:
    """Human-readable form of inspect()."""
    h = info["header"]
    lines = [
        f"file:         {info['file']} ({info['size']} bytes)",
        f"made by:      {h.get('tool')}",
        f"target:       {h.get('target')} ({h.get('target_os')}, {h.get('target_arch')})",
        f"built:        {h.get('build_date')}",
        f"payload:      {h.get('store_size')} bytes stored + {h.get('meta_size')} bytes {h.get('compression')}, "
        f"unpacks to about {h.get('unpacked_kb')} KiB",
        f"lock sha256:  {h.get('lock_sha256')}",
        f"baked digest: {h.get('sha256')} (whole file minus this field; what --check compares)",
        f"site file:    {h.get('has_site')}",
        f"checksum:     {info['checksum'].upper()}",
    ]
    lines += [f"  problem: {p}" for p in info["problems"]]
    update = info.get("update")
    if update:
        from builder.update import Changes

        lines.append(f"update of:    lock {update['from_lock_sha256']} (onsite refuses any other host)")
        lines += Changes(**{k: v for k, v in update["changes"].items() if k in Changes.__dataclass_fields__}).lines()
    lines.append(f"packages:     {len(info['packages'])}" + (" carried" if update else ""))
    lines += [f"  {p}" for p in info["packages"]]
    if info["bootstrap"]:
        lines.append("bootstrap:    " + " ".join(info["bootstrap"]))
    app = info.get("app")
    if app:
        lines.append(f"app:          {app['name']} {app['version']}: {app['files']} files, {app['size']} bytes, "
                     f"tree sha256 {app['tree_sha256'][:16]}; start '{app['start']}' on port {app['port']}")
        if app["data_dirs"]:
            lines.append("  data (kept): " + " ".join(app["data_dirs"]))
        if app["runtime"]:
            lines.append("  runtime:     " + ", ".join(app["runtime"]))
    lines.append("sha256 of the whole file (publish this line; `sha256sum FILE` prints the same):")
    lines.append(f"{info['sha256']}  {info['file']}")
    print("\n".join(lines))


def verify(path: Path) -> dict[str, Any]:
    """Raise BundleError (run-damaged) unless size, sha256, lock and every RPM check out."""
    info = inspect(Path(path))
    if info["problems"]:
        raise BundleError("run-damaged", f"{path} is damaged", context=info["problems"], hint=DAMAGED_HINT,
                          exit_code=exitcodes.DAMAGED)
    return info
