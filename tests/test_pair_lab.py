"""The pair proves it agrees before any change (issue 14), in the lab with real firewalld.

The demo .run unpacked once; each node runs `install` from its own copy of the payload (the
target's Python 3.6). Each scenario starts both installs at once and expects both to stop at
the pair step, with the difference named for both nodes and nothing changed on either:
- node 2's site.toml edited by hand to another VIP;
- `site init` run on both nodes (each its own secrets): named at once, not after a timeout;
- a different bundle on node 2 (its lock differs);
two installs at once on one node: the second names the first and changes nothing; and on a
terminal, install asks once, listing every change, after the handshake: 'n' changes nothing.
"""

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import threading
import time

import pytest

from onsite.ops.install import step_names as install_steps

from onsite.core import errors
from tests.conftest import find_python36
from tests.lab.fixtures import lab, make_lab  # noqa: F401 (fixtures)
from tests.ops_helpers import baseline_root, build_demo_run, write_site

pytestmark = pytest.mark.lab
STEPS = len(install_steps())    # [n/STEPS] in install's progress lines

NODES = ("ha1", "ha2")


@pytest.fixture(scope="module")
def world(lab, tmp_path_factory):
    base = tmp_path_factory.mktemp("pair")
    run = build_demo_run(base / "dist")
    payload = base / "payload"
    out = subprocess.run(["sh", str(run), "--noexec", "--target", str(payload)],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.returncode == 0, out.stdout
    w = {"base": base, "payload": {n: payload for n in NODES}, "site": {n: write_site(base) for n in NODES}}
    w["roots"] = {n: baseline_root(base / ("root-" + n), base / "cache") for n in NODES}
    return w


def start_install(lab, node, world, payload=None, site=None, extra=()):
    payload = payload or world["payload"][node]
    argv = lab.node_argv(node, [find_python36(), "-m", "onsite", "install", "--site", site or world["site"][node],
                                "--rpm-root", str(world["roots"][node]), "--peer-timeout", "600"] + list(extra))
    env = lab.node_env({"PYTHONPATH": str(payload), "HA_INSTALLER_PAYLOAD": str(payload),
                        "PYTHONDONTWRITEBYTECODE": "1"})
    return subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            universal_newlines=True)


def snapshot(lab, node, world):
    """What install could change on a node: packages, keepalived.conf, firewall, journal steps."""
    conf = lab.path(node, "/etc/keepalived/keepalived.conf")
    state = lab.path(node, "/var/lib/ha-installer/state.json")
    steps = json.loads(state.read_text()).get("steps", {}) if state.exists() else {}
    return {
        "rpm": subprocess.run(["rpm", "--root", str(world["roots"][node]), "-qa"], stdout=subprocess.PIPE,
                              universal_newlines=True).stdout,
        "keepalived": conf.read_text() if conf.exists() else None,
        "rich": lab.run(node, ["firewall-cmd", "--list-rich-rules"]).stdout,
        "permanent": lab.run(node, ["firewall-cmd", "--permanent", "--list-all"]).stdout,
        "configured": sorted(k for k, v in steps.items() if k.startswith(("install-packages", "configure-"))
                             and (v or {}).get("status") == "done"),
    }


def both_refuse(lab, world, **per_node):
    """Start install on both nodes at once (per_node: {node: {payload/site}}); both must stop at
    the pair step with exit 14 and change nothing. Returns {node: output}."""
    before = {n: snapshot(lab, n, world) for n in NODES}
    started = time.monotonic()
    procs = {n: start_install(lab, n, world, **per_node.get(n, {})) for n in NODES}
    outs = {}
    for node, proc in procs.items():
        outs[node], _ = proc.communicate(timeout=400)
        assert proc.returncode == errors.REFUSED, outs[node]
        assert "[2/%d] pair ..." % STEPS in outs[node] and "[3/%d]" % STEPS not in outs[node], outs[node]
        assert "nothing was changed on either node" in outs[node]
    assert time.monotonic() - started < 300, "the difference must be named at once, not after the 600 s peer timeout"
    assert {n: snapshot(lab, n, world) for n in NODES} == before
    return outs


def test_a_different_vip_on_node_2_stops_both_installs(lab, world, tmp_path):
    other = tmp_path / "site.toml"
    other.write_text(open(world["site"]["ha2"]).read().replace("192.0.2.100/24", "192.0.2.101/24"))
    other.chmod(0o600)
    outs = both_refuse(lab, world, ha2={"site": str(other)})
    assert "cluster.vip: ha1 has 192.0.2.100/24, ha2 has 192.0.2.101/24" in outs["ha1"]
    assert "cluster.vip: ha2 has 192.0.2.101/24, ha1 has 192.0.2.100/24" in outs["ha2"]
    for out in outs.values():
        assert "copy them from ha1 (where site init ran) to ha2" in out
        assert "secrets." not in out          # the secrets agree: only the VIP is named


