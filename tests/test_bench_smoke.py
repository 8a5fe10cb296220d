"""Every benchmark in bench/ runs in its one-round smoke mode, so none can rot unnoticed (the
numbers come from running them on demand; nothing here is timed). bench/resolve.py and
bench/runfile.py have their own smoke tests (test_bench_resolve.py, test_compress.py)."""

import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.lab

# script -> lines its report must print
EXPECTED = {
    "failover.py": ["app killed (SIGKILL) on the holder -> HTTP 200 from the peer via the VIP", "v3 advert_int",
                    "fast     sync", "fast     steady 5 s"],
    "install.py": ["install ha1 (from the .run", "install ha2 (from the .run", "both nodes at once, wall"],
    "ops.py": ["preflight (before configure)", "verify (both nodes at once)", "collect"],
    "db_replication.py": ["empty/empty: configure on both nodes", "data/empty 2000 rows", "visible on peer after"],
    "upgrade.py": ["rolling upgrade of both nodes", "total outage per upgrade seen by the client",
                   "lost on ha1: 0, on ha2: 0", "pair kept serving: yes"],
    "db_lab.py": ["configure (all steps) on both nodes at once", "failover -> new holder writable", "partition heal"],
}


@pytest.mark.parametrize("script", sorted(EXPECTED))
def test_benchmark_smoke(script):
    proc = subprocess.run([sys.executable, str(REPO_ROOT / "bench" / script), "--smoke"], cwd=str(REPO_ROOT),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:]
    for words in EXPECTED[script]:
        assert words in proc.stdout, (words, proc.stdout[-4000:])
