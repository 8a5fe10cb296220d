"""Dependency resolution against the *target's* baseline, on libsolv (the only module importing solv).

How the pieces relate: ``plan`` reads the manifest and repo metadata and calls ``resolve()``.
``TargetPool`` loads everything into one libsolv Pool set to the target's arch, following
libsolv's own order (pysolv): setarch -> repos (+filelists) -> local RPMs -> addfileprovides ->
createwhatprovides. Modularity (``modularity``) only decides which solvables are *considered*.
The baseline is solved first and copied into an ``@System`` repo; then all requested roots are
solved in one run (never package by package) and the transaction is split into new packages,
baseline upgrades and baseline removals.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any, Iterable

import solv

from builder import rpmheader
from builder.errors import ResolveError
from builder.manifest import Baseline, Install, Manifest, PackageSpec
from builder.packages import LOCAL_REPO_ID, PackageFacts, ResolvedPackage, Resolution
from builder.modularity import ModuleIndex, Visibility, host_module_changes, normalise_nevra, visibility
from builder.repos import RepoMetadata, file_digest

SYSTEM_REPO_ID = "@System"
_REL = {"=": solv.REL_EQ, "<": solv.REL_LT, ">": solv.REL_GT,
        "<=": solv.REL_LT | solv.REL_EQ, ">=": solv.REL_GT | solv.REL_EQ}
# what an installed package contributes to a solve (its weak deps only matter when installing it)
_DEP_KEYS = (solv.SOLVABLE_PROVIDES, solv.SOLVABLE_REQUIRES, solv.SOLVABLE_CONFLICTS,
             solv.SOLVABLE_OBSOLETES)


class TargetPool:
    """One libsolv pool for one target: repos, local RPMs and the baseline as @System."""

    def __init__(self, basearch: str, platform_id: str = "") -> None:
        self.pool = solv.Pool()
        self.pool.setdisttype(solv.Pool.DISTTYPE_RPM)
        # explicitly the target's arch, never the build host's default (STYLE.md)
        self.pool.setarch(basearch)
        self.repo_meta: dict[str, RepoMetadata] = {}
        self.hotfix_repos: set[str] = set()
        self.local_files: dict[int, Path] = {}
        self.modules = ModuleIndex(platform=platform_id.partition(":")[2])
        self.file_deps: list[int] = []
        self.visible: list[int] | None = None  # modularity: ids not hidden (None: all)

    # -- loading ---------------------------------------------------------------------------
    def add_rpmmd(self, meta: RepoMetadata, priority: int = 99) -> None:
        repo = self.pool.add_repo(meta.repo.id)
        repo.appdata = meta
        self._read(repo, meta, "primary", None, 0)
        # file dependencies (/bin/sh, /usr/bin/python3) resolve only with filelists
        # loaded as an extension of the same solvables (DESIGN.md s.3)
        self._read(repo, meta, "filelists", "FL", solv.Repo.REPO_EXTEND_SOLVABLES | solv.Repo.REPO_LOCALPOOL)
        repo.priority = -priority  # libsolv: higher wins; dnf: lower wins
        self.repo_meta[meta.repo.id] = meta
        if meta.repo.module_hotfixes:
            self.hotfix_repos.add(meta.repo.id)
        if "modules" in meta.files:
            self.modules.add_yaml(meta.files["modules"].path)

    def add_cached(self, meta: RepoMetadata, path: Path, priority: int = 99) -> None:
        """A repo from our .solv cache: primary plus the file provides the pool needs."""
        repo = self.pool.add_repo(meta.repo.id)
        handle = solv.xfopen(str(path))
        try:
            if handle is None or not repo.add_solv(handle):
                raise OSError(f"unreadable solv cache {path}")
        finally:
            if handle is not None:
                handle.close()
        repo.priority = -priority
        self.repo_meta[meta.repo.id] = meta
        if meta.repo.module_hotfixes:
            self.hotfix_repos.add(meta.repo.id)
        if "modules" in meta.files:
            self.modules.add_yaml(meta.files["modules"].path)

    def write_cache(self, paths: dict[str, Path]) -> None:
        """After addfileprovides: write each repo's first repodata (no filelists), like dnf."""
        for repo in self.pool.repos:
            path = paths.get(repo.name)
            if path is None:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            # record which file provides this cache already holds (pysolv's updateaddedprovides):
            # libsolv's addfileprovides then skips searching it on the next load
            repodata = repo.first_repodata()
            if repodata is not None:
                for dep_id in self.file_deps:
                    repodata.add_idarray(solv.SOLVID_META, solv.REPOSITORY_ADDEDFILEPROVIDES, dep_id)
                repodata.internalize()
            tmp = path.with_name(path.name + ".tmp")
            handle = solv.xfopen(str(tmp), "w")
            try:
                ok = repo.write_first_repodata(handle)
            finally:
                handle.close()
            if ok:
                tmp.replace(path)
            else:
                tmp.unlink(missing_ok=True)

    def _read(self, repo: Any, meta: RepoMetadata, mdtype: str, language: str | None, flags: int) -> None:
        handle = solv.xfopen(str(meta.files[mdtype].path))
        if handle is None:
            raise ResolveError("metadata-unreadable", f"repo {meta.repo.id}: cannot open {mdtype} metadata",
                               [str(meta.files[mdtype].path)], hint="clear the cache directory and retry")
        try:
            if not repo.add_rpmmd(handle, language, flags):
                raise ResolveError("metadata-unreadable", f"repo {meta.repo.id}: {mdtype} metadata cannot be parsed",
                                   [self.pool.errstr], hint="the repo metadata is damaged; retry or use another mirror")
        finally:
            handle.close()

    def add_local_rpms(self, paths: Iterable[Path]) -> None:
        """RPM files read with rpmfile (PyPI libsolv cannot read rpm headers itself)."""
        repo = self.pool.add_repo(LOCAL_REPO_ID)
        for path in paths:
            try:
                h = rpmheader.read(path)
            except ValueError as exc:
                raise ResolveError("local-rpm-unreadable", f"cannot read local RPM {path}", [str(exc)],
                                   hint="remove or replace the damaged file") from None
            s = repo.add_solvable()
            s.name, s.evr, s.arch = rpmheader.identity(h)
            if h.get("vendor"):
                s.vendor = rpmheader.text(h.get("vendor"))
            for key, kind in ((solv.SOLVABLE_PROVIDES, "provides"), (solv.SOLVABLE_REQUIRES, "requires"),
                              (solv.SOLVABLE_CONFLICTS, "conflicts"), (solv.SOLVABLE_OBSOLETES, "obsoletes")):
                for name, op, version in rpmheader.dependencies(h, kind):
                    s.add_deparray(key, self._dep(name, op, version))
            s.add_deparray(solv.SOLVABLE_PROVIDES, self.pool.Dep(s.name).Rel(solv.REL_EQ, self.pool.Dep(s.evr)))
            for file_name in rpmheader.file_names(h):
                s.add_deparray(solv.SOLVABLE_PROVIDES, self.pool.Dep(file_name))
            self.local_files[s.id] = Path(path).resolve()
        repo.internalize()

    def _dep(self, name: str, op: str, version: str) -> Any:
        if name.startswith("("):  # rich dependency: the whole expression is the name
            rich = self.pool.parserpmrichdep(name)
            if rich is not None:
                return rich
        dep = self.pool.Dep(name)
        return dep.Rel(_REL[op], self.pool.Dep(version)) if op and version else dep

    def finish_loading(self, module_choice: Any) -> Visibility:
        """addfileprovides before createwhatprovides, else file requires silently fail.

        Needed for cached pools too: it also tells libsolv that file provides are in place
        (without it every file dependency is searched the slow way, ~100x slower).
        """
        # addfileprovides_queue == addfileprovides, and tells which file deps exist
        self.file_deps = list(self.pool.addfileprovides_queue())
        self.pool.createwhatprovides()
        vis = visibility(self.modules, module_choice)
        if vis.modular:
            # applied as libsolv's considered map only once @System exists (install_system):
            # the binding sizes that map once, so solvables added later would be written past it
            self.visible = [s.id for s in self.pool.solvables_iter()
                            if not vis.hidden(self._nevra(s), s.name, s.repo.name in self.hotfix_repos,
                                              self.provided_names(s))]
        return vis

    def allowed_ids(self, repos: tuple[str, ...]) -> set[int] | None:
        """Solvables a solve before install_system may use: visible, and in ``repos`` if given."""
        if not repos and self.visible is None:
            return None
        visible = set(self.visible) if self.visible is not None else None
        return {s.id for s in self.pool.solvables_iter()
                if (not repos or s.repo.name in repos) and (visible is None or s.id in visible)}

    def provided_names(self, s: Any) -> frozenset[str]:
        """Names a solvable provides (versions dropped)."""
        return frozenset(str(dep).split(" ", 1)[0] for dep in s.lookup_deparray(solv.SOLVABLE_PROVIDES))

    @staticmethod
    def _nevra(s: Any) -> str:
        return normalise_nevra(s.name, *split_evr(s.evr), s.arch)

    def dep(self, spec: PackageSpec) -> Any:
        """A libsolv dependency for ``name`` or ``name OP evr``."""
        dep = self.pool.Dep(spec.name)
        return dep.Rel(_REL[spec.op], self.pool.Dep(spec.evr)) if spec.op else dep

    # -- baseline ---------------------------------------------------------------------------
    def install_system(self, solvables: list[Any]) -> None:
        """Copy solvables into @System, the installed repo the real solve runs against."""
        # file provides live apart from the provides array: copy the ones any package requires
        # (before add_repo: whatprovides is invalid, and crashes, once the pool changes)
        chosen = {src.id for src in solvables}
        file_provides: dict[int, list[str]] = {}
        for dep_id in self.file_deps:
            for provider in self.pool.whatprovides(dep_id):
                if provider.id in chosen:
                    file_provides.setdefault(provider.id, []).append(self.pool.id2str(dep_id))
        system = self.pool.add_repo(SYSTEM_REPO_ID)
        for src in solvables:
            s = system.add_solvable()
            s.name, s.evr, s.arch = src.name, src.evr, src.arch
            if src.vendorid:  # copy the id: no vendor must stay no vendor, not "<NULL>"
                s.vendorid = src.vendorid
            for key in _DEP_KEYS:
                for dep in src.lookup_deparray(key):
                    s.add_deparray(key, dep)
            for path in file_provides.get(src.id, []):
                s.add_deparray(solv.SOLVABLE_PROVIDES, self.pool.Dep(path))
        system.internalize()
        self.pool.installed = system
        if self.visible is not None:  # the first and only set_considered_list: sized for every solvable
            self.pool.set_considered_list(self.visible + [s.id for s in system.solvables_iter()])
        self.pool.createwhatprovides()  # after the considered map: whatprovides leaves hidden ones out

    # -- solving ----------------------------------------------------------------------------
    def select(self, spec: PackageSpec, names_only: bool = False) -> Any:
        """Packages named by spec; unless names_only, packages providing it when none is named."""
        flags = solv.Selection.SELECTION_NAME | solv.Selection.SELECTION_DOTARCH
        text = str(spec)
        if spec.op:
            flags |= solv.Selection.SELECTION_REL
        sel = self.pool.select(text, flags)
        if sel.isempty() and not names_only:
            sel = self.pool.select(text, solv.Selection.SELECTION_PROVIDES | solv.Selection.SELECTION_REL)
        return sel

    def solve_baseline(self, specs: list[PackageSpec], repos: tuple[str, ...]) -> tuple[Any, Any, list[Any], list[str]]:
        """The host as the manifest names it: each name is that very package (never a provider or
        an obsoleter), everything from ``repos`` (and visible) only, kept there by lock jobs."""
        allowed = self.allowed_ids(repos)
        jobs: list[Any] = []
        unmatched: list[str] = []
        for spec in specs:
            ids = [s.id for s in self.select(spec, names_only=True).solvables() if allowed is None or s.id in allowed]
            if not ids:
                where = f" in repos {', '.join(repos)}" if repos else ""
                unmatched.append(f"no package named {spec.name}{where}; check the name or [baseline] repos")
                continue
            jobs.append(self.pool.Job(solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_SOLVABLE_ONE_OF,
                                      self.pool.towhatprovides(ids)))
        if allowed is not None:
            locked = [s.id for s in self.pool.solvables_iter() if s.id not in allowed]
            if locked:
                jobs.append(self.pool.Job(solv.Job.SOLVER_LOCK | solv.Job.SOLVER_SOLVABLE_ONE_OF,
                                          self.pool.towhatprovides(locked)))
        return self._run(jobs, unmatched)

    def solve(self, specs: list[PackageSpec]) -> tuple[Any, Any, list[Any], list[str]]:
        """Solve all roots in one run; returns (solver, transaction, problems, unmatched)."""
        jobs: list[Any] = []
        unmatched: list[str] = []
        for spec in specs:
            sel = self.select(spec)
            if sel.isempty():
                unmatched.append(self.explain_unmatched(spec))
                continue
            obsoleters = self.obsoleters_of(sel.solvables())
            if obsoleters:
                # like dnf (obsoletes=True): a package the repos obsolete may be replaced by its
                # obsoleter, e.g. mariadb-server -> mysql-community-server
                ids = sorted({s.id for s in sel.solvables()} | {s.id for s in obsoleters})
                jobs.append(self.pool.Job(solv.Job.SOLVER_INSTALL | solv.Job.SOLVER_SOLVABLE_ONE_OF,
                                          self.pool.towhatprovides(ids)))
            else:
                jobs += sel.jobs(solv.Job.SOLVER_INSTALL)
        return self._run(jobs, unmatched)

    def _run(self, jobs: list[Any], unmatched: list[str]) -> tuple[Any, Any, list[Any], list[str]]:
        solver = self.pool.Solver()
        # like dnf: no vendor change, best candidates obey policy, yum-style obsoletes
        solver.set_flag(solv.Solver.SOLVER_FLAG_ALLOW_VENDORCHANGE, 0)
        solver.set_flag(solv.Solver.SOLVER_FLAG_BEST_OBEY_POLICY, 1)
        solver.set_flag(solv.Solver.SOLVER_FLAG_YUM_OBSOLETES, 1)
        problems = solver.solve(jobs) if jobs or not unmatched else []
        return solver, solver.transaction(), problems, unmatched

    def obsoleters_of(self, selected: list[Any]) -> list[Any]:
        """Considered repo packages whose Obsoletes match any selected package (one C call each)."""
        considered = set(self.pool.get_considered_list())
        out: dict[int, Any] = {}
        for target in selected:
            dep = self.pool.Dep(target.name).Rel(solv.REL_EQ, self.pool.Dep(target.evr))
            for cand in self.pool.whatmatchesdep(solv.SOLVABLE_OBSOLETES, dep):
                # an installed obsoleter counts too: the name is then satisfied as it is (dnf
                # installs nothing), instead of carrying the installed NEVRA again
                if cand.name != target.name and cand.id in considered:
                    out[cand.id] = cand
        return list(out.values())

    def explain_unmatched(self, spec: PackageSpec) -> str:
        repos = ", ".join(sorted(r.name for r in self.pool.repos if r.name != SYSTEM_REPO_ID)) or "none"
        same_name = [s for s in self.pool.solvables_iter() if s.name == spec.name and s.repo.name != SYSTEM_REPO_ID]
        considered = set(self.pool.get_considered_list() or [])
        if same_name and considered:
            visible = [s for s in same_name if s.id in considered]
            hidden = [s for s in same_name if s.id not in considered]
        else:
            visible, hidden = same_name, []
        if not same_name:
            return f"no package named {spec.name} in repos {repos}; check the name or add the repo that has it"
        avail = ", ".join(sorted(str(s) for s in visible)) or "none visible"
        msg = f"no package matches '{spec}' in repos {repos} (available: {avail})"
        if hidden:
            msg += f"; hidden by modularity: {', '.join(sorted(str(s) for s in hidden))} (enable its module stream in [modules])"
        return msg

    def describe_problem(self, problem: Any) -> str:
        sentences = []
        for rule in problem.findallproblemrules():
            for info in rule.allinfos():
                sentences.append(self._sentence(info))
        if not sentences:
            sentences.append(str(problem))
        text = "; ".join(dict.fromkeys(sentences))
        fixes = []
        for solution in problem.solutions():
            fixes.append(" and ".join(str(e) for e in solution.elements(True)))
        if fixes:
            text += " (possible fixes: " + " | ".join(f"{i + 1}. {f}" for i, f in enumerate(fixes)) + ")"
        return text

    def _sentence(self, info: Any) -> str:
        repos = ", ".join(sorted(r.name for r in self.pool.repos
                                 if r.name not in (SYSTEM_REPO_ID,))) or "none"
        if info.type == solv.Solver.SOLVER_RULE_PKG_NOTHING_PROVIDES_DEP:
            return f"{info.solvable} needs {info.dep}; no package in repos {repos} provides it"
        if info.type == solv.Solver.SOLVER_RULE_JOB_NOTHING_PROVIDES_DEP:
            return f"nothing in repos {repos} provides {info.dep}"
        if info.type == solv.Solver.SOLVER_RULE_PKG_REQUIRES:
            return f"{info.solvable} needs {info.dep}, but every package that provides it cannot be installed"
        if info.type == solv.Solver.SOLVER_RULE_PKG_CONFLICTS:
            return f"{info.solvable} conflicts with {info.dep}, provided by {info.othersolvable}"
        if info.type == solv.Solver.SOLVER_RULE_PKG_OBSOLETES:
            return f"{info.solvable} obsoletes {info.dep}, provided by {info.othersolvable}"
        if info.type == solv.Solver.SOLVER_RULE_PKG_SAME_NAME:
            return f"cannot install both {info.solvable} and {info.othersolvable}"
        return info.problemstr()


