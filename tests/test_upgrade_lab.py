"""Rolling upgrade of a real pair with an update bundle (issue 16, items 2 and 3).

One lab per module: the demo .run installed on both nodes (fast VRRP profile), then an update
bundle built from its lock with libnl3 bumped (fixture repo updates-next) and the app at 1.0.1.
A client polls the app through the VIP the whole time. Tests run in file order but each one
starts from whatever the pair is (any order works: each asks the pair first).
"""

from __future__ import annotations

import json
import shutil
import threading
import time

import pytest

from tests.lab.fixtures import lab  # noqa: F401 (fixture)
from tests.ops_helpers import (VIP, baseline_root, build_demo_run, build_update_run, on_both, py36_path,
                               run_file_install, write_next_manifest, write_site)

pytestmark = pytest.mark.lab

RUN_INSIDE = "/run/ha-installer-update.run"
NEW_LIBNL = "libnl3-3.2.28-5.el7.x86_64"
OLD_LIBNL = "libnl3-3.2.28-4.el7.x86_64"


@pytest.fixture(scope="module")
def pair(lab, tmp_path_factory):
    base = tmp_path_factory.mktemp("upgrade")
    full = build_demo_run(base / "dist")
    w = {"run": full, "site": write_site(base, vrid=61), "path": py36_path(base), "base": base}
    w["roots"] = {n: baseline_root(base / ("root-" + n), base / "cache") for n in ("ha1", "ha2")}
    res = on_both(lambda n: run_file_install(lab, n, full, w["site"], w["roots"][n], w["path"]))
    for node in ("ha1", "ha2"):
        assert res[node].returncode == 0, res[node].stdout + res[node].stderr
    w["update"] = build_update_run(base / "dist", write_next_manifest(base / "next"), full)
    return w


def upgrade(lab, pair, node, run=None, env=None, timeout=300):
    shutil.copy(str(run or pair["update"]), str(lab.path(node, RUN_INSIDE)))
    return lab.run(node, ["sh", RUN_INSIDE, "--accept", "--", "upgrade", "--site", pair["site"],
                          "--rpm-root", str(pair["roots"][node])], check=False, timeout=timeout,
                   env=dict({"PATH": pair["path"]}, **(env or {})))


def rpm_q(pair, node, name):
    import subprocess
    out = subprocess.run(["rpm", "--root", str(pair["roots"][node]), "-q", name], stdout=subprocess.PIPE,
                         universal_newlines=True)
    return out.stdout.strip()


def holder(lab):
    h = lab.wait_single_holder(VIP.split("/")[0], timeout=30)
    return h, "ha2" if h == "ha1" else "ha1"


class Poller:
    """GET / through the VIP every 50 ms from the client; records (time, ok)."""

    def __init__(self, lab):
        self.lab, self.samples, self.stop = lab, [], threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        while not self.stop.is_set():
            code, _body = self.lab.http_get("http://%s:8081/" % VIP.split("/")[0], timeout=0.5)
            self.samples.append((time.monotonic(), code == 200))
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join(10)

    def longest_outage(self):
        worst, start = 0.0, None
        for t, ok in self.samples:
            if not ok and start is None:
                start = t
            elif ok and start is not None:
                worst, start = max(worst, t - start), None
        return worst if start is None else float("inf")


def test_install_refuses_an_update_bundle(lab, pair):
    shutil.copy(str(pair["update"]), str(lab.path("ha1", RUN_INSIDE)))
    res = lab.run("ha1", ["sh", RUN_INSIDE, "--accept", "--", "install", "--site", pair["site"],
                          "--rpm-root", str(pair["roots"]["ha1"])], check=False, env={"PATH": pair["path"]})
    assert res.returncode == 11, res.stdout + res.stderr
    assert "update bundle" in res.stdout + res.stderr and "-- upgrade" in res.stdout + res.stderr


