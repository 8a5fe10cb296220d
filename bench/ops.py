#!/usr/bin/env python3
"""How long the field-operation commands take on a lab pair (not a test):
preflight before configure, then verify, status and collect on the configured pair.

    python3 bench/ops.py [--rounds 5] [--keepalived 2.0.20|debian] [--smoke]

Commands run as field staff run them: ``python3.6 -m onsite CMD`` inside the node namespace.
Prints p50 and max wall time per command (seconds) and the support bundle size.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "stubs"))  # noqa: E402

from tests.lab import Lab  # noqa: E402
from tests.test_db_lab import configure_both, write_site  # noqa: E402
from pathlib import Path  # noqa: E402


def timed(lab, node, argv, env=None):
    start = time.monotonic()
    out = lab.exec_python_onsite(node, argv, env=env, timeout=300)
    took = time.monotonic() - start
    if out.returncode != 0:
        raise SystemExit("%s %s failed:\n%s%s" % (node, argv, out.stdout, out.stderr))
    return took, out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keepalived", default="2.0.20")
    parser.add_argument("--smoke", action="store_true", help="one round (the test suite runs it)")
    opts = parser.parse_args()
    if opts.smoke:
        opts.rounds = 1
    lab = Lab(lab_id="bops%d" % os.getpid(),
              keepalived=None if opts.keepalived == "debian" else opts.keepalived)
    times = {}
    try:
        lab.up()
        work = Path(tempfile.mkdtemp(prefix="hb-bench-ops-"))
        site = write_site(work)
        payload = work / "payload"
        payload.mkdir()
        rel = dict(l.split("=", 1) for l in open("/etc/os-release").read().splitlines() if "=" in l)
        (payload / "bundle.lock.json").write_text(json.dumps({"target": {
            "name": "bench", "os_ids": [rel["ID"].strip('"')], "os_major": rel["VERSION_ID"].strip('"').split(".")[0],
            "basearch": "x86_64"}, "packages": []}))
        for node in ("ha1", "ha2"):
            lab.start_app(node)
        for _ in range(opts.rounds):
            took, _out = timed(lab, "ha1", ["preflight", "--site", site], env={"HA_INSTALLER_PAYLOAD": str(payload)})
            times.setdefault("preflight (before configure)", []).append(took)
        res = configure_both(lab, site, only=("firewall", "keepalived", "database"))
        assert all(r.returncode == 0 for r in res.values()), res
        lab.wait_single_holder("192.0.2.100", timeout=30)
        for _ in range(opts.rounds):
            both = {}

            def go(node):
                both[node] = timed(lab, node, ["verify", "--timeout", "60"])[0]
            threads = [threading.Thread(target=go, args=(n,)) for n in ("ha1", "ha2")]
            [t.start() for t in threads]
            [t.join() for t in threads]
            times.setdefault("verify (both nodes at once)", []).extend(both.values())
            took, _out = timed(lab, "ha1", ["status"])
            times.setdefault("status", []).append(took)
            took, _out = timed(lab, "ha1", ["status", "--json"])
            times.setdefault("status --json", []).append(took)
            archive = work / "support.tar.gz"
            took, _out = timed(lab, "ha1", ["collect", "--site", site, "--out", str(archive)])
            times.setdefault("collect", []).append(took)
        size = archive.stat().st_size
    finally:
        lab.down()
    print("lab, 2 shared cores, keepalived %s, %d rounds" % (opts.keepalived, opts.rounds))
    print("%-32s %7s %7s" % ("command", "p50 s", "max s"))
    for name, values in times.items():
        print("%-32s %7.2f %7.2f" % (name, statistics.median(values), max(values)))
    print("support bundle: %d KiB" % (size // 1024))


if __name__ == "__main__":
    main()
