"""Rolling upgrade of a real pair with update bundles (issue 16, items 2 and 3).

One lab per module: the demo .run installed on both nodes (fast VRRP profile). Each test
builds its update from the lock the pair runs at that moment (libnl3 bumped by the fixture
repo updates-next, the app at a version of its own), so the tests pass in any order.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time

import pytest

from tests.lab.fixtures import lab  # noqa: F401 (fixture)
from tests.ops_helpers import VIP, build_update_run, write_next_manifest
from tests.upgrade_helpers import (RUN_INSIDE, Poller, app_release, holder_and_standby, install_pair, journal,
                                   rpm_q, running_lock, update_from_current, upgrade)

pytestmark = pytest.mark.lab

NEW_LIBNL = "libnl3-3.2.28-5.el7.x86_64"


def onsite_pid(top: int) -> int:
    """The python process running the onsite program, below top (nsenter -> sh header -> python)."""
    end = time.monotonic() + 10
    while time.monotonic() < end:
        todo = [top]
        while todo:
            pid = todo.pop()
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as handle:
                    if b"onsite.cli" in handle.read():
                        return pid
                with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
                    todo += [int(c) for c in handle.read().split()]
            except OSError:
                continue
        time.sleep(0.005)
    raise AssertionError("the onsite process was not found")


@pytest.fixture(scope="module")
def pair(lab, tmp_path_factory):
    return install_pair(lab, tmp_path_factory.mktemp("upgrade"), vrid=61)


def test_install_refuses_an_update_bundle(lab, pair):
    run = update_from_current(lab, pair, "1.1.0")
    shutil.copy(str(run), str(lab.path("ha1", RUN_INSIDE)))
    res = lab.run("ha1", ["sh", RUN_INSIDE, "--accept", "--", "install", "--site", pair["site"],
                          "--rpm-root", str(pair["roots"]["ha1"])], check=False, env={"PATH": pair["path"]})
    assert res.returncode == 11, res.stdout + res.stderr
    assert "update bundle" in res.stdout + res.stderr and "-- upgrade" in res.stdout + res.stderr


def test_holder_first_is_refused_and_a_wrong_base_is_named(lab, pair):
    h, standby = holder_and_standby(lab)
    before = {n: journal(lab, n).get("upgrade") for n in (h, standby)}
    # an update of the lock both nodes run: the holder names the standby
    res = upgrade(lab, pair, h, update_from_current(lab, pair, "1.2.0"))
    assert res.returncode == 13, res.stdout + res.stderr
    assert "standby %s is upgraded first" % standby in res.stdout + res.stderr
    # an update of a lock this host does not run (one package more than here): refused,
    # naming the lock to apply first
    lock = json.loads(running_lock(lab, pair, h).read_text())
    lock["packages"].append(dict(lock["packages"][0], name="site-extras", version="1.0", release="1.el7",
                                 filename="rpms/site-extras-1.0-1.el7.x86_64.rpm", arch="x86_64"))
    other = pair["base"] / "other.lock.json"
    other.write_text(json.dumps(lock))
    run = build_update_run(pair["base"] / "dist-other", write_next_manifest(pair["base"] / "other", "1.2.1"), other)
    res = upgrade(lab, pair, standby, run)
    assert res.returncode == 11, res.stdout + res.stderr
    want = hashlib.sha256(other.read_bytes()).hexdigest()[:16]
    assert "installed from lock %s" % want in res.stdout + res.stderr, res.stdout + res.stderr
    assert "site-extras.x86_64: not installed here" in res.stdout + res.stderr
    assert {n: journal(lab, n).get("upgrade") for n in (h, standby)} == before      # nothing changed


def test_rolling_upgrade_keeps_serving_and_a_forced_failure_rolls_back(lab, pair):
    h, standby = holder_and_standby(lab)
    old_app, old_libnl = app_release(lab, h), rpm_q(pair, h, "libnl3")
    run = update_from_current(lab, pair, "1.3.0")
    with Poller(lab) as poll:
        res = upgrade(lab, pair, standby, run)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "next: on %s" % h in res.stdout, res.stdout
        assert rpm_q(pair, standby, "libnl3") == NEW_LIBNL and app_release(lab, standby) == "1.3.0"
        # the holder's run fails on purpose after its packages: it rolls back, the standby serves
        res = upgrade(lab, pair, h, run, env={"HA_UPGRADE_FAIL_AT": "verify"})
        assert res.returncode == 15, res.stdout + res.stderr
        assert "rolled back" in res.stdout + res.stderr
        assert rpm_q(pair, h, "libnl3") == old_libnl and app_release(lab, h) == old_app
        assert lab.wait_single_holder(VIP.split("/")[0], timeout=30) == standby
        assert journal(lab, h)["upgrade"]["status"] == "rolled-back"
        # the same update again, without the failure: the pair ends on the new bundle
        res = upgrade(lab, pair, h, run)
        assert res.returncode == 0, res.stdout + res.stderr
        assert rpm_q(pair, h, "libnl3") == NEW_LIBNL
        time.sleep(1)
    assert poll.samples and poll.longest_outage() <= 5.0, poll.outages()   # bench/upgrade.py measures p95
    for node in ("ha1", "ha2"):
        assert lab.http_get("http://%s:8081/" % lab.addr(node))[0] == 200
        assert app_release(lab, node) == "1.3.0"
        assert journal(lab, node)["installed_lock"]["app_version"] == "1.3.0"
    again = upgrade(lab, pair, standby, run)
    assert again.returncode == 0 and "both" in again.stdout, again.stdout
    shown = lab.run(standby, ["sh", RUN_INSIDE, "--", "status", "--json"], check=False, env={"PATH": pair["path"]})
    installed = json.loads(shown.stdout)["installed"]
    assert installed["app_version"] == "1.3.0" and installed["upgrade"]["status"] == "done", installed
    assert installed["lock_sha256"] == hashlib.sha256(running_lock(lab, pair, standby).read_bytes()).hexdigest()


def test_an_upgrade_killed_mid_way_finishes_on_the_next_run(lab, pair):
    h, standby = holder_and_standby(lab)
    run = update_from_current(lab, pair, "1.4.0")
    shutil.copy(str(run), str(lab.path(standby, RUN_INSIDE)))
    argv = ["sh", RUN_INSIDE, "--accept", "--", "upgrade", "--site", pair["site"],
            "--rpm-root", str(pair["roots"][standby])]
    proc = subprocess.Popen(lab.node_argv(standby, argv), env=lab.node_env({"PATH": pair["path"]}),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    try:
        lab.wait_for(lambda: (journal(lab, standby).get("upgrade") or {}).get("phase") == "configure"
                     and journal(lab, standby)["upgrade"].get("status") == "started",
                     timeout=120, interval=0.005, what="the upgrade past its packages")
        os.kill(onsite_pid(proc.pid), signal.SIGKILL)          # the installer itself, as kill -9 does
    finally:
        out, _ = proc.communicate(timeout=60)
    entry = journal(lab, standby)["upgrade"]
    assert entry["status"] == "started" and entry["phase"] in ("configure", "restart", "verify"), (entry, out)
    res = upgrade(lab, pair, standby, run)
    assert res.returncode == 0, res.stdout + res.stderr
    assert journal(lab, standby)["upgrade"]["status"] == "done" and app_release(lab, standby) == "1.4.0"
    res = upgrade(lab, pair, h, run)
    assert res.returncode == 0, res.stdout + res.stderr
    assert app_release(lab, h) == "1.4.0"


def test_a_rollback_cut_short_is_finished_by_the_next_run(lab, pair):
    h, standby = holder_and_standby(lab)
    old_app, old_libnl = app_release(lab, h), rpm_q(pair, h, "libnl3")
    run = update_from_current(lab, pair, "1.6.0")
    res = upgrade(lab, pair, standby, run)
    assert res.returncode == 0, res.stdout + res.stderr
    # the holder's upgrade fails, and so does its way back (after the packages went back)
    res = upgrade(lab, pair, h, run, env={"HA_UPGRADE_FAIL_AT": "verify,rollback"})
    assert res.returncode != 0 and "the way back failed" in res.stdout + res.stderr, res.stdout + res.stderr
    entry = journal(lab, h)["upgrade"]
    assert (entry["status"], entry["phase"]) == ("rollback-failed", "rolling-back"), entry
    assert lab.wait_single_holder(VIP.split("/")[0], timeout=30) == standby      # the peer serves
    assert lab.http_get("http://%s:8081/" % VIP.split("/")[0])[0] == 200
    # the next run finishes the way back (never goes forward from there)
    res = upgrade(lab, pair, h, run)
    assert res.returncode == 15 and "rolled back" in res.stdout + res.stderr, res.stdout + res.stderr
    assert rpm_q(pair, h, "libnl3") == old_libnl and app_release(lab, h) == old_app
    assert journal(lab, h)["upgrade"]["status"] == "rolled-back"
    assert lab.run(h, ["systemctl", "is-active", "keepalived"], check=False).stdout.strip() == "active"
    # and the one after that upgrades it (the VIP is on the upgraded peer now: standby path)
    res = upgrade(lab, pair, h, run)
    assert res.returncode == 0, res.stdout + res.stderr
    assert app_release(lab, h) == "1.6.0"
