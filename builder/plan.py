"""The build pipeline's front-end: manifest -> metadata -> resolution -> (download -> lock + SBOM).

Each step lives in its own module; this one only sequences them and reports progress.
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable


from builder import __version__, app, closure, compat, exitcodes, manifest as manifest_mod, outputs, prechecks, report
from builder import signing
from builder.containment import unsafe_fields
from builder.errors import HaBundleError, ResolveError
from builder.manifest import Manifest
from builder.repos import RepoClient, RepoMetadata, default_cache_dir
from builder.resolve import LOCAL_REPO_ID, Resolution, ResolvedPackage, resolve
from builder.transfer import Limits

BUILD_RECORD = "build-record.json"
MAX_PROBLEM_LINES = 50



@dataclass
class PlanResult:
    manifest: Manifest
    metas: list[RepoMetadata]
    resolution: Resolution
    report: compat.Report
    proof: closure.Proof | None = None

    @property
    def problems(self) -> list[str]:
        """The solver's problems, then the closure proof's failures (either makes exit 2)."""
        failures = self.proof.failures if self.proof is not None else []
        return self.resolution.problems + [f"closure: {f}" for f in failures]

    def to_json(self, with_packages: bool = True) -> dict[str, Any]:
        data = self.resolution.to_json(with_packages)
        data["compat"] = self.report.to_json()
        if self.proof is not None:
            data["closure"] = self.proof.to_json()
        return data

    def write_json(self, out: Any) -> None:
        """The same text as json.dumps(self.to_json(), sort_keys=True), written package by package
        (70k package dicts at once would be the biggest thing in memory)."""
        data = self.to_json(with_packages=False)
        out.write("{")
        for index, key in enumerate(sorted(list(data) + ["packages"])):
            out.write((", " if index else "") + json.dumps(key) + ": ")
            if key != "packages":
                out.write(json.dumps(data[key], sort_keys=True))
                continue
            out.write("[")
            for number, package in enumerate(self.resolution.packages):
                out.write((", " if number else "") + json.dumps(package.to_json(), sort_keys=True))
            out.write("]")
        out.write("}\n")


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
                     quiet: bool = False, limits: Limits | None = None,
                     before_fetch: Callable[[Manifest], None] | None = None) -> PlanResult:
    """Manifest -> metadata -> resolution; ``before_fetch`` runs the caller's local checks first."""
    m = manifest_mod.load(path)
    _check_local_rpms(m)
    prechecks.check_manifest(m)
    if before_fetch is not None:
        before_fetch(m)
    client = RepoClient(cache_dir, limits=limits)
    metas = load_metadata(m, client, mirrors or {}, quiet)
    resolution = resolve(m, metas, testcase_dir=client.cache_dir / "testcases", solv_cache=client.cache_dir / "solv")
    if resolution.problems:
        return PlanResult(m, metas, resolution, compat.Report())
    _check_names(resolution.packages + resolution.bootstrap)  # before anything parses or prints them
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
    lines += [f"  - {p}" for p in result.problems[:MAX_PROBLEM_LINES]]
    if len(result.problems) > MAX_PROBLEM_LINES:
        lines.append(f"  ... and {len(result.problems) - MAX_PROBLEM_LINES} more (`ha-bundle resolve --json` lists all)")
    if result.resolution.testcase:
        lines.append(f"  solver testcase saved in {result.resolution.testcase}")
    return "\n".join(lines)


def _check_names(packages: list[ResolvedPackage]) -> None:
    """Names from a mirror become file names, lock entries, purls and header words: plain rpm chars only."""
    bad = []
    for p in packages:
        fields = unsafe_fields(p.name, p.epoch, p.version, p.release, p.arch)
        if fields:
            bad.append(f"repo {p.repo}: {', '.join(fields)}")
    if bad:
        raise HaBundleError("unsafe-package-name", f"{len(bad)} packages from the repos have names with characters "
                            "rpm does not use; refused before downloading", sorted(bad),
                            hint="the repo metadata is hostile or broken: do not use this mirror")


def _local_signatures(m: Manifest, packages: list[ResolvedPackage], rpm_dir: Path, client: RepoClient) -> list[str]:
    """Check local RPMs against install.local_rpms_gpgkey; without one, list them loudly as unsigned."""
    from builder import signatures

    local = [p for p in packages if p.repo == LOCAL_REPO_ID]
    if not local:
        return []
    if m.install.local_rpms_gpgkey:
        signatures.verify(local, rpm_dir, {LOCAL_REPO_ID: m.install.local_rpms_gpgkey}, client)
        return []
    names = sorted(p.filename for p in local)
    sys.stderr.write(f"WARNING: {len(names)} local RPMs are NOT signature-checked (no [install] local_rpms_gpgkey "
                     f"in {m.path.name}); they go into the bundle as they are:\n"
                     + "".join(f"  UNSIGNED {n}\n" for n in names))
    return names


