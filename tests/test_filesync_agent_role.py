"""The file-sync agent takes its role from the VIP itself while keepalived's record lags.

keepalived adds the VIP first and runs its notify script (which records MASTER) after; on a
busy host a client's upload through the VIP can land in between. The agent (the real one,
stubs/onsite/filesync/agent.py, in a network namespace this test creates) must count that
write as its own: recorded for the peer, not dropped. Without the VIP and with BACKUP recorded,
a write is the holder's push and is not recorded.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import STUBS

VIP = "192.0.2.100"


def sh(*argv):
    subprocess.run(list(argv), check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@pytest.fixture
def netns():
    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    name = "hb-fsrole-" + uuid.uuid4().hex[:6]
    sh("ip", "netns", "add", name)
    try:
        sh("ip", "-n", name, "link", "set", "lo", "up")
        sh("ip", "-n", name, "link", "add", "v0", "type", "veth", "peer", "name", "v1")
        sh("ip", "-n", name, "link", "set", "v0", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], stderr=subprocess.DEVNULL)


@pytest.fixture
def agent(start_agent):
    return start_agent()


@pytest.fixture
def start_agent(netns, tmp_path):
    procs = []

    def start(role_text="BACKUP 0\n", rsync="rsync"):
        a = _start(netns, tmp_path, role_text, rsync)
        procs.append(a.pop("proc"))
        return a

    try:
        yield start
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _start(netns, tmp_path, role_text, rsync):
    data, state = tmp_path / "data", tmp_path / "state"
    data.mkdir()
    state.mkdir()
    role = tmp_path / "vrrp_state"
    role.write_text(role_text)
    password = tmp_path / "secret"
    password.write_text("x\n")
    os.chmod(str(password), 0o600)
    broken = tmp_path / "ip-broken"            # while it exists, `ip` fails (cannot tell)
    wrapper = tmp_path / "ip"
    wrapper.write_text('#!/bin/sh\n[ -e "%s" ] && exit 1\nexec ip "$@"\n' % broken)
    os.chmod(str(wrapper), 0o755)
    config = {"node": "ha1", "peer_name": "ha2", "peer_address": "127.0.0.1", "port": 1, "user": "hbsync",
              "password_file": str(password), "rsync": rsync, "dirs": [{"module": "d0", "path": str(data)}],
              "state_dir": str(state), "vrrp_state": str(role), "log": str(tmp_path / "agent.log"),
              "vip": VIP, "ip": str(wrapper)}
    (tmp_path / "config.json").write_text(json.dumps(config))
    proc = subprocess.Popen(["ip", "netns", "exec", netns, sys.executable,
                             str(STUBS / "onsite" / "filesync" / "agent.py"), "--config", str(tmp_path / "config.json")],
                            stdout=open(str(tmp_path / "agent.out"), "w"), stderr=subprocess.STDOUT)
    try:
        wait(lambda: (state / "status.json").exists(), "the agent started")
    except AssertionError:
        proc.kill()
        proc.wait()
        raise
    return {"data": data, "state": state, "role": role, "log": tmp_path / "agent.log", "netns": netns,
            "broken": broken, "proc": proc}


def wait(predicate, what, timeout=10.0):
    end = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < end, "timed out waiting: " + what
        time.sleep(0.05)


def pending(a) -> dict:
    try:
        return json.loads((a["state"] / "pending.json").read_text())
    except (OSError, ValueError):
        return {}


def log(a) -> str:
    return a["log"].read_text() if a["log"].exists() else ""


def test_a_write_while_the_vip_is_here_but_not_yet_recorded_is_kept_for_the_peer(agent):
    # BACKUP recorded, no VIP: a write here is the holder's push, not ours
    (agent["data"] / "pushed.txt").write_text("from the holder")
    (agent["data"] / "marker.txt").write_text("x")
    time.sleep(1.0)
    assert pending(agent) == {}, pending(agent)
    # keepalived added the VIP; its notify script has not recorded MASTER yet
    sh("ip", "-n", agent["netns"], "addr", "add", VIP + "/32", "dev", "v0")
    (agent["data"] / "upload.pdf").write_text("a client's upload through the VIP")
    wait(lambda: "d0/upload.pdf" in pending(agent), "the upload recorded for the peer")
    assert "role BACKUP -> MASTER" in log(agent)
    assert "d0/pushed.txt" not in pending(agent)
    # the record catches up: no flip either way
    agent["role"].write_text("MASTER 1\n")
    time.sleep(0.6)
    assert "MASTER -> BACKUP" not in log(agent)
    # the VIP goes and BACKUP is recorded: the agent follows
    sh("ip", "-n", agent["netns"], "addr", "del", VIP + "/32", "dev", "v0")
    agent["role"].write_text("BACKUP 2\n")
    wait(lambda: "role MASTER -> BACKUP" in log(agent), "the agent back to BACKUP")


def test_the_recorded_role_alone_decides_while_the_vip_is_elsewhere(agent):
    agent["role"].write_text("FAULT 1\n")
    wait(lambda: "-> FAULT" in log(agent), "the agent read FAULT")
    (agent["data"] / "late.txt").write_text("x")
    time.sleep(1.0)
    assert pending(agent) == {} and "-> MASTER" not in log(agent), log(agent)


def test_when_ip_cannot_tell_the_role_stays_what_it_was(agent):
    sh("ip", "-n", agent["netns"], "addr", "add", VIP + "/32", "dev", "v0")
    (agent["data"] / "first.txt").write_text("through the VIP")
    wait(lambda: "d0/first.txt" in pending(agent), "the first upload recorded")
    agent["broken"].write_text("")
    time.sleep(0.5)                               # past the kept yes
    (agent["data"] / "second.txt").write_text("through the VIP too")
    wait(lambda: "d0/second.txt" in pending(agent), "the second upload recorded")
    time.sleep(0.5)
    assert "MASTER -> BACKUP" not in log(agent) and "delivered" not in log(agent), log(agent)


def backlog(a) -> int:
    try:
        return json.loads((a["state"] / "status.json").read_text())["backlog"]
    except (OSError, ValueError, KeyError):
        return -1


def test_changes_are_counted_while_the_agent_waits_on_the_network(start_agent, tmp_path):
    """A holder asks its peer for its backlog before pushing over its files; the backlog must
    count changes made while the agent is inside a slow rsync (a partition, a busy peer)."""
    gate = tmp_path / "network-slow"
    gate.write_text("")
    slow = tmp_path / "slow-rsync"
    slow.write_text('#!/bin/sh\nwhile [ -e "%s" ]; do sleep 0.05; done\nexit 10\n' % gate)
    os.chmod(str(slow), 0o755)
    a = start_agent("MASTER 0\n", str(slow))
    (a["data"] / "first.txt").write_text("1")
    wait(lambda: backlog(a) == 1, "the first change counted")     # its push now hangs
    (a["data"] / "second.txt").write_text("2")
    wait(lambda: backlog(a) == 2, "a change made during the hanging push counted")
    gate.unlink()
    wait(lambda: "push to ha2" in log(a) or "asking ha2" in log(a), "the slow rsync failed")
    assert set(pending(a)) == {"d0/first.txt", "d0/second.txt"}
