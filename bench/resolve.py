"""Benchmark: `ha-bundle resolve` vs `dnf --assumeno install` into an empty installroot (not a test).

Usage: python3 bench/resolve.py [--sizes 10000,100000] [--rounds 3] [--smoke]
For each size: generates a synthetic rpm-md repo (bench/synthrepo.py), then times whole
processes, cold (empty cache) and warm (second run), for both tools on the same roots, checks
that both choose the same package set, and reports the ratio ours/dnf and each tool's peak RSS.
Both start from an empty host (ours: an empty `rpm_qa` baseline), as dnf does in an empty
installroot. Target (issue 11): ratio <= 0.25 cold and warm, peak RSS <= dnf's.
--smoke: one round on a small repo; the test suite runs it so the benchmark cannot rot.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.synthrepo import generate  # noqa: E402

# roots at the same relative places of every repo size (names are pkg00000..pkgNNNNN)
ROOT_FRACTIONS = (0.999, 0.95, 0.8, 0.5)
_DNF_ROW = re.compile(r"^ (\S+)\s+(x86_64|noarch)\s+(\S+)\s+synth\s")


def run_measured(cmd: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> tuple[float, int, str]:
    """(seconds, the child's own peak RSS in KiB from os.wait4, stdout) of one whole process."""
    with tempfile.TemporaryFile(mode="w+") as out, tempfile.TemporaryFile(mode="w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode not in ok:
            raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{err.read()[-2000:]}")
        return elapsed, usage.ru_maxrss, out.read()


def ours_set(stdout: str) -> list[str]:
    plan = json.loads(stdout)
    assert not plan["problems"], plan["problems"]
    assert plan["closure"]["passed"], plan["closure"]
    return sorted(f"{p['name']}-{p['version']}-{p['release']}.{p['arch']}" for p in plan["packages"])


def dnf_set(stdout: str) -> list[str]:
    return sorted(f"{m.group(1)}-{m.group(3)}.{m.group(2)}" for m in map(_DNF_ROW.match, stdout.splitlines()) if m)


def bench_size(tmp: Path, count: int, rounds: int) -> dict[str, float]:
    repo = generate(tmp / f"srv-{count}" / "synth", count)
    roots = [f"pkg{int(count * f):05d}" for f in ROOT_FRACTIONS]
    empty = tmp / "empty-rpm-qa.txt"
    empty.write_text("")
    manifest = tmp / f"synth-{count}.toml"
    manifest.write_text(
        '[target]\nname = "synth"\nreleasever = "9"\nbasearch = "x86_64"\nos_ids = ["rocky"]\nos_major = "9"\n\n'
        f'[[repo]]\nid = "synth"\nbaseurl = "file://{repo}"\n\n[baseline]\nrpm_qa = "{empty}"\n\n'
        f'[install]\npackages = {json.dumps(roots)}\n')
    ours = [sys.executable, "-m", "builder", "resolve", str(manifest), "--json"]
    dnf = ["dnf", "--noplugins", "--nogpgcheck", "--releasever", "9", "--forcearch", "x86_64",
           "--repofrompath", f"synth,file://{repo}", "--repo", "synth", "--setopt", "reposdir=/dev/null"]
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    times: dict[str, list[float]] = {k: [] for k in ("ours_cold", "ours_warm", "dnf_cold", "dnf_warm")}
    rss: dict[str, int] = {"ours": 0, "dnf": 0}
    for _ in range(rounds):
        cache = tmp / "cache-ours"
        shutil.rmtree(cache, ignore_errors=True)
        env["HA_BUNDLE_CACHE"] = str(cache)
        for key in ("ours_cold", "ours_warm"):
            elapsed, peak, out = run_measured(ours, env)
            times[key].append(elapsed)
            rss["ours"] = max(rss["ours"], peak)
            ours_packages = ours_set(out)
        dcache, root = tmp / "cache-dnf", tmp / "root-dnf"
        shutil.rmtree(dcache, ignore_errors=True)
        shutil.rmtree(root, ignore_errors=True)
        root.mkdir()
        base = dnf[:1] + ["--installroot", str(root), "--setopt", f"cachedir={dcache}"] + dnf[1:]
        for key, extra in (("dnf_cold", []), ("dnf_warm", ["-C"])):
            # --assumeno: resolve and print the transaction, then exit 1 ("Operation aborted")
            elapsed, peak, out = run_measured(base + extra + ["--assumeno", "install", *roots], ok=(0, 1))
            times[key].append(elapsed)
            rss["dnf"] = max(rss["dnf"], peak)
            dnf_packages = dnf_set(out)
        if ours_packages != dnf_packages:
            only_ours = sorted(set(ours_packages) - set(dnf_packages))[:5]
            only_dnf = sorted(set(dnf_packages) - set(ours_packages))[:5]
            raise SystemExit(f"package sets differ at {count}: ours-only {only_ours}, dnf-only {only_dnf}")
    med = {k: statistics.median(v) for k, v in times.items()}
    med.update(packages=len(ours_packages), rss_ours=rss["ours"], rss_dnf=rss["dnf"])
    return med


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated package counts")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--smoke", action="store_true", help="one round, 2,000 packages (for the test suite)")
    args = ap.parse_args()
    sizes = [2000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    rounds = 1 if args.smoke else args.rounds
    print(f"{'size':>8} {'pkgs':>6} {'ours cold':>10} {'dnf cold':>9} {'ratio':>6} {'ours warm':>10} "
          f"{'dnf warm':>9} {'ratio':>6} {'RSS ours MiB':>13} {'RSS dnf MiB':>12}")
    with tempfile.TemporaryDirectory(prefix="hb-bench-") as tmp_name:
        for count in sizes:
            m = bench_size(Path(tmp_name), count, rounds)
            print(f"{count:>8} {m['packages']:>6} {m['ours_cold']:>10.2f} {m['dnf_cold']:>9.2f} "
                  f"{m['ours_cold'] / m['dnf_cold']:>6.2f} {m['ours_warm']:>10.2f} {m['dnf_warm']:>9.2f} "
                  f"{m['ours_warm'] / m['dnf_warm']:>6.2f} {m['rss_ours'] / 1024:>13.0f} {m['rss_dnf'] / 1024:>12.0f}",
                  flush=True)
    print("target: ratio <= 0.25 cold and warm; peak RSS ours <= dnf")
    return 0


if __name__ == "__main__":
    sys.exit(main())
