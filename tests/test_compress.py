"""The payload's compressed part: same tar bytes as tarfile, parallel xz streams any xz reads, cached by content."""

from __future__ import annotations

import io
import lzma
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from builder import bundle, compress
from tests.conftest import REPO_ROOT


def _members(tmp_path: Path) -> list[bundle.Member]:
    big = tmp_path / "big.bin"
    big.write_bytes(b"".join(i.to_bytes(4, "big") * 3 for i in range(3 << 20)))  # 36 MiB, compressible
    return [bundle.Member("rpms/big-1-1.x86_64.rpm", big, None, 0o644),
            bundle.Member("onsite/cli.py", None, b"print('hi')\n" * 100, 0o644),
            bundle.Member("bundle.lock.json", None, b"{}\n", 0o644),
            bundle.Member("x/" + "long" * 40 + ".txt", None, b"long names use GNU extension blocks", 0o600)]


def test_segments_are_exactly_the_tar_tarfile_writes(tmp_path):
    members = _members(tmp_path)
    dirs = bundle._dirs_of(members)
    expected = io.BytesIO()
    with tarfile.open(fileobj=expected, mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for name in dirs:
            tar.addfile(compress.tarinfo(name, 7, 0o755, is_dir=True))
        for m in sorted(members, key=lambda m: m.arcname):
            with m.open() as handle:
                tar.addfile(compress.tarinfo(m.arcname, 7, m.mode, m.size), handle)
    segments = list(compress.tar_segments(dirs, members, 7))
    assert b"".join(segments) == expected.getvalue()
    assert len(segments) >= 5 and max(map(len, segments)) <= compress.SEGMENT


def test_parallel_streams_decompress_with_xz_and_python_and_are_cached(tmp_path):
    members = _members(tmp_path)
    dirs = bundle._dirs_of(members)
    plain = b"".join(compress.tar_segments(dirs, members, 7))
    cache = compress.SegmentCache(tmp_path / "cache")
    out = io.BytesIO()
    compress.compress_stream(compress.tar_segments(dirs, members, 7), out, "xz", cache, workers=2)
    assert cache.misses >= 5 and cache.hits == 0
    assert lzma.decompress(out.getvalue()) == plain
    for tool in (["xz", "-dc"], ["busybox", "xz", "-dc"]):  # liblzma, and xz-embedded (minimal hosts)
        decoded = subprocess.run(tool, input=out.getvalue(), capture_output=True, check=True)
        assert decoded.stdout == plain, tool
    again = io.BytesIO()
    warm = compress.SegmentCache(tmp_path / "cache")
    compress.compress_stream(compress.tar_segments(dirs, members, 7), again, "xz", warm, workers=1)
    assert again.getvalue() == out.getvalue()  # the same bytes whatever the number of workers
    assert warm.misses == 0 and warm.hits == cache.misses


def test_zstd_frames_read_back_as_one_stream(tmp_path):
    import zstandard

    members = _members(tmp_path)
    dirs = bundle._dirs_of(members)
    out = io.BytesIO()
    compress.compress_stream(compress.tar_segments(dirs, members, 7), out, "zstd", compress.SegmentCache(None))
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(out.getvalue()), read_across_frames=True)
    assert reader.read() == b"".join(compress.tar_segments(dirs, members, 7))


def test_benchmark_smoke_mode_runs():
    out = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "runfile.py"), "--smoke"], text=True,
                         capture_output=True, timeout=600, env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "assembly warm (unchanged)" in out.stdout and "readable by el7 xz 5.2.2" in out.stdout