class WorldSource:
    """What the closure proof needs from the loaded metadata: facts of packages, no solving."""

    def __init__(self, tp: TargetPool, baseline: list[Any], carried: list[Any]) -> None:
        self._tp = tp
        self._baseline = baseline
        self._carried = carried
        self._dep_text: dict[int, str] = {}
        self._files: dict[int, list[str]] | None = None
        self._carried_facts: list[PackageFacts] | None = None

    def texts(self, s: Any, key: int) -> tuple[str, ...]:
        # plain ids (no wrapper objects) and one dep2str per distinct dependency
        cache, dep2str = self._dep_text, self._tp.pool.dep2str
        out = []
        for dep_id in s.lookup_idarray(key):
            text = cache.get(dep_id)
            if text is None:
                text = cache[dep_id] = dep2str(dep_id)
            out.append(text)
        return tuple(out)

    def _file_map(self) -> dict[int, list[str]]:
        if self._files is None:
            self._files = {}
            for dep_id in self._tp.file_deps:
                path = self._tp.pool.id2str(dep_id)
                for provider in self._tp.pool.whatprovides(dep_id):
                    self._files.setdefault(provider.id, []).append(path)
        return self._files

    def _facts(self, s: Any, extra_files: dict[int, list[str]]) -> PackageFacts:
        files = tuple(self._file_map().get(s.id, ())) + tuple(extra_files.get(s.id, ()))
        provides = tuple(t for t in self.texts(s, solv.SOLVABLE_PROVIDES) if not t.startswith("/"))
        return PackageFacts(s.name, s.evr, sys.intern(s.arch), sys.intern(s.repo.name),  # 70k copies otherwise
                            provides,
                            self.texts(s, solv.SOLVABLE_REQUIRES), self.texts(s, solv.SOLVABLE_CONFLICTS),
                            self.texts(s, solv.SOLVABLE_OBSOLETES), files)

    def baseline(self, more_files: Iterable[str] = ()) -> list[PackageFacts]:
        """The baseline as installed (the @System copies, which modularity never hides, with the
        file provides every repo package needs); more_files: paths metadata never named."""
        extra: dict[int, list[str]] = {}
        known = {self._tp.pool.id2str(i) for i in self._tp.file_deps}
        ids = {s.id for s in self._baseline}
        for path in sorted(set(more_files) - known):
            di = self._tp.pool.Dataiterator(solv.SOLVABLE_FILELIST, path,
                                            solv.Dataiterator.SEARCH_STRING | solv.Dataiterator.SEARCH_FILES)
            for d in di:
                if d.solvid in ids:
                    extra.setdefault(d.solvid, []).append(path)
        installed = self._tp.pool.installed
        copies = list(installed.solvables_iter()) if installed is not None else []
        if len(copies) != len(self._baseline):  # no @System (tests driving the pool by hand)
            return [self._facts(s, extra) for s in self._baseline]
        out = []
        for original, copy in zip(self._baseline, copies):  # install_system keeps the order
            texts = self.texts(copy, solv.SOLVABLE_PROVIDES)
            out.append(PackageFacts(copy.name, copy.evr, copy.arch, original.repo.name,
                                    tuple(t for t in texts if not t.startswith("/")),
                                    self.texts(copy, solv.SOLVABLE_REQUIRES),
                                    self.texts(copy, solv.SOLVABLE_CONFLICTS),
                                    self.texts(copy, solv.SOLVABLE_OBSOLETES),
                                    tuple(t for t in texts if t.startswith("/")) + tuple(extra.get(original.id, ()))))
        return out

    def carried(self) -> list[PackageFacts]:
        """Read once: host_modules (el8+) and the closure proof both ask for them."""
        if self._carried_facts is None:
            self._carried_facts = [self._facts(s, {}) for s in self._carried]
        return self._carried_facts