def _build_record(m: Manifest, result: PlanResult, cache: Path, started: float, unsigned: list[str]) -> dict[str, Any]:
    """Where this build came from (paths, mirrors, times): beside the lock, never inside the .run."""
    return {
        "tool": f"ha-bundle {__version__}",
        "code": str(Path(__file__).resolve().parent),
        "manifest": str(m.path),
        "cache": str(cache),
        "repos": [{"id": meta.repo.id, "baseurl": meta.baseurl, "manifest_baseurl": meta.repo.baseurl,
                   "repomd_sha256": meta.repomd_sha256} for meta in result.metas],
        "local_rpms": [str(d) for d in m.install.local_rpms],
        "unsigned_local_rpms": unsigned,
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
    }


def stage_manifest(path: Path, out_dir: Path, mirrors: dict[str, str] | None = None,
                   cache_dir: Path | None = None, jobs: int = 4, limits: Limits | None = None,
                   compression: str | None = None, site: Path | None = None,
                   signer: dict[str, str] | None = None) -> StagedTarget:
    """Resolve, download and verify into an owned staging directory under OUT (not yet published).

    The caller publishes it with ``outputs.commit`` or removes it; a kill -9 leaves it for the
    next run's sweep.
    """
    from builder import fetch, lock, signatures  # requests is slow to import; `resolve` never needs it

    started = time.time()
    out_dir = Path(out_dir)
    result = resolve_manifest(path, mirrors, cache_dir, limits=limits,
                              before_fetch=lambda m: prechecks.check_build(m, out_dir, compression, site))
    if result.proof is not None and not result.proof.passed:
        raise ResolveError("closure-unproven", f"target {result.manifest.target.name}: baseline + bundle is not "
                           "a closed set; this bundle would fail onsite", result.proof.failures,
                           hint="add the missing packages to [install] packages, or fix [baseline] "
                                "(docs/manifest.md: baseline)", exit_code=exitcodes.UNSATISFIABLE)
    if result.problems:
        raise ResolveError("unsatisfiable", f"target {result.manifest.target.name} cannot be resolved",
                           result.problems, hint="see the problems above; `ha-bundle resolve` shows the plan",
                           exit_code=exitcodes.UNSATISFIABLE)
    if result.report.failures:
        raise HaBundleError("compat-failed", f"target {result.manifest.target.name}: compatibility checks failed",
                            result.report.failures, hint="fix the manifest or repos; `ha-bundle resolve` shows the report")
    report.print_plan(result)
    m = result.manifest
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    staging = outputs.owned_dir(out_dir, outputs.STAGE_PREFIX)
    staging.chmod(0o755)
    try:
        urls = {meta.repo.id: meta for meta in result.metas}
        packages = fetch.download_all(result.resolution.packages, urls, cache / "rpms", staging / "rpms", jobs=jobs,
                                      limits=limits)
        client = RepoClient(cache_dir, limits=limits)
        signatures.verify(packages, staging / "rpms", {r.id: m.substitute(r.gpgkey) for r in m.repos if r.gpgkey},
                          client)
        unsigned = _local_signatures(m, packages, staging / "rpms", client)
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
                                    "check the mirror", exit_code=exitcodes.UNSATISFIABLE)
        data = lock.make_lock(m, result.resolution, packages, result.metas, proof)
        if m.app is not None:      # the release, contained and listed file by file
            data["app"] = app.lock_entry(m.app, app.stage(m.app, staging))
        if signer is not None:     # who signs the .run (its .asc covers the whole file)
            data["signer"] = signer
        (staging / lock.LOCK_NAME).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        (staging / lock.SBOM_NAME).write_text(json.dumps(lock.make_sbom(data), indent=2, sort_keys=True) + "\n")
        record = _build_record(m, result, cache, started, unsigned)
        (staging / BUILD_RECORD).write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    except BaseException:
        outputs.remove(staging)
        raise
    return StagedTarget(staging, data, m)


