"""Failover with real keepalived (Debian's 2.2.7) and real firewalld in the lab: one holder,
the client always gets HTTP 200 from the VIP, nopreempt, idempotent configure, bad sites refused.

Tests share two labs per module and pass alone and in any order: refusals run in a lab nobody
configures (``untouched``); everything else starts from the ``configured`` pair, and each
failover test first settles it to "exactly one holder", whichever node it is."""

import os
import time

import pytest

from tests.lab.fixtures import lab, new_lab  # noqa: F401 (fixture)
from onsite.core import errors  # the exit code table

pytestmark = pytest.mark.lab

VIP = "192.0.2.100"
URL = "http://%s:8081/" % VIP
SITE = """
[cluster]
vip = "{vip}/24"
vrid = 51
[[node]]
name = "ha1"
address = "192.0.2.11"
priority = 150
[[node]]
name = "ha2"
address = "{ha2}"
priority = 100
[app]
port = 8081
"""


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("site")


@pytest.fixture(scope="module")
def untouched():
    """A lab of its own that no test configures: refusals must leave it exactly as it is."""
    instance = new_lab()
    try:
        yield instance.up()
    finally:
        instance.down()


@pytest.fixture(scope="module")
def configured(lab, site_dir):
    """The module's lab with both apps up, configured on ha1 then ha2 (firewall, keepalived);
    {node: configure's CompletedProcess} plus the state before it under 'before'."""
    path = site_file(site_dir, "site.toml")
    for node in lab.nodes:
        lab.start_app(node)
    # before configure, firewalld (public zone) blocks the app port from the client
    out = {"before_http": lab.http_get("http://192.0.2.11:8081/")}
    for node in lab.nodes:
        out[node] = configure(lab, node, path)
        assert out[node].returncode == 0, out[node].stdout + out[node].stderr
    return out


def site_file(site_dir, name, vip="192.0.2.100", ha2="192.0.2.12"):
    path = site_dir / name
    path.write_text(SITE.format(vip=vip, ha2=ha2))
    os.chmod(path, 0o600)
    return str(path)


def configure(lab, node, path, *extra):
    # the database step (issue 6) has its own lab tests (tests/test_db_lab.py)
    only = ["--only", "firewall", "--only", "keepalived"]
    return lab.exec_python_onsite(node, ["configure", "--site", path] + only + list(extra))


def firewall_state(lab, node):
    out = []
    for scope in (["--permanent"], []):
        out.append(lab.run(node, ["firewall-cmd"] + scope + ["--list-all"]).stdout)
    return out


def other(node):
    return "ha2" if node == "ha1" else "ha1"


def vrrp_state(lab, node):
    path = lab.path(node, "/var/lib/ha-installer/vrrp-state")
    return path.read_text().split()[0] if path.exists() else ""


def settle(lab):
    """Every failover test starts from: both apps up, one holder, the other node BACKUP (ready
    to take over). Returns the holder. A failed test therefore does not fail the next ones."""
    for node in lab.nodes:
        if not lab.app_running(node):
            lab.start_app(node)
    holder = lab.wait_single_holder(VIP, timeout=15)
    lab.wait_for(lambda: vrrp_state(lab, other(holder)) == "BACKUP", timeout=15,
                 what="%s BACKUP; logs:\n%s" % (other(holder), logs(lab)))
    return holder


def logs(lab):
    return "\n".join("--- %s\n%s" % (n, "\n".join(lab.log(n, "hb-lab-keepalived.log").splitlines()[-25:]))
                     for n in lab.nodes)


def assert_client_gets(lab, node):
    """The client reaches the VIP and the answer comes from node (retries for ARP refresh)."""
    lab.wait_for(lambda: lab.http_get(URL) == (200, node), timeout=5, what="HTTP 200 from %s via VIP" % node)


def assert_only_holder(lab, node):
    holders = lab.vip_holders(VIP)
    assert holders == [node], "holders %s, expected [%s]\n%s" % (holders, node, logs(lab))


