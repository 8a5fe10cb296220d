"""kill -9 of the installer at each journal step, then re-run: it resumes and converges.

One lab. First a preflight FAIL (VIP already in use) stops install before any change. Then:
ha1 holds 200 rows of app data. ha2 runs one plain install in the background (its
database step waits for ha1). On ha1 the installer (the .run's own onsite code, Python 3.6) is
started again and again and SIGKILLed the moment the journal says the next step started:
preflight, pair, packages, firewall, keepalived, database, verify. Each run after a kill says where
the last one stopped. Then one more run finishes; both nodes have every row (0 lost), writes on
either node replicate to the other, and another run changes nothing.
"""

import json
import os
import signal
import subprocess
import time

import pytest

from onsite.ops.install import step_names as install_steps

from tests.conftest import find_python36
from tests.lab.fixtures import lab, make_lab  # noqa: F401 (fixtures)
from onsite.core import errors  # the exit code table
from tests.ops_helpers import (
    app_rows,
    baseline_root,
    build_demo_run,
    make_app_data,
    sql,
    write_site,
)

pytestmark = pytest.mark.lab
STEP_COUNT = len(install_steps())    # [n/STEP_COUNT] in install's progress lines

STEPS = install_steps()


def unpacked(base, vrid):
    """The demo .run unpacked (--noexec), a site file and a scratch rpm root per node."""
    run = build_demo_run(base / "dist")
    payload = base / "payload"
    out = subprocess.run(["sh", str(run), "--noexec", "--target", str(payload)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.returncode == 0, out.stdout
    w = {"payload": payload, "site": write_site(base, vrid=vrid)}
    w["roots"] = {n: baseline_root(base / ("root-" + n), base / "cache") for n in ("ha1", "ha2")}
    return w


@pytest.fixture(scope="module")
def world(lab, tmp_path_factory):
    w = unpacked(tmp_path_factory.mktemp("faults"), 54)
    make_app_data(lab, "ha1", 200)     # no stand-in app: install runs the bundle's demo app
    w["rows"] = app_rows(lab, "ha1")
    return w


def start_install(lab, node, world, lang="en"):
    argv = lab.node_argv(node, [find_python36(), "-m", "onsite", "--lang", lang, "install", "--site", world["site"],
                                "--rpm-root", str(world["roots"][node]), "--peer-timeout", "240"])
    env = lab.node_env({"PYTHONPATH": str(world["payload"]), "HA_INSTALLER_PAYLOAD": str(world["payload"]),
                        "PYTHONDONTWRITEBYTECODE": "1"})
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)


def installer_pid(proc):
    """nsenter forks to enter the PID namespace: the installer is its only child."""
    path = "/proc/%d/task/%d/children" % (proc.pid, proc.pid)
    end = time.monotonic() + 10
    while time.monotonic() < end:
        try:
            children = open(path).read().split()
        except OSError:
            children = []
        if children:
            return int(children[0])
        time.sleep(0.005)
    raise AssertionError("installer process not found")


def step_status(lab, node, step):
    try:
        data = json.loads(lab.path(node, "/var/lib/ha-installer/state.json").read_text())
    except (OSError, ValueError):
        return None
    return (data.get("steps", {}).get("install-" + step) or {}).get("status")


def kill_at(lab, world, step):
    """Run install on ha1 and SIGKILL it when the journal says `step` started; its output."""
    proc = start_install(lab, "ha1", world)
    pid = installer_pid(proc)
    end = time.monotonic() + 180
    while step_status(lab, "ha1", step) != "started":
        assert proc.poll() is None, "install ended before step %s: %s" % (step, proc.stdout.read())
        assert time.monotonic() < end, "step %s never started" % step
        time.sleep(0.003)
    os.kill(pid, signal.SIGKILL)
    out, _ = proc.communicate(timeout=60)
    # the kill landed inside the step: the journal still says it started and did not finish
    assert step_status(lab, "ha1", step) == "started", out
    return out


def test_a_preflight_fail_stops_install_before_any_change(lab, world, tmp_path):
    """The VIP answers ARP from another host (the client's address): install stops at step 1."""
    bad = tmp_path / "site.toml"
    bad.write_text(open(world["site"]).read().replace('vip = "192.0.2.100/24"', 'vip = "192.0.2.50/24"'))
    os.chmod(str(bad), 0o600)
    root = world["roots"]["ha1"]
    packages = subprocess.run(["rpm", "--root", str(root), "-qa"], stdout=subprocess.PIPE,
                              universal_newlines=True).stdout
    conf = lab.path("ha1", "/etc/keepalived/keepalived.conf")
    before = (conf.read_text() if conf.exists() else None,
              lab.run("ha1", ["firewall-cmd", "--list-rich-rules"]).stdout)
    proc = start_install(lab, "ha1", dict(world, site=str(bad)))
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == errors.CHECKS_FAILED, out
    assert "[1/%d] preflight ..." % STEP_COUNT in out and "[2/%d]" % STEP_COUNT not in out
    assert "192.0.2.50" in out
    assert "preflight found 1 problem(s); nothing was changed" in out
    assert subprocess.run(["rpm", "--root", str(root), "-qa"], stdout=subprocess.PIPE,
                          universal_newlines=True).stdout == packages
    # whatever ran before in this lab, the refused install changed neither
    assert (conf.read_text() if conf.exists() else None,
            lab.run("ha1", ["firewall-cmd", "--list-rich-rules"]).stdout) == before
    assert step_status(lab, "ha1", "preflight") == "failed"


def test_kill_9_at_every_step_then_rerun_converges_with_no_rows_lost(lab, world):
    peer = start_install(lab, "ha2", world)
    try:
        for number, step in enumerate(STEPS):
            out = kill_at(lab, world, step)
            assert "[%d/%d] %s ..." % (number + 1, STEP_COUNT, step) in out, out
            if number:
                assert "resuming: the last install stopped during step '%s'" % STEPS[number - 1] in out, out
        final = start_install(lab, "ha1", world)
        out, _ = final.communicate(timeout=400)
        assert final.returncode == 0, out
        assert "resuming: the last install stopped during step 'verify'" in out
        assert "[%d/%d] verify: ok" % (STEP_COUNT, STEP_COUNT) in out, out
        peer_out, _ = peer.communicate(timeout=400)
        assert peer.returncode == 0, peer_out
    finally:
        if peer.poll() is None:
            peer.kill()
    # 0 rows lost, the same rows on both, and replication works both ways
    assert app_rows(lab, "ha1") == world["rows"]
    assert app_rows(lab, "ha2") == world["rows"]
    sql(lab, "ha1", "INSERT INTO itv.device (name) VALUES ('after-ha1')")
    sql(lab, "ha2", "INSERT INTO itv.device (name) VALUES ('after-ha2')")
    end = time.monotonic() + 30
    while not (app_rows(lab, "ha1")[0] == app_rows(lab, "ha2")[0] == 202):
        assert time.monotonic() < end, (app_rows(lab, "ha1"), app_rows(lab, "ha2"))
        time.sleep(0.3)
    assert app_rows(lab, "ha1") == app_rows(lab, "ha2")
    again = start_install(lab, "ha1", world, lang="zh_CN")
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 0, out
    assert "install: 未做任何更改: ha1 已完成安装、配置和验证" in out, out


def test_kill_9_while_copying_the_data_then_rerun_copies_again(make_lab, tmp_path):
    """ha2 is killed while it loads ha1's 256,000 rows (its own phase says 'seeding'): the
    re-run does not mistake the half-loaded copy for diverged data, it copies again."""
    lab2 = make_lab()
    w = unpacked(tmp_path, 55)
    make_app_data(lab2, "ha1", 1000)
    for _ in range(8):
        sql(lab2, "ha1", "INSERT INTO itv.device (name) SELECT CONCAT('d', id) FROM itv.device")
    rows = app_rows(lab2, "ha1")
    assert rows[0] == 256000
    first = start_install(lab2, "ha1", w)
    second = start_install(lab2, "ha2", w)
    try:
        pid = installer_pid(second)
        phase = "SELECT phase FROM ha_bundle.node_state WHERE node = 'ha2'"
        end = time.monotonic() + 180
        while sql(lab2, "ha2", phase, check=False) != "seeding":
            assert second.poll() is None, "ha2 finished before it was caught seeding"
            assert time.monotonic() < end
            time.sleep(0.05)
        time.sleep(0.3)
        os.kill(pid, signal.SIGKILL)
        second.communicate(timeout=60)
        assert sql(lab2, "ha2", phase) == "seeding"
        again = start_install(lab2, "ha2", w)
        out, _ = again.communicate(timeout=300)
        assert again.returncode == 0, out
        assert "the last copy from ha1 was interrupted; copying again" in out
        out1, _ = first.communicate(timeout=300)
        assert first.returncode == 0, out1
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
    assert app_rows(lab2, "ha2") == rows == app_rows(lab2, "ha1")
