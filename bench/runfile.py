"""Benchmark (not a test): our .run against `makeself --xz` on the same payload.

    python3 bench/runfile.py [--mb 120] [--runs 3] [--keep DIR]

1. Builds realistic RPMs with rpmbuild: real ELF binaries, shared libraries and docs from this
   host, xz-compressed payloads like el7's (w2.xzdio), split into packages of mixed sizes.
2. Writes a staged target (rpms/ + bundle.lock.json) and packs it with builder.bundle.
3. Extracts our .run with --noexec, and packs that very directory with `makeself --xz`.
4. Prints sizes, build times and `--noexec` extraction times (median of --runs) and the ratios.
   Targets (issue 4): size <= 1.05x makeself, extraction <= 1.2x makeself.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from builder import bundle  # noqa: E402

SOURCES = ["/usr/lib/x86_64-linux-gnu", "/usr/bin", "/usr/share/doc", "/usr/lib/python3"]


def pick_files(total_bytes: int) -> list[Path]:
    """Real files from this host, deterministic order, until total_bytes."""
    files, size = [], 0
    for base in SOURCES:
        for root, dirs, names in os.walk(base):
            dirs.sort()
            for name in sorted(names):
                path = Path(root) / name
                if path.is_symlink() or not path.is_file() or " " in str(path):
                    continue
                st = path.stat().st_size
                if st == 0 or st > 40 << 20:
                    continue
                files.append(path)
                size += st
                if size >= total_bytes:
                    return files
    return files


def split(files: list[Path]) -> list[list[Path]]:
    """Packages of mixed sizes: many small, a few large (like a real dependency closure)."""
    groups, i, n = [], 0, 1
    while i < len(files):
        groups.append(files[i:i + n])
        i += n
        n = 1 if n >= 64 else n * 2
    return groups


def build_rpm(index: int, files: list[Path], work: Path, dest: Path) -> Path:
    name = f"bench-pkg{index:03d}"
    top = work / name
    (top / "SPECS").mkdir(parents=True)
    lines = [f"Name: {name}", "Version: 1.0", "Release: 1.el7", "Summary: bench", "License: MIT",
             "AutoReqProv: no", "", "%description", "bench payload", "", "%install"]
    for j, path in enumerate(files):
        lines.append(f"install -D -m 0644 {path} %{{buildroot}}/opt/bench/{name}/{j}-{path.name}")
    lines += ["", "%files", f"/opt/bench/{name}", ""]
    spec = top / "SPECS" / f"{name}.spec"
    spec.write_text("\n".join(lines))
    subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {top}", "--define", f"_rpmdir {dest}",
                    "--define", "_rpmfilename %{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}.rpm",
                    "--define", "_binary_payload w2.xzdio", "--define", "__os_install_post %{nil}",
                    "--define", "debug_package %{nil}", "--define", "_build_id_links none", str(spec)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"))
    return next(dest.glob(f"{name}-1.0-1.el7.*.rpm"))


def stage(out: Path, mb: int) -> SimpleNamespace:
    rpms = out / "staged" / "rpms"
    rpms.mkdir(parents=True)
    work = out / "rpmbuild"
    groups = split(pick_files(mb << 20))
    packages = []
    for index, files in enumerate(groups):
        path = build_rpm(index, files, work, rpms)
        data = path.read_bytes()
        packages.append({"name": f"bench-pkg{index:03d}", "epoch": "0", "version": "1.0", "release": "1.el7",
                         "arch": path.name.rsplit(".", 2)[1], "repo": "bench", "location": path.name,
                         "filename": f"rpms/{path.name}", "sha256": hashlib.sha256(data).hexdigest(),
                         "size": len(data)})
    shutil.rmtree(work)
    lock = {"lock_version": 1, "tool": "bench", "created": 1700000000,
            "target": {"name": "bench", "releasever": "7", "basearch": "x86_64", "os_ids": ["centos"],
                       "os_major": "7"},
            "manifest": {"path": "bench", "sha256": "0" * 64}, "repos": [], "packages": packages,
            "baseline_upgrades": [], "bootstrap": []}
    (out / "staged" / "bundle.lock.json").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    (out / "staged" / "sbom.cdx.json").write_text("{}\n")
    return SimpleNamespace(directory=out / "staged", lock=lock, manifest=None)


def timed(cmd: list[str], **kw) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, **kw)
    return time.perf_counter() - start


def extract_time(run_file: Path, work: Path, runs: int) -> float:
    times = []
    for i in range(runs):
        dest = work / f"x{i}"
        times.append(timed(["sh", str(run_file), "--noexec", "--quiet", "--target", str(dest)]))
        shutil.rmtree(dest)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=120, help="uncompressed size of the RPM contents (MiB)")
    parser.add_argument("--runs", type=int, default=3, help="extraction runs per tool (median)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="hb-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        staged = stage(work, args.mb)
        rpm_bytes = sum(p["size"] for p in staged.lock["packages"])
        print(f"staged {len(staged.lock['packages'])} RPMs, {rpm_bytes / 2**20:.1f} MiB "
              f"(built in {time.perf_counter() - t0:.0f} s)")

        t0 = time.perf_counter()
        ours = bundle.assemble(staged, work / "ours")
        ours_build = time.perf_counter() - t0

        payload = work / "payload"
        subprocess.run(["sh", str(ours), "--noexec", "--quiet", "--target", str(payload)], check=True)
        mk = work / "makeself" / "makeself-xz.run"
        mk.parent.mkdir()
        mk_build = timed(["makeself", "--xz", "--quiet", str(payload), str(mk), "bench", "true"],
                         env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"))

        ours_x = extract_time(ours, work, args.runs)
        mk_x = extract_time(mk, work, args.runs)
        ours_size, mk_size = ours.stat().st_size, mk.stat().st_size
        print(f"{'':12} {'size (bytes)':>14} {'build (s)':>10} {'--noexec (s)':>13}")
        print(f"{'ours':12} {ours_size:>14} {ours_build:>10.2f} {ours_x:>13.3f}")
        print(f"{'makeself xz':12} {mk_size:>14} {mk_build:>10.2f} {mk_x:>13.3f}")
        size_ratio, time_ratio = ours_size / mk_size, ours_x / mk_x
        print(f"size ratio ours/makeself: {size_ratio:.4f} (target <= 1.05) "
              f"{'OK' if size_ratio <= 1.05 else 'MISSED'}")
        print(f"--noexec extraction time ratio ours/makeself: {time_ratio:.3f} (target <= 1.2) "
              f"{'OK' if time_ratio <= 1.2 else 'MISSED'}")
        print(f"build time ratio ours/makeself: {ours_build / mk_build:.3f}")
        return 0 if size_ratio <= 1.05 and time_ratio <= 1.2 else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