@pytest.mark.parametrize("vip, ha2, words", [
    ("198.51.100.100", "192.0.2.12", "cluster.vip: 198.51.100.100/24 is outside the subnet of node[0].address 192.0.2.11"),
    ("192.0.2.100", "192.0.2.11", "node[1].address: duplicate address 192.0.2.11 (also node[0].address)"),
    # the client's own address: it answers ARP, and it is not the peer
    ("192.0.2.50", "192.0.2.12", "the VIP 192.0.2.50 already answers ARP from "),
])
def test_bad_site_is_refused_before_any_change(untouched, site_dir, vip, ha2, words):
    lab = untouched
    before = firewall_state(lab, "ha1")
    out = configure(lab, "ha1", site_file(site_dir, "bad.toml", vip=vip, ha2=ha2))
    assert out.returncode == errors.BAD_INPUT, out.stdout + out.stderr
    assert words in out.stderr
    assert "nothing was changed" in out.stderr
    if vip == "192.0.2.50":
        assert "which is not the peer 192.0.2.12" in out.stderr
    assert firewall_state(lab, "ha1") == before
    assert not lab.path("ha1", "/etc/keepalived/keepalived.conf").exists()
    assert os.listdir(lab.path("ha1", "/etc/keepalived")) == []
    assert not lab.path("ha1", "/var/lib/ha-installer/state.json").exists()
    assert lab.run("ha1", ["systemctl", "is-active", "keepalived"], check=False).returncode == 3


def test_refusal_speaks_chinese_too(untouched, site_dir):
    lab = untouched
    out = lab.exec_python_onsite("ha1", ["configure", "--lang", "zh_CN", "--site",
                                         site_file(site_dir, "bad.toml", ha2="192.0.2.11")])
    assert out.returncode == errors.BAD_INPUT
    assert "站点设置有 1 处问题; 未做任何更改" in out.stderr
    assert "node[1].address: 地址 192.0.2.11 重复 (另见 node[0].address)" in out.stderr


def test_configure_gives_exactly_one_holder_and_http_200(lab, configured):
    assert configured["before_http"][0] == 0
    for node in lab.nodes:
        out = configured[node]
        assert "this host is node %s (%s)" % (node, lab.nodes[node]) in out.stdout
        assert "keepalived: changed" in out.stdout and "firewall: changed" in out.stdout
        assert "started keepalived" in out.stdout
    holder = settle(lab)
    assert_client_gets(lab, holder)
    conf = lab.path("ha1", "/etc/keepalived/keepalived.conf")
    assert oct(conf.stat().st_mode & 0o777) == "0o600"
    for script in ("check_app", "notify"):
        st = lab.path("ha1", "/etc/keepalived/ha-bundle/" + script).stat()
        assert (st.st_uid, st.st_mode & 0o777) == (0, 0o700)
    assert lab.run("ha1", ["systemctl", "is-enabled", "keepalived"]).stdout.strip() == "enabled"


def test_second_configure_changes_nothing(lab, site_dir, configured):
    path = site_file(site_dir, "site.toml")
    settle(lab)
    before = {}
    for node in lab.nodes:
        before[node] = (lab.run(node, ["cat", "/run/hb-lab/keepalived.pid"]).stdout,
                        lab.path(node, "/etc/keepalived/keepalived.conf").stat().st_mtime_ns,
                        firewall_state(lab, node), sorted(os.listdir(lab.path(node, "/etc/keepalived"))))
    holder = lab.vip_holder(VIP)
    for node in lab.nodes:
        out = configure(lab, node, path)
        assert out.returncode == 0, out.stdout + out.stderr
        assert "firewall: already configured, nothing changed" in out.stdout
        assert "keepalived: already configured, nothing changed" in out.stdout
    for node in lab.nodes:
        after = (lab.run(node, ["cat", "/run/hb-lab/keepalived.pid"]).stdout,
                 lab.path(node, "/etc/keepalived/keepalived.conf").stat().st_mtime_ns,
                 firewall_state(lab, node), sorted(os.listdir(lab.path(node, "/etc/keepalived"))))
        assert after == before[node]
    assert lab.vip_holder(VIP) == holder


