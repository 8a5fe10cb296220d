#!/usr/bin/env python3
"""Failover and file sync, measured (not a test) on the demo bundle installed in the lab.

    python3 bench/failover.py [--rounds 20] [--profiles fast,default] [--steady 600] [--smoke]

For each VRRP profile a fresh lab gets the demo .run installed on both nodes (the app as a
service, keepalived 2.0.20 tracking its down file, file sync), then, round after round, the
client measures through the VIP:
  kill   the holder's app gets SIGKILL         -> HTTP 200 from the peer
  hang   the holder's app is stopped (SIGSTOP: the port accepts, nothing answers) -> same
  link   the holder's cable is pulled          -> same
  sync   a file PUT through the VIP            -> the file (same bytes) on the peer
and, with both apps healthy, a steady client load for --steady seconds (a bounded request
loop): the number of VIP moves must be 0. Prints p50/p95/max per case; targets (issue 15):
kill <= 0.5 s, hang <= 2.5 s, link <= 0.5 s (fast profile), sync <= 2 s, steady 0 moves.
Profiles: fast = VRRPv3 advert_int 0.1; default = VRRPv2 advert_int 1 (site defaults).
--smoke: one round of each case, fast profile, 5 s steady (the test suite runs it).
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench import pct  # noqa: E402

from tests.lab import Lab  # noqa: E402
from tests.ops_helpers import baseline_root, build_demo_run, on_both, py36_path, run_file_install  # noqa: E402
from tests.site_util import APP, DATABASE, NODES, SECRETS, cluster  # noqa: E402

VIP = "192.0.2.100"
DATA = "/var/lib/itv/uploads"
PROFILES = {"fast": (3, 0.1), "default": (2, 1)}
TARGETS = {"kill": 0.5, "hang": 2.5, "link": 0.5, "sync": 2.0}
CASES = {"kill": "app killed (SIGKILL) on the holder -> HTTP 200 from the peer via the VIP",
         "hang": "app hung (SIGSTOP: port open, no answer) on the holder -> HTTP 200 from the peer via the VIP",
         "link": "holder's link cut -> HTTP 200 from the peer via the VIP",
         "sync": "file PUT through the VIP -> the same bytes on the peer"}
PROFILE_TEXT = {"fast": "VRRP v3 advert_int 0.1", "default": "VRRP v2 advert_int 1"}

# inside the client netns: which node answers GET / through the VIP (None: no 200)
ASK = r"""
import socket, sys, time

def ask(vip, timeout):
    s = socket.create_connection((vip, 8081), timeout=timeout)
    try:
        s.settimeout(timeout)
        s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        data = b""
        while True:                    # headers and body may come in separate segments
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    if not data.startswith(b"HTTP/1.0 200"):
        return None
    return data.rstrip().rsplit(b"\n", 1)[-1].decode()
"""
# ... until the answer comes from the expected node; prints when
POLLER = ASK + r"""
want, vip = sys.argv[1], sys.argv[2]
print("ready", flush=True)
while True:
    try:
        if ask(vip, 0.2) == want:
            print("%.6f" % time.monotonic(), flush=True)
            break
    except OSError:
        pass
    time.sleep(0.005)
"""
# ... a bounded steady load: answers, errors and changes of the answering node
STEADY = ASK + r"""
vip, seconds = sys.argv[1], float(sys.argv[2])
end = time.monotonic() + seconds
answers, errors, last, moves = 0, 0, None, 0
while time.monotonic() < end:
    try:
        node = ask(vip, 1)
    except OSError:
        node = None
    if node is None:
        errors += 1
    else:
        if last is not None and node != last:
            moves += 1
        last, answers = node, answers + 1
    time.sleep(0.05)
print(answers, errors, moves)
"""
# inside the peer: wait until the file holds the expected bytes
WATCHER = r"""
import sys, time
path, want = sys.argv[1], sys.argv[2]
print("ready", flush=True)
while True:
    try:
        with open(path) as handle:
            if handle.read() == want:
                print("%.6f" % time.monotonic(), flush=True)
                break
    except OSError:
        pass
    time.sleep(0.002)
