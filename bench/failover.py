#!/usr/bin/env python3
"""Failover time, measured (not a test): app death on the VIP holder -> the client gets HTTP 200
through the VIP from the other node. 20 rounds per profile; prints p50/p95/max.

    python3 bench/failover.py [--rounds 20] [--keepalived 2.0.20|debian] [--profiles v2,v3] [--smoke]

Runs in the lab (tests/lab) with firewalld and `onsite configure` exactly as on a site.
Profiles: v2 = VRRPv2, advert_int 1 (default site); v3 = VRRPv3 fast profile, advert_int 0.2.
The app check is vrrp_script interval 1 / fall 1 in both, so detection takes up to ~1 s.
"""

import argparse
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.lab import Lab  # noqa: E402
from tests.site_util import APP, DATABASE, NODES, SECRETS, cluster  # noqa: E402

VIP = "192.0.2.100"
# the whole site file (the database step needs the shared secrets even when only failover runs)
SITE = ("\n" + cluster(51, "vrrp_version = {version}", "advert_int = {advert}") + NODES + APP + "fall = 1\nrise = 2\n"
        + DATABASE + SECRETS.format(repl="bench-replication-secret", seed="bench-seed-secret"))
PROFILES = {"v2": (2, 1), "v3": (3, 0.2), "v3-0.1": (3, 0.1)}

# runs inside the client netns: poll the VIP until the answer comes from the expected node
POLLER = r"""
import socket, sys, time
want = sys.argv[1].encode()
print("ready", flush=True)
while True:
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
        if data.startswith(b"HTTP/1.0 200") and data.rstrip().endswith(want):
            print("%.6f" % time.monotonic(), flush=True)
            break
    except OSError:
        pass
    time.sleep(0.005)
"""


def pct(values, p):
    """Nearest-rank percentile: the ceil(p% * n)-th smallest value."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(math.ceil(p / 100.0 * len(ordered))) - 1))
    return ordered[k]


def vrrp_state(lab, node):
    path = lab.path(node, "/var/lib/ha-installer/vrrp-state")
    return path.read_text().split()[0] if path.exists() else ""


def run_profile(name, rounds, keepalived):
    version, advert = PROFILES[name]
    lab = Lab(lab_id="bench%d" % os.getpid(), keepalived=keepalived)
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        site = os.path.join(tmp, "site.toml")
        with open(site, "w") as handle:
            handle.write(SITE.format(version=version, advert=advert))
        os.chmod(site, 0o600)
        lab.up()
        try:
            for node in lab.nodes:
                lab.start_app(node)
            for node in lab.nodes:
                out = lab.exec_python_onsite(node, ["configure", "--site", site, "--only", "firewall",
                                                    "--only", "keepalived"])
                if out.returncode != 0:
                    raise SystemExit(out.stdout + out.stderr)
            for i in range(rounds):
                holder = lab.wait_single_holder(VIP, timeout=20)
                other = "ha2" if holder == "ha1" else "ha1"
                lab.wait_for(lambda: vrrp_state(lab, other) == "BACKUP", timeout=20, what=other + " BACKUP")
                poller = subprocess.Popen(lab.node_argv("client", ["python3", "-c", POLLER, other]),
                                          stdout=subprocess.PIPE, universal_newlines=True,
                                          env=lab.node_env())
                assert poller.stdout.readline().strip() == "ready"
                t_kill = time.monotonic()
                lab.kill_app(holder)
                line = poller.stdout.readline().strip()
                poller.wait(timeout=30)
                elapsed = float(line) - t_kill
                times.append(elapsed)
                print("  %s round %2d: %s -> %s  %.3f s" % (name, i + 1, holder, other, elapsed), flush=True)
                lab.start_app(holder)
        finally:
            lab.down()
    return times


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--keepalived", default="2.0.20", help='"2.0.20" (default, the target) or "debian"')
    parser.add_argument("--profiles", default="v2,v3")
    parser.add_argument("--smoke", action="store_true", help="one round of the v3 profile (the test suite runs it)")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.profiles = 1, "v3"
    binary = None if args.keepalived == "debian" else args.keepalived
    results = {}
    for name in args.profiles.split(","):
        results[name] = run_profile(name, args.rounds, binary)
    print("\nkeepalived %s, %d rounds, app killed (SIGKILL) on the holder -> HTTP 200 from the peer via the VIP"
          % (args.keepalived, args.rounds))
    print("%-8s %-22s %7s %7s %7s %7s" % ("profile", "vrrp", "p50", "p95", "max", "min"))
    for name, times in results.items():
        version, advert = PROFILES[name]
        print("%-8s %-22s %6.2fs %6.2fs %6.2fs %6.2fs" % (
            name, "v%d advert_int %s" % (version, advert), statistics.median(times), pct(times, 95),
            max(times), min(times)))


if __name__ == "__main__":
    main()