def split_evr(evr: str) -> tuple[str, str, str]:
    """'1:1.0.2k-19.el7' -> ('1', '1.0.2k', '19.el7'); no epoch -> '0'."""
    epoch, _, rest = evr.partition(":") if ":" in evr else ("0", "", evr)
    version, _, release = rest.rpartition("-")
    return epoch, version, release


def _package_from(tp: TargetPool, s: Any, texts: Any = None) -> ResolvedPackage:
    """texts: a WorldSource's dependency-text reader (cached), else plain str() of each dep."""
    # each attribute of a SWIG solvable is a C call: read each once (7k packages matter)
    name, arch = s.name, s.arch
    epoch, version, release = split_evr(s.evr)
    requires = texts(s, solv.SOLVABLE_REQUIRES) if texts else tuple(map(str, s.lookup_deparray(solv.SOLVABLE_REQUIRES)))
    if s.id in tp.local_files:
        path = tp.local_files[s.id]
        sha256 = file_digest(path)
        return ResolvedPackage(name, epoch, version, release, arch, LOCAL_REPO_ID, str(path),
                               sha256, path.stat().st_size, requires, f"sha256:{sha256}")
    chk = s.lookup_checksum(solv.SOLVABLE_CHECKSUM)
    if chk is not None:
        kind, digest = chk.typestr(), chk.hex()
        checksum, sha256 = f"{kind}:{digest}", digest if kind == "sha256" else ""
    else:
        checksum = sha256 = ""
    loc = s.lookup_location()
    location = loc[0] if loc else ""
    size = s.lookup_num(solv.SOLVABLE_DOWNLOADSIZE) or 0
    return ResolvedPackage(name, epoch, version, release, arch, s.repo.name, location, sha256, int(size),
                           requires, checksum)


