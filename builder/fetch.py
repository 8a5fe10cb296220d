"""Bounded parallel RPM downloads with resume, verified against the repo metadata's checksum.

A file that fails verification is discarded, never used. Verified files live in a shared cache
keyed by checksum (``<cache>/rpms``), so rebuilding a bundle downloads nothing new. All failures
are collected and reported together (dnf's DownloadError habit).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from builder import report
from builder.errors import FetchError
from builder.repos import CONNECT_TIMEOUT, READ_TIMEOUT, RepoMetadata, local_path, file_digest, make_session
from builder.packages import ResolvedPackage

if TYPE_CHECKING:
    from rich.progress import Progress

CHUNK = 1 << 20


class _Failure(Exception):
    pass


def _cache_name(pkg: ResolvedPackage) -> str:
    algorithm, _, digest = pkg.checksum.partition(":")
    return f"{algorithm}-{digest}-{pkg.filename}"


def _verify(path: Path, pkg: ResolvedPackage) -> str:
    """Check the file against the metadata checksum; return its sha256."""
    algorithm, _, expected = pkg.checksum.partition(":")
    if not expected:
        raise _Failure(f"{pkg.nevra}: the repo metadata gives no checksum; refusing an unverifiable file")
    actual = file_digest(path, algorithm)
    if actual != expected:
        path.unlink(missing_ok=True)
        raise _Failure(f"{pkg.nevra}: {algorithm} mismatch (expected {expected}, got {actual}); file discarded")
    return actual if algorithm == "sha256" else file_digest(path, "sha256")


def _download(session: requests.Session, url: str, part: Path, pkg: ResolvedPackage, progress: Progress,
              task: int) -> None:
    local = local_path(url)
    if local is not None:
        try:
            shutil.copyfile(local, part)
        except OSError as exc:
            raise _Failure(f"{pkg.nevra}: cannot read {url}: {exc.strerror}") from None
        progress.update(task, advance=pkg.size)
        return
    have = part.stat().st_size if part.exists() else 0
    headers = {"Range": f"bytes={have}-"} if have else {}
    try:
        with session.get(url, stream=True, headers=headers, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT)) as resp:
            if resp.status_code == 206:
                mode = "ab"  # resume a partial download
                progress.update(task, advance=have)
            elif resp.status_code == 200:
                mode = "wb"
            elif resp.status_code == 416 and have:
                return  # already complete; verification decides
            else:
                raise _Failure(f"{pkg.nevra}: {url} answered HTTP {resp.status_code}")
            with open(part, mode) as out:
                for chunk in resp.iter_content(CHUNK):
                    out.write(chunk)
                    progress.update(task, advance=len(chunk))
    except requests.RequestException as exc:
        raise _Failure(f"{pkg.nevra}: download failed from {url}: {exc}") from None


def download_all(packages: list[ResolvedPackage], metas: dict[str, RepoMetadata], cache_dir: Path,
                 dest_dir: Path, jobs: int = 4, show_progress: bool = True) -> list[ResolvedPackage]:
    """Download and verify every package into dest_dir; returns packages with sha256 filled in."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    dest_dir.mkdir(parents=True, exist_ok=True)
    session = make_session()
    failures: list[str] = []
    done: list[ResolvedPackage] = []
    total = sum(p.size for p in packages)
    with report.download_progress(show_progress) as progress:
        task = progress.add_task("rpms", total=total)

        def one(pkg: ResolvedPackage) -> ResolvedPackage:
            cached = cache_dir / _cache_name(pkg)
            if not cached.exists():
                url = pkg.location if pkg.repo.startswith("@") else metas[pkg.repo].url_of(pkg.location)
                part = cached.with_name(cached.name + ".part")
                _download(session, url, part, pkg, progress, task)
                _verify(part, pkg)
                part.replace(cached)
            else:
                progress.update(task, advance=pkg.size)
            sha256 = _verify(cached, pkg)  # the cache is trusted only after re-verification
            target = dest_dir / pkg.filename
            if target.exists():
                target.unlink()
            try:
                os.link(cached, target)
            except OSError:
                shutil.copyfile(cached, target)
            return dataclasses.replace(pkg, sha256=sha256)

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            futures = {pool.submit(one, p): p for p in packages}
            for future in as_completed(futures):
                try:
                    done.append(future.result())
                except _Failure as exc:
                    failures.append(str(exc))
    if failures:
        raise FetchError("download-failed", f"{len(failures)} of {len(packages)} RPMs could not be downloaded and verified",
                         sorted(failures), hint="retry (downloads resume); if a checksum keeps failing, the mirror is "
                                                "inconsistent: use --mirror ID=URL")
    return sorted(done, key=lambda p: p.nevra)
