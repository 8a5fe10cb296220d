"""preflight in the namespace lab (real arping, clockdiff, firewalld, /proc), before configure.

Proves: on a good site every site check PASSes (node, interface, VIP subnet, VIP free, peer,
clock, ports held by the expected programs); each field failure (VIP in use by a foreign
device, VIP outside the node's subnet, wrong OS for the bundle, missing interface, a stranger
on the database port) is a FAIL naming the fix, exit 1; --json and zh_CN; and preflight changes
nothing: every node-private file (bytes and mode), addresses, nft ruleset, firewalld runtime and
permanent config and the process list are identical before and after.
"""

import json

import pytest

from tests.lab.snapshot import node_state
from tests.lab.fixtures import lab  # noqa: F401 (fixture)
from onsite.core import errors  # the exit code table

pytestmark = pytest.mark.lab

SITE = """
[cluster]
vip = "{vip}"
{iface}
[[node]]
name = "ha1"
address = "{a1}"
[[node]]
name = "ha2"
address = "{a2}"
"""


def write_site(path, vip="192.0.2.100/24", a1="192.0.2.11", a2="192.0.2.12", iface=""):
    path.write_text(SITE.format(vip=vip, a1=a1, a2=a2, iface=iface))
    return str(path)


def write_payload(directory, os_ids, major, arch="x86_64"):
    """A bundle with no RPMs: only its target matters for these checks."""
    directory.mkdir(parents=True, exist_ok=True)
    lock = {"target": {"name": "t", "os_ids": os_ids, "os_major": major, "basearch": arch}, "packages": []}
    (directory / "bundle.lock.json").write_text(json.dumps(lock))
    return str(directory)


@pytest.fixture(scope="module")
def env(lab, tmp_path_factory):
    base = tmp_path_factory.mktemp("preflight")
    rel = dict(line.split("=", 1) for line in open("/etc/os-release").read().split("\n") if "=" in line)
    host_id = rel["ID"].strip('"')
    major = rel["VERSION_ID"].strip('"').split(".")[0]
    for node in ("ha1", "ha2"):
        lab.start_app(node)
    return {"base": base, "good": write_payload(base / "good", [host_id], major),
            "el8": write_payload(base / "el8", ["rhel", "centos"], "8")}


def preflight(lab, env, node, *args, payload="good"):
    return lab.exec_python_onsite(node, ["preflight"] + list(args), env={"HA_INSTALLER_PAYLOAD": env[payload]})


def row(text, name):
    return [l for l in text.splitlines() if l.split()[1:2] == [name]][0]


def test_good_site_passes_and_changes_nothing(lab, env):
    site = write_site(env["base"] / "good.toml")
    before = node_state(lab, "ha1")
    out = preflight(lab, env, "ha1", "--site", site)
    assert node_state(lab, "ha1") == before
    text = out.stdout
    assert out.returncode == 0, text + out.stderr
    for name in ("root", "os-arch", "node", "interface", "vip-subnet", "vip-free", "peer", "clock",
                 "port-3306", "port-8081", "disk-database", "selinux", "existing-data"):
        assert row(text, name).startswith("PASS"), text
    assert "this host is node ha1 (192.0.2.11); peer ha2 (192.0.2.12)" in text
    assert "interface eth0 holds this node's address 192.0.2.11/24" in text
    assert "VIP 192.0.2.100: no answer to ARP on eth0 (free)" in text
    assert "peer ha2 (192.0.2.12) answers ARP" in text
    assert "clock difference with ha2: " in text and "(clockdiff)" in text
    assert "port 8081/tcp (application) is held by python3" in text
    assert "SELinux: not present on this host" in text
    assert "preflight passed" in text and "preflight changed nothing on this host" in text


def test_json_and_chinese(lab, env):
    site = write_site(env["base"] / "good.toml")
    out = preflight(lab, env, "ha2", "--site", site, "--json")
    doc = json.loads(out.stdout)
    assert out.returncode == 0 and doc["ok"] is True and doc["node"] == "ha2"
    names = [c["name"] for c in doc["checks"]]
    assert "vip-free" in names and all(set(c) == {"name", "status", "text", "fix", "side"} for c in doc["checks"])
    out = preflight(lab, env, "ha2", "--site", site, "--lang", "zh_CN")
    assert out.returncode == 0
    assert "预检通过" in out.stdout and "本机是节点 ha2" in out.stdout


