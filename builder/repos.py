"""rpm-md client: repomd.xml and checksum-verified primary/filelists/modules, cached on disk.

Metadata files are cached under ``<cache>/md/`` by the checksum repomd.xml gives for them, so a
second run with an unchanged repo downloads nothing but (when older than ``metadata_expire``)
repomd.xml itself. Everything is decompressed here (gz, xz, bz2, zstd) because PyPI's libsolv
binding only reads gzip (DESIGN.md section 3).
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import lzma
import os
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable
from urllib.parse import unquote, urljoin, urlparse

import zstandard

from builder import exitcodes
from builder.containment import contained_url
from builder.errors import RepoError
from builder.manifest import Repo
from builder.progress import Ticker
from builder.transfer import Deadline, Limits, TransferFailed, copy_local, download, make_session

if TYPE_CHECKING:  # requests costs ~0.1 s to import; local repos never need it
    import requests

REPO_NS = "{http://linux.duke.edu/metadata/repo}"
WANTED_TYPES = ("primary", "filelists", "modules")
METADATA_EXPIRE_SECONDS = 6 * 3600
MAX_REPOMD = 8 << 20         # repomd.xml is a few KB; anything near this is not one
MAX_METADATA = 2 << 30       # a metadata file whose repomd entry gives no <size>
MAX_EXPANSION = 64           # decompressed/compressed when repomd gives no <open-size>


def default_cache_dir() -> Path:
    env = os.environ.get("HA_BUNDLE_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ha-bundle"


@dataclass(frozen=True)
class MetadataFile:
    type: str
    path: Path  # decompressed, verified, in the cache
    checksum: str  # of the compressed file, as repomd.xml lists it


@dataclass(frozen=True)
class RepoMetadata:
    repo: Repo
    baseurl: str  # after $releasever/$basearch substitution and --mirror
    repomd_sha256: str
    revision: str
    files: dict[str, MetadataFile]

    def url_of(self, location: str) -> str:
        """The URL of a package href, refused (RepoError) unless it stays inside the repo."""
        return contained_url(self.baseurl, location, self.repo.id, f"package location {location!r}")


def join_url(base: str, location: str) -> str:
    return urljoin(base if base.endswith("/") else base + "/", location)


def local_path(url: str) -> Path | None:
    """A local file for file:// URLs and plain paths; None for http(s)."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        return Path(unquote(parsed.path))
    if parsed.scheme in ("", None) or len(parsed.scheme) == 1:
        return Path(url)
    return None


class TooLarge(Exception):
    """Decompressed metadata grew past its declared (or assumed) size: a decompression bomb."""


def _copy_capped(src, out, limit: int) -> None:  # type: ignore[no-untyped-def]
    written = 0
    for chunk in iter(lambda: src.read(1 << 20), b""):
        written += len(chunk)
        if written > limit:
            raise TooLarge(f"more than {limit} bytes")
        out.write(chunk)


def decompress(data_path: Path, location: str, out_path: Path, limit: int = 1 << 62) -> None:
    """Decompress by the file's extension into out_path (streaming, constant memory, capped)."""
    name = location.lower()
    openers: dict[str, Callable[[Path], object]] = {
        ".gz": lambda p: gzip.open(p, "rb"),
        ".xz": lambda p: lzma.open(p, "rb"),
        ".bz2": lambda p: bz2.open(p, "rb"),
        ".zst": lambda p: zstandard.ZstdDecompressor().stream_reader(open(p, "rb"), closefd=True),
        ".zstd": lambda p: zstandard.ZstdDecompressor().stream_reader(open(p, "rb"), closefd=True),
    }
    opener = next((fn for ext, fn in openers.items() if name.endswith(ext)), None)
    with open(out_path, "wb") as out:
        if opener is None:
            with open(data_path, "rb") as src:
                _copy_capped(src, out, limit)
        else:
            with opener(data_path) as src:  # type: ignore[attr-defined]
                _copy_capped(src, out, limit)


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(_hash_name(algorithm))
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _hash_name(algorithm: str) -> str:
    return {"sha": "sha1"}.get(algorithm.lower(), algorithm.lower())


