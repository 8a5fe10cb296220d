"""The build pipeline's front-end: manifest -> metadata -> resolution -> (download -> lock + SBOM).

Each step lives in its own module; this one only sequences them and reports progress.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any


from builder import closure, compat, manifest as manifest_mod, report
from builder.errors import HaBundleError, ResolveError
from builder.manifest import Manifest
from builder.repos import RepoClient, RepoMetadata, default_cache_dir
from builder.resolve import Resolution, resolve



@dataclass
class PlanResult:
    manifest: Manifest
    metas: list[RepoMetadata]
    resolution: Resolution
    report: compat.Report
    proof: closure.Proof | None = None

    @property
    def problems(self) -> list[str]:
        return self.resolution.problems

    def to_json(self) -> dict[str, Any]:
        data = self.resolution.to_json()
        data["compat"] = self.report.to_json()
        if self.proof is not None:
            data["closure"] = self.proof.to_json()
        return data


@dataclass
class StagedTarget:
    """OUT/<target>/ after a successful fetch: rpms/, bundle.lock.json, sbom.cdx.json."""

    directory: Path
    lock: dict[str, Any]
    manifest: Manifest


def load_metadata(m: Manifest, client: RepoClient, mirrors: dict[str, str], quiet: bool = False) -> list[RepoMetadata]:
    unknown = sorted(set(mirrors) - {r.id for r in m.repos})
    if unknown:
        raise HaBundleError("mirror-unknown-repo", f"--mirror names repos the manifest does not have: {', '.join(unknown)}",
                            [f"repos in {m.path.name}: {', '.join(r.id for r in m.repos)}"],
                            hint="use one of the manifest's repo ids")
    metas = []
    for repo in m.repos:
        baseurl = m.substitute(mirrors.get(repo.id, repo.baseurl))
        if not quiet:
            report.note(f"[dim]metadata[/dim] {repo.id}: {baseurl}")
        metas.append(client.load(repo, baseurl))
    return metas


def resolve_manifest(path: Path, mirrors: dict[str, str] | None = None, cache_dir: Path | None = None,
                     quiet: bool = False) -> PlanResult:
    m = manifest_mod.load(path)
    _check_local_rpms(m)
    client = RepoClient(cache_dir)
    metas = load_metadata(m, client, mirrors or {}, quiet)
    resolution = resolve(m, metas, testcase_dir=client.cache_dir / "testcases", solv_cache=client.cache_dir / "solv")
    if resolution.problems:
        return PlanResult(m, metas, resolution, compat.Report())
    proof = closure.prove_plan(m, resolution)
    return PlanResult(m, metas, resolution, compat.check(m, resolution, proof), proof)


def _check_local_rpms(m: Manifest) -> None:
    for directory in m.install.local_rpms:
        if not directory.is_dir() or not any(directory.glob("*.rpm")):
            raise HaBundleError(
                "local-rpms-empty", f"local_rpms directory {directory} holds no .rpm files",
                [f"manifest: {m.path}", "this target needs RPMs the OS repos do not ship "
                 "(e.g. keepalived 2.0.20 for el7, whose own keepalived is 1.3.5)"],
                hint=f"copy the RPMs (for example your keepalived-2.0.20 build) into {directory}, then run again")


def problems_text(result: PlanResult) -> str:
    lines = [f"cannot resolve target {result.manifest.target.name} ({len(result.problems)} problems):"]
    lines += [f"  - {p}" for p in result.problems]
    if result.resolution.testcase:
        lines.append(f"  solver testcase saved in {result.resolution.testcase}")
    return "\n".join(lines)


def fetch_manifest(path: Path, out_dir: Path, mirrors: dict[str, str] | None = None,
                   cache_dir: Path | None = None, jobs: int = 4) -> StagedTarget:
    """Resolve, download and verify; write OUT/<target>/ only when everything succeeded."""
    from builder import fetch, lock, signatures  # requests is slow to import; `resolve` never needs it

    result = resolve_manifest(path, mirrors, cache_dir)
    if result.problems:
        raise ResolveError("unsatisfiable", f"target {result.manifest.target.name} cannot be resolved",
                           result.problems, hint="see the problems above; `ha-bundle resolve` shows the plan",
                           exit_code=2)
    if result.proof is not None and not result.proof.passed:
        raise ResolveError("closure-unproven", f"target {result.manifest.target.name}: baseline + bundle is not "
                           "a closed set; this bundle would fail onsite", result.proof.failures,
                           hint="add the missing packages to [install] packages, or fix [baseline] "
                                "(docs/manifest.md: baseline)", exit_code=2)
    if result.report.failures:
        raise HaBundleError("compat-failed", f"target {result.manifest.target.name}: compatibility checks failed",
                            result.report.failures, hint="fix the manifest or repos; `ha-bundle resolve` shows the report")
    report.print_plan(result)
    m = result.manifest
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    final = out_dir / m.target.name
    staging = Path(tempfile.mkdtemp(prefix=f".{m.target.name}-", dir=out_dir))
    staging.chmod(0o755)
    try:
        urls = {meta.repo.id: meta for meta in result.metas}
        packages = fetch.download_all(result.resolution.packages, urls, cache / "rpms", staging / "rpms", jobs=jobs)
        signatures.verify(packages, staging / "rpms", {r.id: m.substitute(r.gpgkey) for r in m.repos if r.gpgkey},
                          RepoClient(cache_dir))
        rpm_files = sorted((staging / "rpms").glob("*.rpm"))
        files_report = compat.check_rpm_files(m, rpm_files)
        if files_report.failures:
            raise HaBundleError("compat-failed", f"target {m.target.name}: RPMs the target's rpm cannot install",
                                files_report.failures, hint="rebuild those RPMs for the target, or pick other versions")
        # again, from what was downloaded: the RPM headers are what rpm will check onsite
        proof = closure.prove_plan(m, result.resolution, rpm_files)
        if not proof.passed:
            raise ResolveError("closure-unproven", f"target {m.target.name}: the downloaded RPMs plus the baseline "
                               "are not a closed set; this bundle would fail onsite", proof.failures,
                               hint="the repo metadata and the RPM headers disagree, or a package is missing; "
                                    "check the mirror", exit_code=2)
        data = lock.make_lock(m, result.resolution, packages, result.metas, proof)
        (staging / lock.LOCK_NAME).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        (staging / lock.SBOM_NAME).write_text(json.dumps(lock.make_sbom(data), indent=2, sort_keys=True) + "\n")
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return StagedTarget(final, data, m)
