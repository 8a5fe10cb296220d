"""Benchmark (not a test): our .run against `makeself --xz`, and assembly speed against `xz -T0`.

    python3 bench/runfile.py [--mb 120] [--runs 3] [--keep DIR]
    python3 bench/runfile.py --compressible [--mb 80]    # assembly: cold, warm, xz -T0
    python3 bench/runfile.py --smoke                      # one small round of both (the tests run it)

1. Builds realistic RPMs with rpmbuild: real ELF binaries, shared libraries and docs from this
   host, xz-compressed payloads like el7's (w2.xzdio), split into packages of mixed sizes.
2. Writes a staged target (rpms/ + bundle.lock.json) and packs it with builder.bundle.
3. Extracts our .run with --noexec, and packs that very directory with `makeself --xz`.
4. Prints sizes, build times and `--noexec` extraction times (median of --runs) and the ratios.
   Targets (issue 4): size <= 1.05x makeself, extraction <= 1.2x makeself.

--compressible builds the RPMs with uncompressed payloads (w0.ufdio), so they go into the
compressed part, and times assembly with an empty cache (cold) and again unchanged (warm), and
`xz -T0` over the very tar bytes of the compressed part. Targets (issue 12): warm < 5 s, cold no
slower than `xz -T0`; the compressed part must list as plain xz streams (LZMA2, CRC64, <= 9 MiB
to decompress: what el7's xz 5.2.2 reads).
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


def build_rpm(index: int, files: list[Path], work: Path, dest: Path, payload: str = "w2.xzdio") -> Path:
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
                    "--define", f"_binary_payload {payload}", "--define", "__os_install_post %{nil}",
                    "--define", "debug_package %{nil}", "--define", "_build_id_links none", str(spec)],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"))
    return next(dest.glob(f"{name}-1.0-1.el7.*.rpm"))


def stage(out: Path, mb: int, payload: str = "w2.xzdio") -> SimpleNamespace:
    rpms = out / "staged" / "rpms"
    rpms.mkdir(parents=True)
    work = out / "rpmbuild"
    groups = split(pick_files(mb << 20))
    packages = []
    for index, files in enumerate(groups):
        path = build_rpm(index, files, work, rpms, payload)
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


def makeself_round(work: Path, staged: SimpleNamespace, runs: int, smoke: bool) -> bool:
    t0 = time.perf_counter()
    ours = bundle.assemble(staged, work / "ours", cache_dir=work / "cache-makeself")
    ours_build = time.perf_counter() - t0

    payload = work / "payload"
    subprocess.run(["sh", str(ours), "--noexec", "--quiet", "--target", str(payload)], check=True)
    mk = work / "makeself" / "makeself-xz.run"
    mk.parent.mkdir()
    mk_build = timed(["makeself", "--xz", "--quiet", str(payload), str(mk), "bench", "true"],
                     env=dict(os.environ, SOURCE_DATE_EPOCH="1700000000"))

    ours_x = extract_time(ours, work, runs)
    mk_x = extract_time(mk, work, runs)
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
    return smoke or (size_ratio <= 1.05 and time_ratio <= 1.2)


def _xz_streams(data: Path) -> list[list[str]]:
    """`xz --robot --list -vv` stream lines of a file (raises if xz cannot read it)."""
    out = subprocess.run(["xz", "--robot", "--list", "-vv", str(data)], check=True, capture_output=True, text=True)
    return [line.split("\t") for line in out.stdout.splitlines()]


def speed_round(work: Path, staged: SimpleNamespace, smoke: bool) -> bool:
    """Cold and warm assembly of compressible RPMs against `xz -T0` on the same tar bytes."""
    from builder import runfile

    cache = work / "cache-speed"
    t0 = time.perf_counter()
    cold_run = bundle.assemble(staged, work / "cold", cache_dir=cache)
    cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    warm_run = bundle.assemble(staged, work / "warm", cache_dir=cache)
    warm = time.perf_counter() - t0
    same = cold_run.read_bytes() == warm_run.read_bytes()

    values = runfile.read_header(cold_run)
    start = int(values["HB_HEADER_SIZE"]) + int(values["HB_STORE_SIZE"])
    part = work / "meta.tar.xz"
    with open(cold_run, "rb") as src, open(part, "wb") as dst:
        src.seek(start)
        shutil.copyfileobj(src, dst)
    tar = work / "meta.tar"
    with open(tar, "wb") as dst:
        subprocess.run(["xz", "-dc", str(part)], stdout=dst, check=True)  # the host's xz reads the streams
    xz_time = timed(["sh", "-c", f"xz -T0 -c {tar} > {work / 'xz-T0.xz'}"])
    listing = _xz_streams(part)
    streams = [f for f in listing if f[0] == "stream"]
    checks = {f[8] for f in streams}
    filters = {f[-1].split("=")[0] for f in listing if f[0] == "block"}
    memory = max(int(f[1]) for f in listing if f[0] == "summary")
    el7_ok = checks == {"CRC64"} and filters == {"--lzma2"} and memory <= 10 << 20
    compressed_mb = tar.stat().st_size / 2**20
    print(f"compressed part: {compressed_mb:.1f} MiB of tar -> {part.stat().st_size / 2**20:.1f} MiB xz in "
          f"{len(streams)} streams (check {','.join(sorted(checks))}, filters {','.join(sorted(filters))}, "
          f"{memory / 2**20:.0f} MiB to decompress: "
          f"{'readable by el7 xz 5.2.2' if el7_ok else 'NOT el7-compatible'})")
    print(f"{'assembly cold (empty cache)':32} {cold:8.2f} s")
    print(f"{'assembly warm (unchanged)':32} {warm:8.2f} s (target < 5 s) {'OK' if warm < 5 else 'MISSED'}"
          f"{'' if same else ' DIFFERENT OUTPUT'}")
    print(f"{'xz -T0 on the same tar bytes':32} {xz_time:8.2f} s (cold/xz: {cold / xz_time:.2f}, target <= 1.0) "
          f"{'OK' if cold <= xz_time else 'MISSED'}")
    return same and el7_ok and (smoke or (warm < 5 and cold <= xz_time))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=None, help="uncompressed size of the RPM contents (MiB; "
                        "default 120, or 80 with --compressible)")
    parser.add_argument("--runs", type=int, default=3, help="extraction runs per tool (median)")
    parser.add_argument("--keep", type=Path, help="work in this directory and keep it")
    parser.add_argument("--compressible", action="store_true", help="assembly speed with compressible RPMs")
    parser.add_argument("--smoke", action="store_true", help="one small round of both benchmarks (for the tests)")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="hb-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        ok = True
        rounds = ["makeself", "speed"] if args.smoke else ["speed"] if args.compressible else ["makeself"]
        for name in rounds:
            mb = 2 if args.smoke else args.mb or (80 if name == "speed" else 120)
            payload = "w0.ufdio" if name == "speed" else "w2.xzdio"
            t0 = time.perf_counter()
            staged = stage(work / name, mb, payload)
            rpm_bytes = sum(p["size"] for p in staged.lock["packages"])
            print(f"[{name}] staged {len(staged.lock['packages'])} RPMs ({payload}), {rpm_bytes / 2**20:.1f} MiB "
                  f"(built in {time.perf_counter() - t0:.0f} s)")
            if name == "makeself":
                ok = makeself_round(work / name, staged, 1 if args.smoke else args.runs, args.smoke) and ok
            else:
                ok = speed_round(work / name, staged, args.smoke) and ok
        return 0 if ok else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
