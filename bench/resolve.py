"""Benchmark: ha-bundle resolve vs dnf repoquery --requires --resolve --recursive (not a test).

Usage: python3 bench/resolve.py [--packages 10000] [--rounds 3]
Generates a synthetic rpm-md repo, serves it on 127.0.0.1, then times cold (empty cache) and warm
(second run) for both tools on the same roots and prints the ratio ours/dnf. Target: <= 0.5x.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.synthrepo import generate  # noqa: E402
from builder.plan import resolve_manifest  # noqa: E402
from tests.fixtures.serve import RepoServer  # noqa: E402

ROOTS = ["pkg09990", "pkg09500", "pkg08000", "pkg05000"]


def timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"command failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-2000:]}")
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--packages", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    roots = [r for r in ROOTS if int(r[3:]) < args.packages] or ["pkg00001"]
    with tempfile.TemporaryDirectory(prefix="hb-bench-") as tmp_name:
        tmp = Path(tmp_name)
        t0 = time.perf_counter()
        generate(tmp / "srv" / "synth", args.packages)
        print(f"generated {args.packages} packages in {time.perf_counter() - t0:.1f}s")
        with RepoServer(tmp / "srv") as server:
            url = f"{server.url}/synth"
            manifest = tmp / "synth.toml"
            manifest.write_text(
                '[target]\nname = "synth"\nreleasever = "9"\nbasearch = "x86_64"\nos_ids = ["rocky"]\n'
                f'os_major = "9"\n\n[[repo]]\nid = "synth"\nbaseurl = "{url}"\n\n'
                '[baseline]\npackages = ["pkg00299", "pkg00298", "pkg00297", "pkg00250"]\n\n'
                f'[install]\npackages = {roots!r}\n'.replace("'", '"'))
            ours = [str(Path(sys.executable).with_name("ha-bundle")), "resolve", str(manifest), "--json"]
            dnf = ["dnf", "-q", "--noplugins", "--nogpgcheck", "--releasever", "9", "--forcearch", "x86_64",
                   "--repofrompath", f"synth,{url}", "--repo", "synth", "--setopt", "reposdir=/dev/null",
                   "repoquery", "--requires", "--resolve", "--recursive", *roots]
            rows = []
            lib_cold, lib_warm = [], []
            for _ in range(args.rounds):  # the library call alone: no CLI start-up, no output
                cache = tmp / "cache-lib"
                shutil.rmtree(cache, ignore_errors=True)
                for bucket in (lib_cold, lib_warm):
                    start = time.perf_counter()
                    result = resolve_manifest(manifest, cache_dir=cache, quiet=True)
                    bucket.append(time.perf_counter() - start)
                    assert not result.problems, result.problems
            for label in ("ours", "dnf"):
                cold, warm = [], []
                for _ in range(args.rounds):
                    cache = tmp / f"cache-{label}"
                    shutil.rmtree(cache, ignore_errors=True)
                    root = tmp / f"root-{label}"
                    shutil.rmtree(root, ignore_errors=True)
                    root.mkdir()
                    if label == "ours":
                        env = dict(os.environ, HA_BUNDLE_CACHE=str(cache))
                        cold.append(timed(ours, env))
                        warm.append(timed(ours, env))
                    else:
                        cmd = dnf[:1] + ["--installroot", str(root), "--setopt", f"cachedir={cache}"] + dnf[1:]
                        cold.append(timed(cmd))
                        warm.append(timed(cmd + ["-C"]))
                rows.append((label, statistics.median(cold), statistics.median(warm)))
    (_, oc, ow), (_, dc, dw) = rows
    lc, lw = statistics.median(lib_cold), statistics.median(lib_warm)
    print(f"{'':22} {'cold s':>8} {'warm s':>8}")
    print(f"{'ha-bundle resolve (CLI)':22} {oc:8.2f} {ow:8.2f}")
    print(f"{'resolve_manifest() only':22} {lc:8.2f} {lw:8.2f}")
    print(f"{'dnf repoquery':22} {dc:8.2f} {dw:8.2f}")
    print(f"{'ratio CLI/dnf':22} {oc / dc:8.2f} {ow / dw:8.2f}   (target <= 0.5)")
    print(f"{'ratio library/dnf':22} {lc / dc:8.2f} {lw / dw:8.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
