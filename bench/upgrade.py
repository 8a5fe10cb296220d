#!/usr/bin/env python3
"""Rolling upgrades measured (not a test): the client's outage and lost acknowledged writes.

    python3 bench/upgrade.py [--rounds 10] [--smoke]

In the lab (tests/lab): the demo .run installed on both nodes (fast VRRP profile). Each round
builds an update bundle from the lock the pair runs (fixture repo updates-next: a newer libnl3;
the app at a new version) and upgrades the pair as field staff would: `upgrade` on the standby,
then on the VIP holder (which hands the VIP over first). A client in its own namespace asks the
app through the VIP every 20 ms, alternating a read (GET /) and a write (PUT of a new file,
counted as acknowledged when answered 201). Per round: the total time the client got no answer
(every gap between a good answer and the next one, summed) and the longest gap. At the end:
acknowledged writes missing on either node. Then one more update whose second node fails on
purpose (HA_UPGRADE_FAIL_AT=verify): that node rolls back and the pair must keep serving.
Targets (issue 16): total outage p95 <= 1 s per rolling upgrade; 0 acknowledged writes lost.
"""

import argparse
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
from tests.ops_helpers import VIP  # noqa: E402
from tests.upgrade_helpers import (  # noqa: E402
    holder_and_standby, install_pair, outages, update_from_current, upgrade)

CLIENT = r"""
import socket, sys, time
vip = sys.argv[1]

def ask(request):
    try:
        s = socket.create_connection((vip, 8081), timeout=0.3)
        s.settimeout(0.5)
        s.sendall(request)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        s.close()
        return data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "-"
    except (OSError, IndexError):
        return "-"

print("ready", flush=True)
n = 0
while True:
    n += 1
    t = time.time()
    if n % 2:
        print("%.4f read %s" % (t, ask(b"GET / HTTP/1.0\r\n\r\n")), flush=True)
    else:
        name = "bench-%07d.txt" % n
        head = "PUT /files/%s HTTP/1.0\r\nContent-Length: %d\r\n\r\n%s" % (name, len(name), name)
        print("%.4f write %s %s" % (t, ask(head.encode()), name), flush=True)
    time.sleep(0.02)
"""



def gaps(lines, start, end):
    """The client's outages (tests/upgrade_helpers.outages) among its lines in [start, end]."""
    samples = []
    for line in lines:
        parts = line.split()
        t = float(parts[0])
        if start <= t <= end:
            samples.append((t, parts[2] in ("200", "201")))
    return outages(samples)


def must(res, what):
    if res.returncode != 0:
        sys.exit("%s failed:\n%s%s" % (what, res.stdout, res.stderr))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--smoke", action="store_true", help="one round and the failure case (the test suite runs it)")
    args = parser.parse_args()
    if args.smoke:
        args.rounds = 1
    base = Path(tempfile.mkdtemp(prefix="hb-bench-upgrade-"))
    lab = Lab(lab_id="bu%d" % os.getpid(), keepalived="2.0.20")
    client = None
    try:
        lab.up()
        pair = install_pair(lab, base, vrid=63)
        vip = VIP.split("/")[0]
        client = subprocess.Popen(lab.node_argv("client", [sys.executable, "-c", CLIENT, vip]),
                                  stdout=subprocess.PIPE, universal_newlines=True, bufsize=1)
        assert client.stdout.readline().strip() == "ready"
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(client.stdout.readline, "")), daemon=True)
        reader.start()
        totals, longest, seconds, events = [], [], [], []
        for number in range(1, args.rounds + 1):
            run = update_from_current(lab, pair, "2.%d.0" % number)
            holder, standby = holder_and_standby(lab)
            time.sleep(1.0)
            start = time.time()
            must(upgrade(lab, pair, standby, run), "upgrade on the standby %s" % standby)
            events.append((time.time(), "standby %s upgraded" % standby))
            must(upgrade(lab, pair, holder, run), "upgrade on the holder %s" % holder)
            end = time.time()
            events.append((end, "holder %s upgraded" % holder))
            time.sleep(1.0)
            found = gaps(list(lines), start, end + 1.0)
            totals.append(sum(found))
            longest.append(max(found or [0.0]))
            seconds.append(end - start)
        # one more update whose second node fails on purpose: it rolls back, the pair serves
        run = update_from_current(lab, pair, "3.0.0")
        holder, standby = holder_and_standby(lab)
        start = time.time()
        events.append((start, "failure round started"))
        must(upgrade(lab, pair, standby, run), "upgrade on the standby %s" % standby)
        events.append((time.time(), "failure round: standby %s upgraded" % standby))
        failed = upgrade(lab, pair, holder, run, env={"HA_UPGRADE_FAIL_AT": "verify"})
        end = time.time()
        time.sleep(1.0)
        if failed.returncode != 15:
            sys.exit("the forced failure did not end in a rollback:\n%s%s" % (failed.stdout, failed.stderr))
        fail_gaps = gaps(list(lines), start, end + 1.0)
        serving = lab.http_get("http://%s:8081/" % vip)
        must(upgrade(lab, pair, holder, run), "upgrade on %s after the rollback" % holder)
        time.sleep(3.0)
        client.terminate()
        reader.join(10)
        acked = [line.split()[3] for line in lines if line.split()[1:3] == ["write", "201"]]
        missing = {}
        deadline = time.monotonic() + 20       # the last writes may still be on their way to the peer
        for node in ("ha1", "ha2"):
            while True:
                have = set(lab.run(node, ["ls", "/var/lib/itv/uploads"]).stdout.split())
                missing[node] = [name for name in acked if name not in have]
                if not missing[node] or time.monotonic() > deadline:
                    break
                time.sleep(0.5)
        print("rolling upgrade of both nodes (update bundle, standby then holder), %d rounds, "
              "VRRPv3 advert_int 0.1, keepalived 2.0.20:" % args.rounds)
        print("  wall time per rolling upgrade: p50 %.1f s  max %.1f s" % (statistics.median(seconds), max(seconds)))
        print("  total outage per upgrade seen by the client: p50 %.2f s  p95 %.2f s  max %.2f s  (target p95 <= 1 s)"
              % (statistics.median(totals), pct(totals, 95), max(totals)))
        print("  longest single gap: p50 %.2f s  max %.2f s" % (statistics.median(longest), max(longest)))
        print("acknowledged writes: %d; lost on ha1: %d, on ha2: %d (target 0)"
              % (len(acked), len(missing["ha1"]), len(missing["ha2"])))
        print("failed upgrade of the second node (%s, forced): rolled back; client outage during it %.2f s; "
              "pair kept serving: %s" % (holder, sum(fail_gaps), "yes" if serving[0] == 200 else "NO"))
        events.append((end, "forced-failure run ended"))
        for node in ("ha1", "ha2"):
            for name in missing[node][:10]:
                when = [float(line.split()[0]) for line in lines if line.rstrip().endswith(" " + name)][0]
                near = min(events, key=lambda e: abs(e[0] - when))
                print("  lost on %s: %s (written %.2f s from '%s')" % (node, name, when - near[0], near[1]))
        if missing["ha1"] or missing["ha2"] or serving[0] != 200:
            sys.exit(1)
    finally:
        if client is not None and client.poll() is None:
            client.kill()
        lab.down()


if __name__ == "__main__":
    main()