def test_vip_in_use_by_a_foreign_device_fails_and_changes_nothing(lab, env):
    site = write_site(env["base"] / "good.toml")
    lab.run("client", ["ip", "addr", "add", "192.0.2.100/24", "dev", "eth0"])
    try:
        before = node_state(lab, "ha1")
        out = preflight(lab, env, "ha1", "--site", site)
        assert node_state(lab, "ha1") == before
    finally:
        lab.run("client", ["ip", "addr", "del", "192.0.2.100/24", "dev", "eth0"])
    assert out.returncode == errors.CHECKS_FAILED
    line = row(out.stdout, "vip-free")
    assert line.startswith("FAIL") and "the VIP 192.0.2.100 already answers ARP from" in line
    assert "which is not the peer 192.0.2.12" in line
    assert "-> fix: choose a free address for cluster.vip, or switch off the device that uses 192.0.2.100" in out.stdout
    assert "preflight found 1 problem(s)" in out.stdout


def test_vip_outside_the_nodes_real_subnet_fails(lab, env):
    # the site file is consistent (all in 198.51.100.0/24) but the hosts are on a /28
    for node, last in (("ha1", 11), ("ha2", 12)):
        lab.run(node, ["ip", "addr", "add", "198.51.100.%d/28" % last, "dev", "eth0"])
    try:
        site = write_site(env["base"] / "subnet.toml", vip="198.51.100.100/24", a1="198.51.100.11", a2="198.51.100.12")
        before = node_state(lab, "ha1")
        out = preflight(lab, env, "ha1", "--site", site)
        assert node_state(lab, "ha1") == before
    finally:
        for node, last in (("ha1", 11), ("ha2", 12)):
            lab.run(node, ["ip", "addr", "del", "198.51.100.%d/28" % last, "dev", "eth0"])
    assert out.returncode == errors.CHECKS_FAILED
    line = row(out.stdout, "vip-subnet")
    assert line.startswith("FAIL")
    assert "VIP 198.51.100.100 is outside this node's subnet 198.51.100.0/28 on eth0" in line
    assert "choose cluster.vip inside 198.51.100.0/28, or fix the address prefix on eth0" in out.stdout


def test_wrong_os_fails_and_changes_nothing(lab, env):
    site = write_site(env["base"] / "good.toml")
    before = node_state(lab, "ha1")
    out = preflight(lab, env, "ha1", "--site", site, payload="el8")
    assert node_state(lab, "ha1") == before
    assert out.returncode == errors.CHECKS_FAILED
    line = row(out.stdout, "os-arch")
    assert line.startswith("FAIL") and "but this bundle is for rhel/centos 8 x86_64" in line
    assert "use the installer built for" in out.stdout


def test_missing_interface_fails_and_changes_nothing(lab, env):
    site = write_site(env["base"] / "iface.toml", iface='interface = "eth9"')
    before = node_state(lab, "ha1")
    out = preflight(lab, env, "ha1", "--site", site)
    assert node_state(lab, "ha1") == before
    assert out.returncode == errors.CHECKS_FAILED
    line = row(out.stdout, "node")
    assert line.startswith("FAIL") and "interface eth9 (cluster.interface) does not exist on this host" in line
    assert "set cluster.interface to the interface that holds 192.0.2.11" in out.stdout


def test_not_a_node_of_this_site(lab, env):
    site = write_site(env["base"] / "other.toml", a1="192.0.2.21", a2="192.0.2.22")
    out = preflight(lab, env, "ha1", "--site", site)
    assert out.returncode == errors.CHECKS_FAILED
    assert row(out.stdout, "node").startswith("FAIL")
    assert "this host has none of the node addresses (192.0.2.21, 192.0.2.22)" in out.stdout


def test_a_stranger_on_the_database_port_fails(lab, env):
    site = write_site(env["base"] / "good.toml")
    lab.start_app("ha1", port=3306)         # not mysqld: a python3 web server
    try:
        out = preflight(lab, env, "ha1", "--site", site)
    finally:
        lab.kill_app("ha1", port=3306)
    assert out.returncode == errors.CHECKS_FAILED
    line = row(out.stdout, "port-3306")
    assert line.startswith("FAIL") and "port 3306/tcp (database) is held by python3 (pid" in line
    assert "stop that program or move it to another port; database needs 3306/tcp" in out.stdout


def test_a_bad_site_file_is_refused_by_key_before_any_check(lab, env):
    path = env["base"] / "bad.toml"
    path.write_text('[cluster]\nvip = "192.0.2.100"\n[[node]]\nname = "ha1"\naddress = "192.0.2.11"\n')
    out = preflight(lab, env, "ha1", "--site", str(path))
    assert out.returncode == errors.BAD_INPUT
    assert "cluster.vip: needs the prefix length" in out.stderr
    assert "node: exactly two [[node]] entries are needed, found 1" in out.stderr
    assert "Traceback" not in out.stderr and out.stdout == ""