def fetch_manifest(path: Path, out_dir: Path, mirrors: dict[str, str] | None = None,
                   cache_dir: Path | None = None, jobs: int = 4, limits: Limits | None = None) -> StagedTarget:
    """Resolve, download and verify; write OUT/<target>/ only when everything succeeded."""
    staged = stage_manifest(path, out_dir, mirrors, cache_dir, jobs, limits)
    try:
        outputs.commit(Path(out_dir), staged.manifest.target.name, staged.directory, with_run=False)
    except BaseException:
        outputs.remove(staged.directory)
        raise
    final = Path(out_dir) / staged.manifest.target.name
    _warn_if_run_is_stale(Path(out_dir) / outputs.run_name(staged.manifest.target.name), final)
    return StagedTarget(final, staged.lock, staged.manifest)


def _warn_if_run_is_stale(run: Path, final: Path) -> None:
    """fetch replaces the lock only: say so when the .run beside it was built from another lock."""
    from builder import runfile
    from builder.repos import file_digest

    if not run.is_file():
        return
    try:
        baked = runfile.read_header(run).get("HB_LOCK_SHA256")
    except HaBundleError:
        baked = None
    if baked != file_digest(final / "bundle.lock.json"):
        sys.stderr.write(f"WARNING: {run} was built from another lock than the new {final}/bundle.lock.json; "
                         "run ha-bundle build to replace both together.\n")


def build_manifest(path: Path, out_dir: Path, mirrors: dict[str, str] | None = None, cache_dir: Path | None = None,
                   jobs: int = 4, limits: Limits | None = None, compression: str = "xz",
                   site: Path | None = None, sign: str | None = None,
                   gpg_homedir: Path | None = None, update_from: Path | None = None,
                   allow_downgrade: bool = False) -> tuple[Path, str]:
    """Stage, assemble the .run inside the staging directory, then publish .run and lock together.

    With ``update_from`` (a previous .run or lock) the result is an update bundle,
    OUT/ha-installer-<target>-update.run beside OUT/<target>-update/ (builder.update).
    Returns the published .run and its sha256 (of the whole file, as sha256sum prints it).
    """
    from builder import bundle, update
    from builder.repos import file_digest

    out_dir = Path(out_dir)
    signer = signing.signer_of(sign, gpg_homedir) if sign else None    # before any download
    old = None
    if update_from is not None:                                        # before any download too
        old = update.load_old(update_from)
        update.check_same_target(old[0], _target_json(manifest_mod.load(path)), update_from)
    staged = stage_manifest(path, out_dir, mirrors, cache_dir, jobs, limits, compression=compression, site=site,
                            signer=signer)
    target = staged.manifest.target.name
    try:
        if old is not None:
            staged = _as_update(staged, old, allow_downgrade)
            target += update.UPDATE_SUFFIX
        built = bundle.assemble(staged, staged.directory, site=site, compression=compression, cache_dir=cache_dir,
                                run_name=outputs.run_name(target))
        sha256 = file_digest(built)
        if signer is not None:
            signing.sign(built, signer["fingerprint"], gpg_homedir)
        record_path = staged.directory / BUILD_RECORD
        record = json.loads(record_path.read_text())
        record.update({"run": outputs.run_name(target), "run_sha256": sha256,
                       "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
        outputs.commit(out_dir, target, staged.directory, with_run=True)
    except BaseException:
        outputs.remove(staged.directory)
        raise
    return out_dir / outputs.run_name(target), sha256


def _target_json(m: Manifest) -> dict[str, Any]:
    return {"name": m.target.name, "basearch": m.target.basearch, "os_major": m.target.os_major}


def _as_update(staged: StagedTarget, old: tuple[dict[str, Any], str], allow_downgrade: bool) -> StagedTarget:
    """The staged target turned into an update of ``old``: changes printed, downgrades refused
    unless allowed, the ``update`` section written into the staged lock."""
    from builder import lock as lock_mod, update
    from builder.bundle import locked_rpms

    old_lock, old_sha = old
    changes = update.compare(old_lock, staged.lock)
    old_app, new_app = (old_lock.get("app") or {}).get("version"), (staged.lock.get("app") or {}).get("version")
    sys.stderr.write(f"update of lock {old_sha[:16]} ({len(changes.carried)} of "
                     f"{len(locked_rpms(staged.lock))} RPMs carried):\n" + "\n".join(changes.lines()) + "\n")
    if new_app:
        sys.stderr.write(f"  app        {new_app}" + (f" (was {old_app})" if old_app != new_app else " (same)") + "\n")
    update.refuse_rebuilds(changes)
    update.refuse_downgrades(changes, allow_downgrade)
    data = dict(staged.lock, update=update.update_section(old_lock, old_sha, changes))
    (Path(staged.directory) / lock_mod.LOCK_NAME).write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    return StagedTarget(staged.directory, data, staged.manifest)