"""



def site_text(version, advert, vrid=61):
    return ("\n" + cluster(vrid, "vrrp_version = %d" % version, "advert_int = %s" % advert) + NODES + APP
            + DATABASE + SECRETS.format(repl="bench-replication-secret", seed="bench-seed-secret"))


class Pair:
    """A lab with the demo .run installed on both nodes."""

    def __init__(self, profile, work: Path, run: Path):
        version, advert = PROFILES[profile]
        self.lab = Lab(lab_id="bfo%d" % os.getpid(), keepalived="2.0.20")
        site = work / ("site-%s.toml" % profile)
        site.write_text(site_text(version, advert))
        os.chmod(str(site), 0o600)
        self.site, self.run, self.path = str(site), run, py36_path(work)
        self.roots = {n: baseline_root(work / ("root-%s-%s" % (profile, n)), work / "cache") for n in ("ha1", "ha2")}

    def up(self):
        self.lab.up()
        res = on_both(lambda n: run_file_install(self.lab, n, self.run, self.site, self.roots[n], self.path))
        for node, out in res.items():
            if out.returncode != 0:
                raise SystemExit("install on %s failed:\n%s%s" % (node, out.stdout, out.stderr))

    def down(self):
        self.lab.down()

    def main_pid(self, node):
        return int(self.lab.run(node, ["systemctl", "show", "-p", "MainPID", "--value", "itv"]).stdout.strip() or 0)

    def state(self, node):
        path = self.lab.path(node, "/var/lib/ha-installer/vrrp-state")
        return path.read_text().split()[0] if path.exists() else ""

    def settled(self):
        """One holder, the other BACKUP with a healthy app; (holder, other)."""
        lab = self.lab
        for node in ("ha1", "ha2"):
            lab.wait_for(lambda n=node: lab.http_get("http://%s:8081/health" % lab.addr(n))[0] == 200,
                         timeout=60, what="app on " + node)
        holder = lab.wait_single_holder(VIP, timeout=60)
        other = "ha2" if holder == "ha1" else "ha1"
        lab.wait_for(lambda: self.state(other) == "BACKUP", timeout=60, what=other + " BACKUP")
        return holder, other

    def spawn(self, node, script, *args):
        proc = subprocess.Popen(self.lab.node_argv(node, ["python3", "-c", script] + list(args)),
                                stdout=subprocess.PIPE, universal_newlines=True, env=self.lab.node_env())
        assert proc.stdout.readline().strip() == "ready"
        return proc

    def until_answer(self, other, act):
        poller = self.spawn("client", POLLER, other, VIP)
        start = time.monotonic()
        act()
        line = poller.stdout.readline().strip()
        poller.wait(timeout=60)
        return float(line) - start

    def kill(self, holder, other):
        return self.until_answer(other, lambda: self.lab.run(holder, ["kill", "-9", str(self.main_pid(holder))]))

    def hang(self, holder, other):
        pid = self.main_pid(holder)
        try:
            return self.until_answer(other, lambda: self.lab.run(holder, ["kill", "-STOP", str(pid)]))
        finally:
            self.lab.run(holder, ["kill", "-CONT", str(pid)])

    def link(self, holder, other):
        try:
            return self.until_answer(other, lambda: self.lab.link_down(holder))
        finally:
            self.lab.link_up(holder)

    def sync(self, holder, other, n):
        name, body = "bench-%d-%d.txt" % (os.getpid(), n), "payload %d %f" % (n, time.time())
        watcher = self.spawn(other, WATCHER, "%s/%s" % (DATA, name), body)
        start = time.monotonic()
        self.lab.run("client", ["curl", "-s", "-m", "5", "-o", "/dev/null", "-X", "PUT", "--data-binary", body,
                                "http://%s:8081/files/%s" % (VIP, name)])
        line = watcher.stdout.readline().strip()
        watcher.wait(timeout=60)
        return float(line) - start

    def steady(self, seconds):
        self.settled()
        before = self.notify_lines()
        out = self.lab.run("client", ["python3", "-c", STEADY, VIP, str(seconds)], timeout=seconds + 60).stdout
        answers, errors, moves = (int(x) for x in out.split())
        changes = self.notify_lines() - before
        return answers, errors, moves, changes

    def notify_lines(self):
        total = 0
        for node in ("ha1", "ha2"):
            path = self.lab.path(node, "/var/log/ha-installer/vrrp-notify.log")
            total += len(path.read_text().splitlines()) if path.exists() else 0
        return total


def run_profile(profile, rounds, steady, work, run):
    pair = Pair(profile, work, run)
    results = {case: [] for case in TARGETS}
    pair.up()
    try:
        for i in range(rounds):
            for case in ("sync", "kill", "hang", "link"):
                holder, other = pair.settled()
                took = pair.sync(holder, other, i) if case == "sync" else getattr(pair, case)(holder, other)
                results[case].append(took)
                print("  %-7s round %2d %-4s %s -> %s  %.3f s" % (profile, i + 1, case, holder, other, took), flush=True)
        answers, errors, moves, changes = pair.steady(steady)
        print("  %-7s steady %d s: %d answers, %d errors, %d changes of the answering node, %d VRRP state changes"
              % (profile, steady, answers, errors, moves, changes), flush=True)
        results["steady"] = (steady, answers, errors, moves, changes)
    finally:
        pair.down()
    return results


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--profiles", default="fast,default")
    parser.add_argument("--steady", type=float, default=600.0, help="seconds of steady load (0 moves expected)")
    parser.add_argument("--smoke", action="store_true", help="one round of each case, fast profile, 5 s steady")
    args = parser.parse_args()
    if args.smoke:
        args.rounds, args.profiles, args.steady = 1, "fast", 5.0
    with tempfile.TemporaryDirectory(prefix="bench-failover-") as tmp:
        work = Path(tmp)
        run = build_demo_run(work / "dist")
        results = {p: run_profile(p, args.rounds, args.steady, work, run) for p in args.profiles.split(",")}
    print("\nkeepalived 2.0.20, demo bundle, %d rounds" % args.rounds)
    for case, text in CASES.items():
        print("  %-6s %s" % (case, text))
    for profile in results:
        print("  %-6s %s" % (profile, PROFILE_TEXT[profile]))
    print("%-8s %-6s %7s %7s %7s %7s" % ("profile", "case", "p50", "p95", "max", "target"))
    failed = False
    for profile, res in results.items():
        for case, target in TARGETS.items():
            times = res[case]
            p95 = pct(times, 95)
            print("%-8s %-6s %6.2fs %6.2fs %6.2fs %6.2fs" % (profile, case, statistics.median(times), p95,
                                                             max(times), target))
        seconds, answers, errors, moves, changes = res["steady"]
        print("%-8s steady %d s: %d answers, %d errors, VIP moves %d (VRRP state changes %d)"
              % (profile, seconds, answers, errors, moves, changes))
        failed = failed or moves > 0 or changes > 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
