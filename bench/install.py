#!/usr/bin/env python3
"""Install and drill times, measured (not a test).

    python3 bench/install.py [--rounds 10] [--keepalived 2.0.20|debian] [--smoke]

In the lab (tests/lab): `ha-bundle build` of manifests/demo.toml, the .run copied into both
nodes, `install --site site.toml --rpm-root <scratch>` on both at once (as field staff would on
two consoles; ha1 holds app data that is copied to ha2), timed per node. Then `drill` rounds on
whichever node holds the VIP, with the fast profile (VRRPv3, advert_int 0.1). Two numbers per
round: the outage drill itself reports (keepalived stop issued -> the VIP answers from the peer,
seen from the drilled node), and the gap a client in its own namespace sees between its last
answer from the old holder and its first from the new one (polling every 10 ms).
Targets (issue 7): install < 120 s per node; drill outage <= 1.5 s.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import pct  # noqa: E402

from tests.lab import Lab  # noqa: E402
from tests.ops_helpers import (  # noqa: E402
    VIP,
    baseline_root,
    build_demo_run,
    make_app_data,
    on_both,
    py36_path,
    run_file_install,
    write_site,
)

POLLER = r"""
import socket, sys, time
print("ready", flush=True)
while True:
    t = time.time()
    try:
        s = socket.create_connection(("192.0.2.100", 8081), timeout=0.2)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        body = data.split(b"\r\n\r\n", 1)[-1].strip().decode() or "?"
    except OSError:
        body = "-"
    print("%.4f %s" % (t, body), flush=True)
    time.sleep(0.01)
"""



def client_gap(lines, start, end, old, new):
    """Seconds between the client's last answer from old and its first from new in [start, end]."""
    last_old = first_new = None
    for line in lines:
        t, _, body = line.partition(" ")
        t = float(t)
        if t < start or t > end:
            continue
        if body == old:
            last_old = t
        elif body == new and last_old is not None and first_new is None:
            first_new = t
    if last_old is None or first_new is None:
        return None
    return first_new - last_old


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--keepalived", default="2.0.20", help='"2.0.20" (the target\'s) or "debian"')
    parser.add_argument("--smoke", action="store_true", help="one drill round (the test suite runs it)")
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 1
    base = Path(tempfile.mkdtemp(prefix="hb-bench-install-"))
    lab = Lab(lab_id="bi%d" % os.getpid(), keepalived=None if args.keepalived == "debian" else args.keepalived)
    poller = None
    try:
        t0 = time.monotonic()
        run = build_demo_run(base / "dist")
        build_s = time.monotonic() - t0
        lab.up()
        site = write_site(base)
        path = py36_path(base)
        roots = {n: baseline_root(base / ("root-" + n), base / "cache") for n in ("ha1", "ha2")}
        make_app_data(lab, "ha1", 1000)    # the demo bundle's own app runs as a service

        def timed(node):
            start = time.monotonic()
            res = run_file_install(lab, node, run, site, roots[node], path)
            return res, time.monotonic() - start

        t0 = time.monotonic()
        results = on_both(timed)
        wall = time.monotonic() - t0
        for node, (res, _) in sorted(results.items()):
            if res.returncode != 0:
                sys.exit("install failed on %s:\n%s%s" % (node, res.stdout, res.stderr))
        print("ha-bundle build (demo manifest): %.1f s" % build_s)
        for node, (res, seconds) in sorted(results.items()):
            print("install %s (from the .run, packages + configure + verify): %.1f s" % (node, seconds))
            for line in res.stdout.splitlines():
                if line.startswith("[") and ": " in line and "s)" in line:
                    print("    " + line)
        print("both nodes at once, wall: %.1f s (target < 120 s per node)" % wall)

        poller = subprocess.Popen(lab.node_argv("client", [sys.executable, "-c", POLLER]),
                                  stdout=subprocess.PIPE, universal_newlines=True, bufsize=1)
        assert poller.stdout.readline().strip() == "ready"
        lines = []
        # drain the pipe all the time: a full pipe would stall the poller (and hide rounds)
        reader = threading.Thread(target=lambda: lines.extend(iter(poller.stdout.readline, "")), daemon=True)
        reader.start()
        outages, gaps = [], []
        for _ in range(args.rounds):
            holder = lab.wait_single_holder(VIP)
            other = "ha2" if holder == "ha1" else "ha1"
            time.sleep(1.0)
            start = time.time()
            res = lab.exec_python_onsite(holder, ["drill", "--site", site, "--json"], timeout=180)
            end = time.time()
            if res.returncode != 0:
                logs = "".join("--- %s file sync log:\n%s" % (n, lab.read(n, "/var/log/ha-installer/filesync.log") or "")
                               for n in ("ha1", "ha2"))
                sys.exit("drill failed on %s:\n%s%s%s" % (holder, res.stdout, res.stderr, logs[-3000:]))
            outages.append(json.loads(res.stdout)["outage_seconds"])
            gaps.append((start, end, holder, other))
            time.sleep(0.5)
        poller.terminate()
        reader.join(10)
        lines = [line.strip() for line in lines]
        client = [g for g in (client_gap(lines, s, e, o, n) for s, e, o, n in gaps) if g is not None]
        print("drill, %d rounds, VRRPv3 advert_int 0.1, keepalived %s:" % (args.rounds, args.keepalived))
        print("  outage reported by drill: p50 %.2f s  p95 %.2f s  max %.2f s  (target <= 1.5 s)"
              % (statistics.median(outages), pct(outages, 95), max(outages)))
        if client:
            print("  client-side gap (last answer from old holder -> first from new): "
                  "p50 %.2f s  p95 %.2f s  max %.2f s  (%d rounds seen)"
                  % (statistics.median(client), pct(client, 95), max(client), len(client)))
    finally:
        if poller is not None and poller.poll() is None:
            poller.kill()
        lab.down()


if __name__ == "__main__":
    main()
