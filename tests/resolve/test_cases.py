"""Small resolver cases kept as data (libsolv's test/testcases habit): inline repo, job, expectation.

Each tests/resolve/cases/*.toml builds an in-memory pool (no rpmbuild) and runs the same
solve_target() the build uses.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
import solv

from builder.closure import prove
from builder.manifest import Baseline, Install, PackageSpec, parse_package_spec
from builder.resolve import TargetPool, solve_target

CASES = sorted((Path(__file__).parent / "cases").glob("*.toml"))


def build_pool(case: dict) -> TargetPool:
    tp = TargetPool(case.get("arch", "x86_64"))
    repos: dict[str, object] = {}
    for pkg in case.get("pkg", []):
        repo_id = pkg.get("repo", "base")
        repo = repos.get(repo_id) or tp.pool.add_repo(repo_id)
        repos[repo_id] = repo
        s = repo.add_solvable()
        nevr, arch = pkg["nevra"].rsplit(".", 1)
        name, version, release = nevr.rsplit("-", 2)
        s.name, s.evr, s.arch = name, f"{version}-{release}", arch
        s.add_deparray(solv.SOLVABLE_PROVIDES, tp.pool.Dep(name).Rel(solv.REL_EQ, tp.pool.Dep(s.evr)))
        for key, field in ((solv.SOLVABLE_PROVIDES, "provides"), (solv.SOLVABLE_REQUIRES, "requires"),
                           (solv.SOLVABLE_CONFLICTS, "conflicts"), (solv.SOLVABLE_OBSOLETES, "obsoletes"),
                           (solv.SOLVABLE_PROVIDES, "files")):
            for text in pkg.get(field, []):
                spec = parse_package_spec(text) if not text.startswith("/") and " " in text else PackageSpec(text)
                s.add_deparray(key, tp.dep(spec))
    for repo in repos.values():
        repo.internalize()
    tp.finish_loading(type("NoModules", (), {"enable": (), "disable": ()})())
    return tp


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case(path: Path):
    case = tomllib.loads(path.read_text())
    tp = build_pool(case)
    baseline = Baseline(tuple(case.get("baseline", [])), None, tuple(case.get("baseline_repos", [])))
    install = Install(tuple(parse_package_spec(s) for s in case["install"]))
    res = solve_target(tp, path.stem, baseline, install)
    expect = case["expect"]
    if "problems" in expect:
        text = " ".join(res.problems)
        for words in expect["problems"]:
            assert words in text, text
        return
    assert res.problems == []
    assert sorted(p.nevra for p in res.packages) == sorted(expect["packages"])
    if "upgrades" in expect:
        assert sorted(p.nevra for p in res.baseline_upgrades) == sorted(expect["upgrades"])
    if "removals" in expect:
        assert res.baseline_removals == sorted(expect["removals"])
    if "baseline" in expect:
        assert res.baseline == sorted(expect["baseline"])
    # every answer also passes the independent closure proof
    proof = prove(case.get("arch", "x86_64"),
                  res.world.baseline(), res.world.carried(), baseline_names=baseline.packages,
                  baseline_repos=baseline.repos, listed_upgrades=[p.name for p in res.baseline_upgrades],
                  listed_removals=res.baseline_removals)
    assert proof.passed, proof.failures
