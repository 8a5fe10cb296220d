"""bench/resolve.py stays runnable (smoke mode), and a large repo resolves without crashing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.synthrepo import generate
from tests.cli import run as ha_bundle
from tests.conftest import REPO_ROOT


def test_resolve_benchmark_smoke():
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / "resolve.py"), "--smoke"], text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = proc.stdout.splitlines()[1].split()
    assert row[0] == "2000" and int(row[1]) > 100, proc.stdout  # same set as dnf, checked inside


def test_ten_thousand_packages_with_baseline_repos(tmp_path: Path):
    """Regression: libsolv's considered map was written past its end once @System was added
    (munmap_chunk()/SIGSEGV on this repo when [baseline] repos was set)."""
    repo = generate(tmp_path / "synth", 10_000)
    manifest = tmp_path / "synth.toml"
    manifest.write_text(
        '[target]\nname = "synth"\nreleasever = "9"\nbasearch = "x86_64"\nos_ids = ["rocky"]\nos_major = "9"\n\n'
        f'[[repo]]\nid = "synth"\nbaseurl = "file://{repo}"\n\n'
        '[baseline]\npackages = ["pkg00299", "pkg00298", "pkg00297", "pkg00250"]\nrepos = ["synth"]\n\n'
        '[install]\npackages = ["pkg09990", "pkg09500", "pkg08000", "pkg05000"]\n')
    for _ in range(2):  # cold, then from the .solv cache
        proc = ha_bundle("resolve", manifest, "--json", cache=tmp_path / "cache")
        assert proc.returncode == 0, proc.stderr[-2000:]
        plan = json.loads(proc.stdout)
        assert len(plan["packages"]) > 5000 and plan["closure"]["passed"]
