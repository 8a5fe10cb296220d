"""The closure proof: baseline as installed + carried packages is a set rpm will accept.

Separate from the solve on purpose (it checks the resolver's answer, it does not ask the
solver again): a fresh libsolv pool holds only the final world (the baseline packages that
stay, plus what the bundle carries), and each package's dependencies are checked one by one
the way rpm checks an installed set:
- every Requires (plain, versioned, file and rich/boolean) is met by some package of the world;
- no Conflicts matches another package of the world;
- every baseline package the bundle upgrades (same name) or obsoletes is listed as such;
- every name in ``[baseline] packages`` is installed as that very package (never an obsoleter).
libsolv only answers "who provides this dependency"; rich dependencies are evaluated here.
The carried packages come from the repo metadata at resolve time and from the downloaded RPM
headers at build time, so the proof at build time reads what will really be installed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import solv

from builder import rpmheader
# the data types live with the other plain records (read without importing libsolv)
from builder.packages import PackageFacts, Proof  # noqa: F401

if TYPE_CHECKING:
    from builder.manifest import Manifest

# RPMSENSE bits / textual operators -> libsolv relation flags
_REL = {"=": solv.REL_EQ, "<": solv.REL_LT, ">": solv.REL_GT, "<=": solv.REL_LT | solv.REL_EQ,
        ">=": solv.REL_GT | solv.REL_EQ}
_PLAIN_DEP = re.compile(r"^(?P<name>\S+)(?:\s+(?P<op><=|>=|=|<|>)\s+(?P<evr>\S+))?$")
_RICH_OPS = ("and", "or", "if", "unless", "with", "without", "else")


def _rich_tokens(text: str) -> list[str]:
    """Split like rpm's rpmrichParse: '(' and ')' around terms; a name runs to whitespace and
    keeps balanced parentheses of its own (``glibc(x86-64)``, ``libfoo.so.1()(64bit)``)."""
    tokens: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            tokens.append(ch)
            i += 1
        else:
            start, depth = i, 0
            while i < n and not text[i].isspace():
                if text[i] == "(":
                    depth += 1
                elif text[i] == ")":
                    if depth == 0:
                        break
                    depth -= 1
                i += 1
            tokens.append(text[start:i])
    return tokens


def _dep_name(text: str) -> str:
    """The name part of 'name OP evr' (a path stays whole)."""
    return text if text.startswith("/") else text.split(" ", 1)[0]


class _RichParser:
    """rpm boolean dependencies: (A and B), (A if B else C), (A with B), nested."""

    def __init__(self, text: str) -> None:
        self.tokens = _rich_tokens(text)
        self.pos = 0

    def parse(self) -> Any:
        node = self._term()
        if self.pos != len(self.tokens):
            raise ValueError("trailing text")
        return node

    def _peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take(self) -> str:
        token = self._peek()
        if token is None:
            raise ValueError("unexpected end")
        self.pos += 1
        return token

    def _term(self) -> Any:
        if self._peek() != "(":
            return self._simple()
        self._take()
        left = self._term()
        op = self._peek()
        if op == ")":
            self._take()
            return left
        if op not in _RICH_OPS or op == "else":
            raise ValueError(f"unknown operator {op!r}")
        self._take()
        right = self._term()
        if op in ("and", "or"):
            items = [left, right]
            while self._peek() == op:
                self._take()
                items.append(self._term())
            node: Any = (op, items)
        elif op in ("if", "unless") and self._peek() == "else":
            self._take()
            node = (op, [left, right, self._term()])
        else:
            node = (op, [left, right])
        if self._take() != ")":
            raise ValueError("expected ')'")
        return node

    def _simple(self) -> Any:
        name = self._take()
        if self._peek() in _REL:
            op = self._take()
            return ("dep", f"{name} {op} {self._take()}")
        return ("dep", name)


class World:
    """A fresh pool holding exactly the packages that would be installed."""

    def __init__(self, basearch: str, packages: Iterable[PackageFacts]) -> None:
        packages = list(packages)
        # only provides some package of this world asks for (requires/conflicts names): on a big
        # repo most provides are never asked for, and the pool is then much smaller
        asked: set[str] = set()
        for p in packages:
            for text in p.requires + p.conflicts:
                if text.startswith("("):
                    asked.update(_rich_tokens(text))
                else:
                    asked.add(_dep_name(text))
        self.pool = solv.Pool()
        self.pool.setdisttype(solv.Pool.DISTTYPE_RPM)
        self.pool.setarch(basearch)
        self.repo = self.pool.add_repo("world")
        self.facts: dict[int, PackageFacts] = {}
        self._ids: dict[str, int] = {}  # dependency text -> libsolv id (ints: no wrapper objects)
        self._providers: dict[int, frozenset[int]] = {}
        self._provided: dict[int, bool] = {}
        provides, obsoletes = solv.SOLVABLE_PROVIDES, solv.SOLVABLE_OBSOLETES
        for facts in packages:
            s = self.repo.add_solvable()
            s.name, s.evr, s.arch = facts.name, facts.evr, facts.arch
            s.add_deparray(provides, self.pool.rel2id(self.pool.str2id(facts.name), self.pool.str2id(facts.evr),
                                                      solv.REL_EQ))
            for text in facts.provides:
                if _dep_name(text) in asked:
                    s.add_deparray(provides, self.dep_id(text, literal_ok=True))
            for path in facts.files:  # a path is a name as it is (it may hold spaces)
                if path in asked:
                    s.add_deparray(provides, self.pool.str2id(path))
            for text in facts.obsoletes:
                s.add_deparray(obsoletes, self.dep_id(text, literal_ok=True))
            self.facts[s.id] = facts
        self.repo.internalize()
        self.pool.createwhatprovides()

    def dep_id(self, text: str, literal_ok: bool = False) -> int:
        """libsolv id of 'name' or 'name OP evr'; literal_ok: anything else is taken as a name."""
        dep_id = self._ids.get(text)
        if dep_id is None:
            match = _PLAIN_DEP.match(text.strip())
            if match is None:
                if text.startswith("/") or literal_ok:
                    dep_id = self._ids[text] = self.pool.str2id(text)
                    return dep_id
                raise ValueError(f"cannot parse dependency {text!r}")
            dep_id = self.pool.str2id(match.group("name"))
            if match.group("op"):
                dep_id = self.pool.rel2id(dep_id, self.pool.str2id(match.group("evr")), _REL[match.group("op")])
            self._ids[text] = dep_id
        return dep_id

    def providers(self, text: str) -> frozenset[int]:
        dep_id = self.dep_id(text)
        found = self._providers.get(dep_id)
        if found is None:
            found = self._providers[dep_id] = frozenset(s.id for s in self.pool.whatprovides(dep_id))
        return found

    def provided(self, text: str) -> bool:
        """Does anything provide it? (a cached yes/no: far smaller than the provider sets)"""
        dep_id = self.dep_id(text)
        found = self._provided.get(dep_id)
        if found is None:
            found = self._provided[dep_id] = bool(self.pool.whatprovides(dep_id))
        return found

    def holds(self, node: Any, exclude: int = 0, conflict: bool = False) -> bool:
        """Is a (rich) dependency met by the world? For a Conflicts (``conflict``, ``exclude``
        = the package's own id) 'A if B' / 'A unless B' without else match nothing when the
        condition fails, as rpm reads them; for a Requires they are then satisfied."""
        op, arg = node
        if op == "dep":
            return self.provided(arg) if not exclude else bool(self.providers(arg) - {exclude})
        if op == "and":
            return all(self.holds(n, exclude, conflict) for n in arg)
        if op == "or":
            return any(self.holds(n, exclude, conflict) for n in arg)
        if op in ("if", "unless"):
            cond = self.holds(arg[1], exclude, conflict)
            if op == "unless":
                cond = not cond
            if cond:
                return self.holds(arg[0], exclude, conflict)
            return self.holds(arg[2], exclude, conflict) if len(arg) == 3 else not conflict
        # with / without: one package must provide A and (not) B
        left, right = self._leaf_providers(arg[0]) - {exclude}, self._leaf_providers(arg[1])
        return bool(left & right) if op == "with" else bool(left - right)

    def _leaf_providers(self, node: Any) -> set[int]:
        op, arg = node
        if op == "dep":
            return self.providers(arg)
        if op in ("with", "without"):
            left, right = self._leaf_providers(arg[0]), self._leaf_providers(arg[1])
            return left & right if op == "with" else left - right
        raise ValueError("'with'/'without' take simple dependencies")

    def obsoleters_of(self, facts: PackageFacts) -> list[PackageFacts]:
        target = self.dep_id(f"{facts.name} = {facts.evr}")
        return [self.facts[s.id] for s in self.pool.whatmatchesdep(solv.SOLVABLE_OBSOLETES, target)
                if s.name != facts.name]


def _parse(text: str) -> Any:
    text = text.strip()
    return _RichParser(text).parse() if text.startswith("(") else ("dep", text)


def _skip(requirement: str) -> bool:
    # rpmlib() features are the target rpm's, checked from the headers by compat.check_rpm_files
    return requirement.startswith("rpmlib(")


def prove(basearch: str, baseline: list[PackageFacts], carried: list[PackageFacts], *,
          baseline_names: Iterable[str] = (), baseline_repos: Iterable[str] = (),
          listed_upgrades: Iterable[str] = (), listed_removals: Iterable[str] = (),  # names; NEVRAs
          source: str = "metadata") -> Proof:
    """Check the resolver's answer; never raises for a bad set, reports every problem."""
    proof = Proof(source=source)
    carried_names = {p.name for p in carried}
    # 1. the baseline is what the manifest names, from the OS's own repos
    present = {p.name for p in baseline} | {f"{p.name}.{p.arch}" for p in baseline}
    for name in baseline_names:
        if name not in present:
            proof.failures.append(f"baseline names {name}, but the modelled host does not have it "
                                  f"(was it replaced by another package?)")
    allowed_repos = set(baseline_repos)
    if allowed_repos:
        for p in baseline:
            if p.origin not in allowed_repos:
                proof.failures.append(f"baseline package {p.nevra} comes from repo {p.origin}, "
                                      f"not from [baseline] repos ({', '.join(sorted(allowed_repos))})")
    # 2. what leaves the host: upgraded (same name) or obsoleted by a carried package
    lookup = World(basearch, [p for p in carried if p.obsoletes])
    upgraded = {p.nevra for p in baseline if p.name in carried_names}
    obsoleted: dict[str, str] = {}
    for p in baseline:
        if p.nevra not in upgraded:
            by = lookup.obsoleters_of(p)
            if by:
                obsoleted[p.nevra] = by[0].nevra
    listed_up = set(listed_upgrades)
    listed_rm = {_norm(n) for n in listed_removals}
    for p in baseline:
        if p.nevra in upgraded and p.name not in listed_up:
            proof.failures.append(f"the bundle upgrades baseline package {p.nevra}, but the plan does not list it "
                                  f"as a baseline upgrade")
    for nevra, by in sorted(obsoleted.items()):
        if _norm(nevra) not in listed_rm:
            proof.failures.append(f"{by} obsoletes baseline package {nevra}, but the plan does not list it "
                                  f"as replaced")
    # rpm refuses to reinstall or downgrade a package (same name and arch) that is installed
    installed = {(p.name, p.arch): p for p in baseline}
    for p in carried:
        old_p = installed.get((p.name, p.arch))
        if old_p is not None:
            order = _evr_order(basearch, p, old_p)
            if order == 0:
                proof.failures.append(f"{p.nevra} is already installed on the modelled host; rpm would refuse it")
            elif order < 0:
                proof.failures.append(f"{p.nevra} is older than the installed {old_p.nevra}; rpm would refuse "
                                      f"the downgrade")
    # 3. the final world: every requires met, no conflicts
    gone = upgraded | set(obsoleted)
    world = World(basearch, [p for p in baseline if p.nevra not in gone] + list(carried))
    problems = _problems(world)
    # a package that stays installed and obsoletes a carried one: rpm says "is obsoleted by (installed)"
    kept = World(basearch, [p for p in baseline if p.nevra not in gone and p.obsoletes])
    for p in carried:
        for by in kept.obsoleters_of(p):
            problems.append((p.nevra, f"{p.nevra} is obsoleted by {by.nevra}, which stays installed"))
    # 4. what was already broken on the host before is not the bundle's doing
    baseline_nevras = {p.nevra for p in baseline}
    if any(nevra in baseline_nevras for nevra, _ in problems):
        before = set(_problems(World(basearch, baseline)))
        proof.notes += [f"already unmet on the modelled host: {text}" for text in sorted(t for _, t in before)]
        problems = [p for p in problems if p not in before]
    proof.failures += [text for _, text in problems]
    proof.checked_packages = len(carried)
    proof.checked_requires = sum(1 for p in world.facts.values() for r in p.requires if not _skip(r))
    return proof


def _evr_order(basearch: str, new: PackageFacts, old: PackageFacts) -> int:
    """rpm's version order of two packages (libsolv's evrcmp): <0 older, 0 same, >0 newer."""
    pair = World(basearch, [new, old])
    first, second = (pair.pool.solvables[i] for i in pair.facts)
    return first.evrcmp(second)


def _problems(world: World) -> list[tuple[str, str]]:
    """Every unmet Requires and every Conflicts that matches: (nevra, sentence)."""
    out = []
    met: dict[str, bool | str] = {}  # requires text -> met, or why it cannot be read
    for sid, p in world.facts.items():
        for req in p.requires:
            if _skip(req):
                continue
            ok = met.get(req)
            if ok is None:
                try:
                    ok = met[req] = world.holds(_parse(req))
                except ValueError as exc:
                    ok = met[req] = str(exc)
            if ok is True:
                continue
            why = f": cannot read this dependency ({ok})" if ok else ", and nothing in baseline + bundle provides it"
            out.append((p.nevra, f"{p.nevra} needs {req}{why}"))
        for con in p.conflicts:
            try:
                clash = world.holds(_parse(con), exclude=sid, conflict=True)
            except ValueError as exc:
                out.append((p.nevra, f"{p.nevra} conflicts with {con}: cannot read this dependency ({exc})"))
                continue
            if clash:
                others = [] if con.startswith("(") else sorted(world.facts[i].nevra for i in world.providers(con) - {sid})
                out.append((p.nevra, f"{p.nevra} conflicts with {con}" + (f" ({', '.join(others)})" if others else "")
                            + ", which is installed too"))
    return out


def facts_from_rpm(path: Path) -> PackageFacts:
    """A downloaded package as rpm will see it: from its own header, not from the metadata."""
    h = rpmheader.read(path)
    name, evr, arch = rpmheader.identity(h)

    def texts(kind: str) -> tuple[str, ...]:
        return tuple(f"{n} {op} {v}" if op else n for n, op, v in rpmheader.dependencies(h, kind))

    return PackageFacts(name, evr, arch, f"rpm:{path.name}", texts("provides"), texts("requires"),
                        texts("conflicts"), texts("obsoletes"), tuple(rpmheader.file_names(h)))


def prove_plan(manifest: Manifest, res: Any, rpm_files: Iterable[Path] | None = None) -> Proof:
    """The proof for a resolved plan; with rpm_files, the carried set is read from those files."""
    world = res.world
    if world is None:
        return Proof(failures=["no resolution to prove"])
    if rpm_files is None:
        carried, source = world.carried(), "repo metadata"
        baseline = world.baseline()
    else:
        carried, source = [facts_from_rpm(Path(f)) for f in rpm_files], "downloaded RPM headers"
        needed = {r for p in carried for r in p.requires if r.startswith("/")}
        baseline = world.baseline(needed)
    names = manifest.baseline.packages if manifest.baseline.rpm_qa is None else ()
    return prove(manifest.target.basearch, baseline, carried, baseline_names=names,
                 baseline_repos=res.baseline_repos,
                 listed_upgrades=[p.name for p in res.baseline_upgrades],
                 listed_removals=res.baseline_removals, source=source)


def _norm(nevra: str) -> str:
    """'n-0:1-2.x' and 'n-1-2.x' name the same package."""
    match = re.match(r"^(.*)-(\d+):(.*)$", nevra)
    if match and match.group(2) == "0":
        return f"{match.group(1)}-{match.group(3)}"
    return nevra