def test_site_init_on_both_nodes_names_the_secrets(lab, world, tmp_path):
    sites = {}
    for node in NODES:
        out = subprocess.run([find_python36(), "-m", "onsite", "site", "init", "--vip", "192.0.2.100/24",
                              "--node", "ha1=192.0.2.11", "--node", "ha2=192.0.2.12", "--vrid", "53",
                              "--out", str(tmp_path / (node + ".toml"))],
                             env={"PYTHONPATH": str(world["payload"][node]), "PATH": "/usr/bin:/bin"},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
        assert out.returncode == 0, out.stdout
        assert "site digest" in out.stdout
        sites[node] = str(tmp_path / (node + ".toml"))
    outs = both_refuse(lab, world, ha1={"site": sites["ha1"]}, ha2={"site": sites["ha2"]})
    for node, out in outs.items():
        for key in ("replication_password", "seed_password", "vrrp_password"):
            assert "secrets.%s: differs between" % key in out, out
        assert "cluster.vip" not in out
        # the secrets themselves never appear
        for line in open(sites[node]).read().splitlines():
            if line.startswith(("replication_password", "seed_password")):
                assert line.split('"')[1] not in out


def test_a_different_bundle_on_node_2_stops_both_installs(lab, world, tmp_path):
    other = tmp_path / "payload"
    shutil.copytree(str(world["payload"]["ha2"]), str(other), symlinks=True)
    lock = other / "bundle.lock.json"
    lock.write_text(lock.read_text() + "\n")          # another bundle: another lock digest
    outs = both_refuse(lab, world, ha2={"payload": other})
    assert "bundle: ha1 runs bundle " in outs["ha1"] and "the two .run files differ" in outs["ha1"]
    assert "bundle: ha2 runs bundle " in outs["ha2"]


def test_two_installs_at_once_on_one_node(lab, world):
    first = start_install(lab, "ha1", world, extra=["--peer-timeout", "300"])
    try:
        lock = lab.path("ha1", "/var/lib/ha-installer/installer.lock")
        end = time.monotonic() + 60
        while not (lock.exists() and lock.read_text().strip()):
            assert time.monotonic() < end and first.poll() is None, "the first install never took the lock"
            time.sleep(0.05)
        holder = json.loads(lock.read_text())
        before = snapshot(lab, "ha1", world)
        second = start_install(lab, "ha1", world)
        out, _ = second.communicate(timeout=60)
        assert second.returncode == errors.REFUSED, out
        assert "another ha-installer run holds the lock: pid %d, 'install'" % holder["pid"] in out
        assert "nothing was changed" in out
        assert snapshot(lab, "ha1", world) == before
    finally:
        # nsenter forked the installer into the node's PID namespace: end that child too
        children = open("/proc/%d/task/%d/children" % (first.pid, first.pid)).read().split() \
            if first.poll() is None else []
        for pid in children:
            os.kill(int(pid), signal.SIGKILL)
        first.kill()
        first.communicate()


def install_on_a_terminal(lab, node, world, answer):
    """install with its stdin/stdout on a pseudo-terminal; types answer at the first [y/N]."""
    master, slave = pty.openpty()
    payload = world["payload"][node]
    argv = lab.node_argv(node, [find_python36(), "-m", "onsite", "install", "--site", world["site"][node],
                                "--rpm-root", str(world["roots"][node]), "--peer-timeout", "120"])
    env = lab.node_env({"PYTHONPATH": str(payload), "HA_INSTALLER_PAYLOAD": str(payload),
                        "PYTHONDONTWRITEBYTECODE": "1"})
    proc = subprocess.Popen(argv, env=env, stdin=slave, stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    seen, typed = b"", False
    end = time.monotonic() + 200
    try:
        while time.monotonic() < end:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:        # the terminal closed: the installer ended
                    break
                if not chunk:
                    break
                seen += chunk
                if not typed and b"[y/N]" in seen:
                    os.write(master, answer.encode() + b"\n")
                    typed = True
            elif proc.poll() is not None:
                break
        proc.wait(timeout=30)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, seen.decode("utf-8", "replace").replace("\r\n", "\n")


def test_install_asks_once_listing_every_change_and_no_changes_nothing(lab, world):
    before = {n: snapshot(lab, n, world) for n in NODES}
    results = {}
    threads = [threading.Thread(target=lambda n=n: results.__setitem__(n, install_on_a_terminal(lab, n, world, "n")))
               for n in NODES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for node, (code, out) in results.items():
        peer = "192.0.2.12" if node == "ha1" else "192.0.2.11"
        assert code == errors.REFUSED, out
        assert "pair: %s runs the same bundle" % ("ha2" if node == "ha1" else "ha1") in out, out
        assert "install will now change this host:" in out
        assert "  - install 17 packages (rpm -U" in out
        assert "  - firewall: allow VRRP and 3306/tcp from %s only, open the app port 8081/tcp" % peer in out
        assert "  - keepalived: write /etc/keepalived/keepalived.conf" in out
        assert "  - database: set the root password if none" in out
        assert out.count("[y/N]") == 1                       # asked once, not per step
        assert "not confirmed: nothing was changed" in out
    assert {n: snapshot(lab, n, world) for n in NODES} == before
