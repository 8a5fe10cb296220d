"""Database numbers in the namespace lab (run on demand: python3 bench/db_lab.py [rounds | --smoke]).

Measures: full configure (firewall + keepalived + database) on both nodes at once; for each
failover round (keepalived stopped on the holder) the time until the new holder is writable
and the old one read-only; the time replication needs to catch up after a 5 s partition with
writes on both sides. Prints the status table once.
"""

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "stubs"))      # tests.test_db_lab imports the onsite code

from tests.lab.fixtures import new_lab  # noqa: E402
from tests.test_db_lab import configure_both, sql, write_site  # noqa: E402

VIP = "192.0.2.100"


def wait(pred, timeout=60):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    raise SystemExit("timed out")


def main():
    args = sys.argv[1:]
    # --smoke: one round (the test suite runs it so the benchmark cannot rot)
    rounds = 1 if "--smoke" in args else (int(args[0]) if args else 5)
    lab = new_lab()
    try:
        lab.up()
        with tempfile.TemporaryDirectory() as tmp:
            site = write_site(Path(tmp))
            for node in lab.nodes:
                lab.start_app(node)
            t0 = time.monotonic()
            res = configure_both(lab, site, only=("firewall", "keepalived", "database"))
            took = time.monotonic() - t0
            assert all(r.returncode == 0 for r in res.values()), res
            print("configure (all steps) on both nodes at once: %.1f s" % took)
            print(lab.exec_python_onsite("ha1", ["status"]).stdout)
            times = []
            for _ in range(rounds):
                holder = lab.wait_single_holder(VIP, timeout=30)
                other = "ha2" if holder == "ha1" else "ha1"
                t0 = time.monotonic()
                lab.run(holder, ["systemctl", "stop", "keepalived"])
                wait(lambda: sql(lab, other, "SELECT @@read_only") == "0"
                     and sql(lab, holder, "SELECT @@read_only") == "1")
                times.append(time.monotonic() - t0)
                lab.run(holder, ["systemctl", "start", "keepalived"])
                time.sleep(2)
            times.sort()
            print("failover -> new holder writable, old read-only: p50 %.2f s, max %.2f s (%d rounds)"
                  % (times[len(times) // 2], times[-1], len(times)))
            sql(lab, "ha1", "CREATE DATABASE itv; CREATE TABLE itv.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)")
            wait(lambda: sql(lab, "ha2", "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema='itv'") == "1")
            lab.partition()
            for i in range(50):
                sql(lab, "ha1", "INSERT INTO itv.t (v) VALUES (%d)" % i)
                sql(lab, "ha2", "INSERT INTO itv.t (v) VALUES (%d)" % i)
            time.sleep(5)
            t0 = time.monotonic()
            lab.heal()
            wait(lambda: sql(lab, "ha1", "SELECT COUNT(*) FROM itv.t") == "100"
                 and sql(lab, "ha2", "SELECT COUNT(*) FROM itv.t") == "100", timeout=120)
            print("partition heal -> both nodes have all 100 rows: %.1f s (MASTER_CONNECT_RETRY=10)"
                  % (time.monotonic() - t0))
    finally:
        lab.down()


if __name__ == "__main__":
    main()
