"""Shared by the rolling-upgrade lab tests and bench/upgrade.py: an installed demo pair, update
bundles built from whatever lock the pair runs now, `upgrade` through the .run, a client
polling the app through the VIP."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import threading
import time
from pathlib import Path

from tests.ops_helpers import (VIP, baseline_root, build_demo_run, build_update_run, on_both, py36_path,
                               run_file_install, write_next_manifest, write_site)

RUN_INSIDE = "/run/ha-installer-update.run"
STATE = "/var/lib/ha-installer/state.json"


def install_pair(lab, base: Path, vrid: int, extra=()) -> dict:
    """The demo .run installed on ha1 and ha2 (scratch rpm roots); the pair's handles."""
    full = build_demo_run(base / "dist")
    w = {"run": full, "site": write_site(base, vrid=vrid), "path": py36_path(base), "base": base,
         "locks": {}, "builds": 0}
    remember_lock(w, base / "dist" / "demo" / "bundle.lock.json")
    w["roots"] = {n: baseline_root(base / ("root-" + n), base / "cache") for n in ("ha1", "ha2")}
    res = on_both(lambda n: run_file_install(lab, n, full, w["site"], w["roots"][n], w["path"], extra=extra))
    for node in ("ha1", "ha2"):
        assert res[node].returncode == 0, res[node].stdout + res[node].stderr
    return w


def remember_lock(pair: dict, path: Path) -> None:
    pair["locks"][hashlib.sha256(path.read_bytes()).hexdigest()] = path


def running_lock(lab, pair: dict, node: str) -> Path:
    """The lock file of the bundle node runs now."""
    sha = json.loads(lab.read(node, STATE))["installed_lock"]["sha256"]
    assert sha in pair["locks"], sha
    return pair["locks"][sha]


def update_from_current(lab, pair: dict, app_version: str, repos=("updates-next",), broken_app=False) -> Path:
    """An update bundle of the lock the VIP holder runs now (fixture repos `repos`, the app at
    app_version); its lock is remembered for the next one."""
    node = lab.wait_single_holder(VIP.split("/")[0], timeout=30)
    pair["builds"] += 1
    where = pair["base"] / ("u%d" % pair["builds"])
    run = build_update_run(where / "dist", write_next_manifest(where, app_version, broken_app, repos),
                           running_lock(lab, pair, node))
    remember_lock(pair, where / "dist" / "demo-update" / "bundle.lock.json")
    return run


def upgrade(lab, pair: dict, node: str, run: Path, env=None, timeout=300):
    shutil.copy(str(run), str(lab.path(node, RUN_INSIDE)))
    return lab.run(node, ["sh", RUN_INSIDE, "--accept", "--", "upgrade", "--site", pair["site"],
                          "--rpm-root", str(pair["roots"][node])], check=False, timeout=timeout,
                   env=dict({"PATH": pair["path"]}, **(env or {})))


def rpm_q(pair: dict, node: str, name: str) -> str:
    out = subprocess.run(["rpm", "--root", str(pair["roots"][node]), "-q", name], stdout=subprocess.PIPE,
                         universal_newlines=True)
    return out.stdout.strip()


def holder_and_standby(lab):
    h = lab.wait_single_holder(VIP.split("/")[0], timeout=30)
    return h, "ha2" if h == "ha1" else "ha1"


def app_release(lab, node: str) -> str:
    return lab.run(node, ["readlink", "/opt/itv/current"]).stdout.strip().replace("releases/", "")


def journal(lab, node: str) -> dict:
    return json.loads(lab.read(node, STATE))


def outages(samples) -> list[float]:
    """Every stretch without a good answer in [(time, ok)]: seconds from the last good answer
    before it to the first good one after it (inf when it never came back)."""
    out, last_ok, failing = [], None, False
    for t, ok in samples:
        if ok:
            if failing and last_ok is not None:
                out.append(t - last_ok)
            last_ok, failing = t, False
        else:
            failing = True
    if failing:
        out.append(float("inf"))
    return out


class Poller:
    """The client asks the app through the VIP every `every` s: reads (GET /) or acknowledged
    writes (PUT /files/<n>, each recorded when answered 201). Outages are the gaps between
    the last good answer before a failure and the first good one after it."""

    def __init__(self, lab, every: float = 0.05, writes: bool = False):
        self.lab, self.every, self.writes = lab, every, writes
        self.samples: list[tuple[float, bool]] = []
        self.acked: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def ask(self, n: int) -> bool:
        vip = VIP.split("/")[0]
        if not self.writes:
            return self.lab.http_get("http://%s:8081/" % vip, timeout=0.5)[0] == 200
        name = "w%06d.txt" % n
        out = self.lab.run("client", ["curl", "-s", "-m", "0.5", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                                      "--data-binary", name, "http://%s:8081/files/%s" % (vip, name)],
                           check=False).stdout
        if out == "201":
            self.acked.append(name)
            return True
        return False

    def run(self):
        n = 0
        while not self.stop.is_set():
            n += 1
            self.samples.append((time.monotonic(), self.ask(n)))
            time.sleep(self.every)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)

    def outages(self) -> list[float]:
        return outages(self.samples)

    def longest_outage(self) -> float:
        return max(self.outages() or [0.0])