def test_firewall_opens_database_port_to_the_peer_only(lab, configured):
    settle(lab)
    rules = lab.run("ha1", ["firewall-cmd", "--list-rich-rules"]).stdout
    assert 'source address="192.0.2.12" protocol value="vrrp" accept' in rules
    assert 'source address="192.0.2.12" port port="3306" protocol="tcp" accept' in rules
    assert "192.0.2.50" not in rules and "interface" not in rules
    permanent = lab.run("ha1", ["firewall-cmd", "--permanent", "--list-rich-rules"]).stdout
    assert sorted(permanent.splitlines()) == sorted(rules.splitlines())   # survives reload (order may differ)
    assert lab.run("ha1", ["firewall-cmd", "--permanent", "--list-ports"]).stdout.split() == ["8081/tcp"]
    lab.start_app("ha1", port=3306)          # a stand-in listener on the database port
    try:
        assert lab.http_get("http://192.0.2.11:3306/", node="ha2") == (200, "ha1")
        assert lab.http_get("http://192.0.2.11:3306/", node="client")[0] == 0
        assert lab.http_get("http://192.0.2.11:8081/", node="client") == (200, "ha1")   # app: zone
    finally:
        lab.kill_app("ha1", port=3306)


def test_app_death_moves_vip_and_its_return_does_not_move_it_back(lab, configured):
    old = settle(lab)
    new = other(old)
    hook = "#!/bin/sh\necho \"$@\" >> /var/lib/ha-installer/hook.log\n"
    for node in lab.nodes:           # the database step's way in: a root-owned hook in notify.d
        path = lab.path(node, "/etc/keepalived/ha-bundle/notify.d/10-test")
        path.write_text(hook)
        os.chmod(path, 0o700)
    lab.kill_app(old)
    lab.wait_single_holder(VIP, timeout=10, not_node=old)
    assert_client_gets(lab, new)
    # the notify FIFO reader runs after keepalived set the VIP: give it a moment
    lab.wait_for(lambda: vrrp_state(lab, new) == "MASTER", timeout=5, what=new + " MASTER in vrrp-state")
    lab.start_app(old)
    time.sleep(4)                            # rise 2 + several adverts: time to (wrongly) preempt
    assert_only_holder(lab, new)
    assert_client_gets(lab, new)
    assert vrrp_state(lab, old) == "BACKUP", logs(lab)
    assert "INSTANCE VI_51 MASTER 1" in lab.path(new, "/var/lib/ha-installer/hook.log").read_text()
    old_hooks = lab.path(old, "/var/lib/ha-installer/hook.log").read_text()
    assert "INSTANCE VI_51 FAULT" in old_hooks and "INSTANCE VI_51 BACKUP" in old_hooks
    for node in lab.nodes:
        lab.path(node, "/etc/keepalived/ha-bundle/notify.d/10-test").unlink()


def test_stopping_keepalived_moves_vip(lab, configured):
    old = settle(lab)
    lab.run(old, ["systemctl", "stop", "keepalived"])
    lab.wait_single_holder(VIP, timeout=10, not_node=old)
    # the stopping node's last event reaches the hooks too (the DB step sets read_only on it)
    lab.wait_for(lambda: vrrp_state(lab, old) == "STOP", timeout=5, what=old + " STOP in vrrp-state")
    assert_client_gets(lab, other(old))
    lab.run(old, ["systemctl", "start", "keepalived"])
    time.sleep(4)
    assert_only_holder(lab, other(old))


def test_link_down_moves_vip(lab, configured):
    old = settle(lab)
    lab.link_down(old)
    try:
        lab.wait_single_holder(VIP, timeout=10, not_node=old)
        assert_client_gets(lab, other(old))
    finally:
        lab.link_up(old)
    time.sleep(4)
    assert_only_holder(lab, other(old))


def test_blocked_vrrp_splits_then_converges_when_unblocked(lab, configured):
    settle(lab)
    lab.block_vrrp()
    try:
        # without adverts the backup takes the VIP too: the old site's split brain
        lab.wait_for(lambda: len(lab.vip_holders(VIP)) == 2, timeout=10, what="both nodes to hold the VIP")
    finally:
        lab.unblock_vrrp()
    holder = lab.wait_single_holder(VIP, timeout=15)
    time.sleep(3)
    assert_only_holder(lab, holder)
    assert_client_gets(lab, holder)
