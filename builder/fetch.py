"""Bounded parallel RPM downloads with resume, verified against the repo metadata and the RPM itself.

Each URL is contained in its repo (``builder.containment``), each body capped at the size the
metadata declares, each repo bounded by a deadline (``builder.transfer``). A file must match the
metadata's checksum and its own header must carry the metadata's NEVRA; a file that fails is
discarded, never used. Verified files live in a shared cache keyed by checksum
(``<cache>/rpms``), so rebuilding a bundle downloads nothing new. All failures are collected and
reported together (dnf's DownloadError habit).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

from builder import exitcodes
from builder.containment import header_mismatch
from builder.errors import FetchError
from builder.progress import Ticker
from builder.repos import RepoMetadata, file_digest, local_path
from builder.packages import ResolvedPackage
from builder.transfer import Deadline, Limits, TransferFailed, copy_local, download, make_session

if TYPE_CHECKING:
    import requests

MAX_UNKNOWN_SIZE = 4 << 30  # a package whose metadata gives no size


class _Failure(Exception):
    def __init__(self, message: str, exit_code: int = exitcodes.INPUT) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _cache_name(pkg: ResolvedPackage) -> str:
    algorithm, _, digest = pkg.checksum.partition(":")
    return f"{algorithm}-{digest}-{pkg.filename}"


def _verify(path: Path, pkg: ResolvedPackage) -> str:
    """Check the file against the metadata checksum and its header's NEVRA; return its sha256."""
    algorithm, _, expected = pkg.checksum.partition(":")
    if not expected:
        raise _Failure(f"{pkg.nevra}: the repo metadata gives no checksum; refusing an unverifiable file")
    actual = file_digest(path, algorithm)
    if actual != expected:
        path.unlink(missing_ok=True)
        raise _Failure(f"{pkg.nevra}: {algorithm} mismatch (expected {expected}, got {actual}); file discarded")
    mismatch = header_mismatch(path, pkg.name, pkg.epoch, pkg.version, pkg.release, pkg.arch)
    if mismatch:
        path.unlink(missing_ok=True)
        raise _Failure(f"{pkg.nevra}: {mismatch}; file discarded (the repo metadata lies about this package)")
    return actual if algorithm == "sha256" else file_digest(path, "sha256")


def _fetch_one(session: "requests.Session", url: str, part: Path, pkg: ResolvedPackage, limits: Limits,
               deadline: Deadline, ticker: Ticker) -> None:
    limit = pkg.size or MAX_UNKNOWN_SIZE
    local = local_path(url)
    try:
        if local is not None:
            with open(part, "wb") as out:
                ticker.advance(copy_local(local, out, limit, url))
        else:
            download(session, url, part, limit=limit, limits=limits, deadline=deadline, on_bytes=ticker.advance)
    except TransferFailed as exc:
        if local is not None:
            part.unlink(missing_ok=True)
        raise _Failure(f"{pkg.nevra}: {exc.message}", exc.exit_code) from None


def download_all(packages: list[ResolvedPackage], metas: dict[str, RepoMetadata], cache_dir: Path,
                 dest_dir: Path, jobs: int = 4, limits: Limits | None = None) -> list[ResolvedPackage]:
    """Download and verify every package into dest_dir; returns packages with sha256 filled in."""
    limits = limits or Limits()
    cache_dir.mkdir(parents=True, exist_ok=True)
    dest_dir.mkdir(parents=True, exist_ok=True)
    # every URL is checked before the first byte is fetched: one hostile href stops the fetch
    urls = {p.nevra: (p.location if p.repo.startswith("@") else metas[p.repo].url_of(p.location)) for p in packages}
    session = make_session()
    deadlines = {repo: Deadline(limits.deadline, f"repo {repo}") for repo in {p.repo for p in packages}}
    failures: list[_Failure] = []
    done: list[ResolvedPackage] = []
    ticker = Ticker("fetch", total_bytes=sum(p.size for p in packages), total_items=len(packages))
    if sys.stderr.isatty():
        ticker.every = max(ticker.every, 2.0)

    def one(pkg: ResolvedPackage) -> ResolvedPackage:
        cached = cache_dir / _cache_name(pkg)
        if not cached.exists():
            part = cached.with_name(cached.name + ".part")
            _fetch_one(session, urls[pkg.nevra], part, pkg, limits, deadlines[pkg.repo], ticker)
            _verify(part, pkg)
            part.replace(cached)
        else:
            ticker.advance(pkg.size)
        sha256 = _verify(cached, pkg)  # the cache is trusted only after re-verification
        ticker.advance(items=1)
        target = dest_dir / pkg.filename
        if target.exists():
            target.unlink()
        try:
            os.link(cached, target)
        except OSError:
            shutil.copyfile(cached, target)
        return dataclasses.replace(pkg, sha256=sha256)

    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    finished = False
    try:
        futures = {pool.submit(one, p): p for p in packages}
        for future in as_completed(futures):
            try:
                done.append(future.result())
            except _Failure as exc:
                failures.append(exc)
        finished = True
    finally:
        # on Ctrl-C/SIGTERM do not wait for a download stuck in a read: the caller cleans up and exits
        pool.shutdown(wait=finished, cancel_futures=True)
    ticker.finish()
    if failures:
        network = all(f.exit_code == exitcodes.NETWORK for f in failures)
        raise FetchError("download-failed",
                         f"{len(failures)} of {len(packages)} RPMs could not be downloaded and verified",
                         sorted(str(f) for f in failures),
                         hint="retry (downloads resume); if a checksum keeps failing, the mirror is "
                              "inconsistent: use --mirror ID=URL",
                         exit_code=exitcodes.NETWORK if network else exitcodes.INPUT)
    return sorted(done, key=lambda p: p.nevra)