def _read_rpm_qa(path: Path) -> list[str]:
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise ResolveError("baseline-unreadable", f"cannot read baseline file {path}", [str(exc.strerror)],
                           hint="give [baseline] rpm_qa the output of `rpm -qa` from a real target host",
                           exit_code=1) from None
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def _baseline_from_rpm_qa(tp: TargetPool, entries: list[str], result: Resolution) -> list[Any]:
    by_nevra: dict[str, Any] = {}
    for s in tp.pool.solvables_iter():
        evr = s.evr.split(":", 1)[-1]
        by_nevra.setdefault(f"{s.name}-{evr}.{s.arch}", s)
        by_nevra.setdefault(str(s), s)
    chosen, missing = [], []
    for entry in entries:
        entry = entry[:-4] if entry.endswith(".rpm") else entry
        s = by_nevra.get(entry)
        (chosen if s is not None else missing).append(s if s is not None else entry)
    if missing:
        result.warnings.append(
            f"{len(missing)} baseline packages from rpm -qa are not in the repos and were left out of the "
            f"model: {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
    return chosen


def infer_baseline_repos(tp: TargetPool, names: Iterable[str]) -> tuple[str, ...]:
    """Repos that could be the install media: each ships *every* name of the baseline.

    A minimal install comes from the install media alone: an updates repo (only some of the
    names, newer builds) or a third-party repo (MySQL community, EPEL, a vendor's iptables)
    must never decide what the host already has.
    """
    wanted = {n.rsplit(".", 1)[0] if n.rsplit(".", 1)[-1] in _ARCH_SUFFIXES else n for n in names}
    held: dict[str, set[str]] = {}
    for s in tp.pool.solvables_iter():
        if s.name in wanted and s.repo.name in tp.repo_meta:
            held.setdefault(s.repo.name, set()).add(s.name)
    return tuple(repo_id for repo_id in tp.repo_meta if held.get(repo_id) == wanted)


_ARCH_SUFFIXES = {"x86_64", "aarch64", "ppc64le", "s390x", "i686", "noarch"}


_RELOAD_ABOVE = 30_000  # solvables: below this the filelists cost little and a reload costs time


def _load_pool(manifest: Manifest, metas: list[RepoMetadata], local_paths: list[Path],
               cache_paths: dict[str, Path]) -> TargetPool:
    """One pool for the target: from the .solv cache when given, else the metadata + filelists."""
    tp = TargetPool(manifest.target.basearch, manifest.target.platform_id)
    for meta in metas:
        if cache_paths:
            tp.add_cached(meta, cache_paths[meta.repo.id])
        else:
            tp.add_rpmmd(meta)
    if local_paths:
        tp.add_local_rpms(local_paths)
    tp.finish_loading(manifest.modules)
    return tp


def _solv_cache_paths(metas: list[RepoMetadata], local_paths: list[Path], directory: Path) -> dict[str, Path]:
    """One .solv per repo, keyed by every input that decides which file provides it holds."""
    digest = hashlib.sha256(f"{solv.__name__}:{getattr(solv, 'VERSION', '')}:v1".encode())
    for meta in metas:
        for mdtype in ("primary", "filelists"):
            digest.update(f"{meta.repo.id}:{mdtype}:{meta.files[mdtype].checksum}\n".encode())
    for path in local_paths:
        digest.update(f"{path}:{path.stat().st_size}:{path.stat().st_mtime_ns}\n".encode())
    key = digest.hexdigest()[:24]
    return {meta.repo.id: directory / f"{key}-{meta.repo.id}.solv" for meta in metas}


def resolve(manifest: Manifest, metas: list[RepoMetadata], testcase_dir: Path | None = None,
            solv_cache: Path | None = None) -> Resolution:
    """The packages a target needs on top of its baseline; problems instead of raising."""
    local_paths = []
    for directory in manifest.install.local_rpms:
        local_paths += sorted(directory.glob("*.rpm"))
    cache_paths = _solv_cache_paths(metas, local_paths, solv_cache) if solv_cache else {}
    use_cache = bool(cache_paths) and all(p.exists() for p in cache_paths.values())
    tp = _load_pool(manifest, metas, local_paths, cache_paths if use_cache else {})
    if cache_paths and not use_cache:
        tp.write_cache(cache_paths)
        if sum(repo.nsolvables for repo in tp.pool.repos) > _RELOAD_ABOVE:
            # the filelists (30 paths a package) are only needed to find file provides, which
            # the cache now holds: solve from the cache, with the first pool freed
            tp.pool.free()
            tp = _load_pool(manifest, metas, local_paths, cache_paths)
    result = solve_target(tp, manifest.target.name, manifest.baseline, manifest.install, testcase_dir)
    if tp.modules.streams and not result.problems and result.world is not None:
        carried = [(f.name, normalise_nevra(f.name, *split_evr(f.evr), f.arch),
                    frozenset(t.split(" ", 1)[0] for t in f.provides)) for f in result.world.carried()]
        result.host_modules = host_module_changes(tp.modules, manifest.modules, carried)
    return result


def solve_target(tp: TargetPool, target: str, baseline: Baseline, install: Install,
                 testcase_dir: Path | None = None) -> Resolution:
    """Baseline into @System, then every root in one run (tests/resolve/cases drive this directly)."""
    result = Resolution(target)
    # 1. the baseline: what a minimal install of the target already has
    if baseline.rpm_qa is not None:
        base_solvables = _baseline_from_rpm_qa(tp, _read_rpm_qa(baseline.rpm_qa), result)
    else:
        specs = [PackageSpec(n) for n in baseline.packages]
        base_repos = baseline.repos or (tuple(tp.repo_meta) if len(tp.repo_meta) == 1 else ())
        if not base_repos and len(tp.repo_meta) > 1:
            base_repos = infer_baseline_repos(tp, baseline.packages)
            if len(base_repos) != 1:
                candidates = ", ".join(base_repos) if base_repos else "none ships them all"
                raise ResolveError(
                    "baseline-repos-needed", "[baseline] repos is not set and the manifest has "
                    f"{len(tp.repo_meta)} repos: which of them is the install media cannot be told",
                    [f"repos shipping every [baseline] package: {candidates}"],
                    hint="name the OS's own repos a minimal install comes from, e.g. "
                         f'repos = ["{base_repos[0] if base_repos else next(iter(tp.repo_meta))}"] '
                         "in [baseline] (docs/manifest.md)", exit_code=1)
            result.warnings.append(
                f"[baseline] repos is not set: the baseline was solved in {base_repos[0]}, the only repo "
                f"that ships every [baseline] package; write repos = {json.dumps(list(base_repos))} in "
                "[baseline] to make this explicit")
        result.baseline_repos = tuple(base_repos)
        # a baseline name is that very package, never a provider or an obsoleter of it
        _, trans, problems, unmatched = tp.solve_baseline(specs, base_repos)
        if problems or unmatched:
            result.problems += [f"baseline: {m}" for m in unmatched]
            result.problems += [f"baseline: {tp.describe_problem(p)}" for p in problems]
            return result
        base_solvables = list(trans.newsolvables())
    tp.install_system(base_solvables)
    result.baseline = sorted(str(s) for s in base_solvables)
    installed_names = {s.name for s in base_solvables}

    # 2. python3 for the onsite code when the target lacks it (el7)
    specs = list(install.packages)
    if install.bootstrap_python:
        boot_spec = PackageSpec("python3")
        _, trans, problems, unmatched = tp.solve([boot_spec])
        if problems or unmatched:
            result.problems += [f"bootstrap_python: {m}" for m in unmatched]
            result.problems += [f"bootstrap_python: {tp.describe_problem(p)}" for p in problems]
        else:
            result.bootstrap = sorted((_package_from(tp, s) for s in trans.newsolvables()), key=lambda p: p.nevra)
        specs.append(boot_spec)

    # 3. every requested root in one solver run
    solver, trans, problems, unmatched = tp.solve(specs)
    result.problems += unmatched
    if problems:
        result.problems += [tp.describe_problem(p) for p in problems]
        if testcase_dir is not None:
            where = testcase_dir / f"{target}-{time.strftime('%Y%m%dT%H%M%S')}"
            where.mkdir(parents=True, exist_ok=True)
            solver.write_testcase(str(where))
            result.testcase = str(where)
    if result.problems:
        return result
    new_solvables = list(trans.newsolvables())
    result.world = WorldSource(tp, base_solvables, new_solvables)
    new = sorted((_package_from(tp, s, result.world.texts) for s in new_solvables), key=lambda p: p.nevra)
    result.packages = new
    result.baseline_upgrades = [p for p in new if p.name in installed_names]
    kept = {s.id for s in trans.keptsolvables()}
    new_names = {p.name for p in new}
    result.baseline_removals = sorted(str(s) for s in tp.pool.installed.solvables_iter()
                                      if s.id not in kept and s.name not in new_names)
    return result


def evr_order(first: str, second: str) -> int:
    """rpm's order of two [epoch:]version-release strings: <0 older, 0 same, >0 newer."""
    pool = solv.Pool()
    repo = pool.add_repo("evr")
    pair = []
    for evr in (first, second):
        solvable = repo.add_solvable()
        solvable.name, solvable.evr, solvable.arch = "x", evr, "noarch"
        pair.append(solvable)
    return int(pair[0].evrcmp(pair[1]))