def running_lock(lab, pair, node):
    """The lock file node runs now: the full bundle's or the update's."""
    import hashlib
    locks = [pair["base"] / "dist" / d / "bundle.lock.json" for d in ("demo", "demo-update")]
    sha = json.loads(lab.read(node, "/var/lib/ha-installer/state.json"))["installed_lock"]["sha256"]
    mine = [p for p in locks if hashlib.sha256(p.read_bytes()).hexdigest() == sha]
    assert mine, sha
    return mine[0]


def test_holder_first_is_refused_and_a_wrong_base_is_named(lab, pair):
    h, standby = holder(lab)
    before = lab.read(h, "/var/lib/ha-installer/state.json")
    mine = running_lock(lab, pair, h)
    # an update of the lock both nodes run (app 1.0.2): the holder names the standby
    run = build_update_run(pair["base"] / "dist-u2", write_next_manifest(pair["base"] / "u2", "1.0.2"), mine)
    res = upgrade(lab, pair, h, run=run)
    assert res.returncode == 13, res.stdout + res.stderr
    assert "standby %s is upgraded first" % standby in res.stdout + res.stderr
    # an update of a lock this host does not run (one more package than here): refused, naming
    # the lock to apply first
    lock = json.loads(mine.read_text())
    lock["packages"].append(dict(lock["packages"][0], name="site-extras", version="1.0", release="1.el7",
                                 filename="rpms/site-extras-1.0-1.el7.x86_64.rpm", arch="x86_64"))
    other = pair["base"] / "other.lock.json"
    other.write_text(json.dumps(lock))
    run = build_update_run(pair["base"] / "dist-u3", write_next_manifest(pair["base"] / "u3", "1.0.3"), other)
    res = upgrade(lab, pair, standby, run=run)
    assert res.returncode == 11, res.stdout + res.stderr
    import hashlib
    want = hashlib.sha256(other.read_bytes()).hexdigest()[:16]
    assert "installed from lock %s" % want in res.stdout + res.stderr, res.stdout + res.stderr
    assert "site-extras.x86_64: not installed here" in res.stdout + res.stderr
    after = json.loads(lab.read(h, "/var/lib/ha-installer/state.json"))
    assert after.get("upgrade") == json.loads(before).get("upgrade")     # nothing changed


def test_rolling_upgrade_keeps_serving_and_a_forced_failure_rolls_back(lab, pair):
    h, standby = holder(lab)
    with Poller(lab) as poll:
        res = upgrade(lab, pair, standby)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "next: on %s" % h in res.stdout, res.stdout
        assert rpm_q(pair, standby, "libnl3") == NEW_LIBNL
        assert lab.run(standby, ["readlink", "/opt/itv/current"]).stdout.strip() == "releases/1.0.1"
        # the holder's run fails on purpose after its packages: it rolls back, the standby serves
        res = upgrade(lab, pair, h, env={"HA_UPGRADE_FAIL_AT": "verify"})
        assert res.returncode == 15, res.stdout + res.stderr
        assert "rolled back" in res.stdout + res.stderr
        assert rpm_q(pair, h, "libnl3") == OLD_LIBNL
        assert lab.run(h, ["readlink", "/opt/itv/current"]).stdout.strip() == "releases/1.0.0"
        assert lab.wait_single_holder(VIP.split("/")[0], timeout=30) == standby
        entry = json.loads(lab.read(h, "/var/lib/ha-installer/state.json"))["upgrade"]
        assert entry["status"] == "rolled-back"
        # the same update again, without the failure: the pair ends on the new bundle
        res = upgrade(lab, pair, h)
        assert res.returncode == 0, res.stdout + res.stderr
        assert rpm_q(pair, h, "libnl3") == NEW_LIBNL
        time.sleep(1)
    assert poll.samples and poll.longest_outage() <= 5.0, poll.longest_outage()   # bench measures p95
    for node in ("ha1", "ha2"):
        assert lab.http_get("http://%s:8081/" % lab.addr(node))[0] == 200
        assert lab.run(node, ["readlink", "/opt/itv/current"]).stdout.strip() == "releases/1.0.1"
    again = upgrade(lab, pair, standby)
    assert again.returncode == 0 and "both" in again.stdout, again.stdout