class RepoClient:
    """Reads rpm-md repositories over http(s), file:// or local paths, through one cache."""

    def __init__(self, cache_dir: Path | None = None, session: "requests.Session | None" = None,
                 metadata_expire: int = METADATA_EXPIRE_SECONDS, limits: Limits | None = None) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir else default_cache_dir()
        self._session = session
        self.metadata_expire = metadata_expire
        self.limits = limits or Limits()
        self.downloads = 0  # metadata files fetched over the network (tests check the cache)

    # -- transport -------------------------------------------------------------------------
    def download(self, url: str, dest: Path, repo_id: str, limit: int = MAX_METADATA,
                 deadline: Deadline | None = None) -> None:
        """Fetch url (at most ``limit`` bytes) into dest atomically; local sources are copied."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        deadline = deadline or Deadline(self.limits.deadline, f"repo {repo_id}")
        local = local_path(url)
        fd, tmp_name = tempfile.mkstemp(prefix=".part-", dir=dest.parent)
        tmp = Path(tmp_name)
        try:
            if local is not None:
                with os.fdopen(fd, "wb") as out:
                    copy_local(local, out, limit, url)
            else:
                os.close(fd)
                ticker = Ticker(f"metadata {repo_id}: {url.rsplit('/', 1)[-1]}")
                download(self.session, url, tmp, limit=limit, limits=self.limits, deadline=deadline,
                         on_bytes=ticker.advance, resume=False)
                ticker.finish()
                self.downloads += 1
            tmp.replace(dest)
        except TransferFailed as exc:
            reference = "repo-unreachable" if exc.exit_code == exitcodes.NETWORK else "repo-download-failed"
            raise exc.as_error(reference, f"repo {repo_id}") from None
        finally:
            tmp.unlink(missing_ok=True)

    @property
    def session(self) -> "requests.Session":
        if self._session is None:
            self._session = make_session()
        return self._session

    # -- metadata --------------------------------------------------------------------------
    def load(self, repo: Repo, baseurl: str) -> RepoMetadata:
        """repomd.xml plus the verified, decompressed primary, filelists and (if any) modules."""
        repo_key = hashlib.sha256(baseurl.encode()).hexdigest()[:16]
        repomd_path = self.cache_dir / "repos" / f"{repo.id}-{repo_key}" / "repomd.xml"
        local = local_path(baseurl)
        deadline = Deadline(self.limits.deadline, f"repo {repo.id}")
        fresh = repomd_path.exists() and time.time() - repomd_path.stat().st_mtime < self.metadata_expire
        if local is not None or not fresh:
            self.download(join_url(baseurl, "repodata/repomd.xml"), repomd_path, repo.id, MAX_REPOMD, deadline)
        raw = repomd_path.read_bytes()
        try:
            root = ET.fromstring(raw)
        except ET.ParseError as exc:
            repomd_path.unlink(missing_ok=True)
            raise RepoError("repomd-invalid", f"repo {repo.id}: repomd.xml is not valid XML",
                            [f"url: {join_url(baseurl, 'repodata/repomd.xml')}", str(exc)],
                            hint="the URL may not be an rpm-md repository; check baseurl") from None
        files: dict[str, MetadataFile] = {}
        entries = {d.get("type"): d for d in root.findall(f"{REPO_NS}data")}
        for mdtype in WANTED_TYPES:
            entry = entries.get(mdtype)
            if entry is None:
                if mdtype == "modules":
                    continue
                raise RepoError("repomd-incomplete", f"repo {repo.id}: repomd.xml lists no {mdtype} metadata",
                                [f"url: {baseurl}"], hint="the repository is incomplete; regenerate it or use another mirror")
            files[mdtype] = self._metadata_file(repo.id, baseurl, mdtype, entry, deadline)
        revision = (root.findtext(f"{REPO_NS}revision") or "").strip()
        return RepoMetadata(repo, baseurl, hashlib.sha256(raw).hexdigest(), revision, files)

    def _metadata_file(self, repo_id: str, baseurl: str, mdtype: str, entry: ET.Element,
                       deadline: Deadline) -> MetadataFile:
        checksum_el = entry.find(f"{REPO_NS}checksum")
        location_el = entry.find(f"{REPO_NS}location")
        if checksum_el is None or location_el is None or not checksum_el.text:
            raise RepoError("repomd-invalid", f"repo {repo_id}: {mdtype} entry lacks checksum or location",
                            [f"url: {baseurl}"], hint="regenerate the repository metadata")
        algorithm = checksum_el.get("type", "sha256")
        expected = checksum_el.text.strip().lower()
        href = location_el.get("href", "")
        plain = self.cache_dir / "md" / f"{algorithm}-{expected}-{mdtype}.xml"
        if plain.exists():
            return MetadataFile(mdtype, plain, expected)
        url = contained_url(baseurl, href, repo_id, f"{mdtype} metadata")
        size = _number(entry.findtext(f"{REPO_NS}size"))
        open_size = _number(entry.findtext(f"{REPO_NS}open-size"))
        packed = plain.with_name(plain.name + ".download")
        self.download(url, packed, repo_id, size or MAX_METADATA, deadline)
        try:
            actual = file_digest(packed, algorithm)
            if actual != expected:
                raise RepoError("metadata-checksum-mismatch",
                                f"repo {repo_id}: {mdtype} metadata does not match repomd.xml's checksum",
                                [f"url: {url}", f"expected {algorithm}: {expected}", f"got {algorithm}: {actual}"],
                                hint="the mirror is inconsistent or mid-sync; retry later or use --mirror ID=URL")
            tmp_plain = plain.with_name(plain.name + ".tmp")
            limit = open_size or max(packed.stat().st_size * MAX_EXPANSION, 1 << 30)
            try:
                decompress(packed, href, tmp_plain, limit)
            except (OSError, EOFError, lzma.LZMAError, zstandard.ZstdError, TooLarge) as exc:
                tmp_plain.unlink(missing_ok=True)
                if isinstance(exc, OSError) and exc.errno is not None:
                    raise  # the cache disk (full, read-only), not the file: the top level says which
                raise RepoError("metadata-corrupt", f"repo {repo_id}: {mdtype} metadata cannot be decompressed",
                                [f"url: {url}", str(exc)],
                                hint="the file is truncated or damaged; retry or use another mirror") from None
            open_el = entry.find(f"{REPO_NS}open-checksum")
            if open_el is not None and open_el.text:
                open_alg = open_el.get("type", "sha256")
                if file_digest(tmp_plain, open_alg) != open_el.text.strip().lower():
                    tmp_plain.unlink(missing_ok=True)
                    raise RepoError("metadata-checksum-mismatch",
                                    f"repo {repo_id}: decompressed {mdtype} metadata does not match its open-checksum",
                                    [f"url: {url}"], hint="the file is damaged; retry or use another mirror")
            tmp_plain.replace(plain)
        finally:
            packed.unlink(missing_ok=True)
        return MetadataFile(mdtype, plain, expected)


def _number(text: str | None) -> int:
    """A positive integer from repomd.xml (<size>, <open-size>), 0 when absent or not a number."""
    text = (text or "").strip()
    return int(text) if text.isdigit() else 0
