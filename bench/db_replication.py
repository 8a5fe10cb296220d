"""Measure the database step on two real MariaDB servers (127.0.0.1, temp datadirs).

Run on demand: python3 bench/db_replication.py [rows | --smoke]
Prints: configure time for an empty pair, seeding time/throughput for `rows` rows, the
canary round trip, and how long a 1000-row burst takes to appear on the peer.
"""

import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "stubs"))

from tests.db_servers import MariaServer  # noqa: E402
from tests.test_db_live import Node, run_both  # noqa: E402


def pair(tmp, template, rows):
    ha1 = Node(tmp, "ha1", 0, template)
    ha2 = Node(tmp, "ha2", 1, template)
    try:
        if rows:
            ha1.sql("CREATE DATABASE itv; CREATE TABLE itv.device (id INT AUTO_INCREMENT PRIMARY KEY,"
                    " name VARCHAR(40), payload VARCHAR(200)) ENGINE=InnoDB;")
            batch = ",".join("('n%d', REPEAT('x', 180))" % i for i in range(1000))
            ha1.sql("SET SESSION sql_log_bin=0;" + "".join(
                "INSERT INTO itv.device (name, payload) VALUES %s;" % batch for _ in range(rows // 1000)))
        start = time.monotonic()
        results = run_both(ha1, ha2)
        took = time.monotonic() - start
        for name, res in results.items():
            if isinstance(res, Exception):
                raise SystemExit("%s failed: %s" % (name, res.render()))
        canary = max(r["canary_seconds"] for r in results.values())
        burst = None
        if rows:
            target = int(ha2.sql("SELECT COUNT(*) FROM itv.device").strip()) + 1000
            t0 = time.monotonic()
            ha1.sql("INSERT INTO itv.device (name, payload) SELECT name, payload FROM itv.device LIMIT 1000")
            while int(ha2.sql("SELECT COUNT(*) FROM itv.device").strip()) < target:
                if time.monotonic() - t0 > 120:
                    raise SystemExit("the 1000-row burst did not reach ha2 within 120 s")
                time.sleep(0.01)
            burst = time.monotonic() - t0
        return took, canary, burst
    finally:
        ha1.server.stop()
        ha2.server.stop()


def main():
    args = sys.argv[1:]
    # --smoke: a few rows, one pass (the test suite runs it so the benchmark cannot rot)
    rows = 2000 if "--smoke" in args else (int(args[0]) if args else 200000)
    with tempfile.TemporaryDirectory(prefix="hb-db-bench-") as tmp:
        tmp = Path(tmp)
        tpl = MariaServer(tmp, "tpl", 0)
        t0 = time.monotonic()
        tpl.install()
        print("mariadb-install-db: %.2f s" % (time.monotonic() - t0))
        took, canary, _ = pair(tmp / "empty", tpl.base, 0)
        print("empty/empty: configure on both nodes (concurrently) %.2f s, canary %.3f s" % (took, canary))
        took, canary, burst = pair(tmp / "seed", tpl.base, rows)
        mb = rows * 200 / 1e6
        print("data/empty %d rows (~%.0f MB): configure incl. seed %.2f s (%.1f MB/s), canary %.3f s,"
              " 1000-row insert visible on peer after %.3f s" % (rows, mb, took, mb / took, canary, burst))


if __name__ == "__main__":
    main()
