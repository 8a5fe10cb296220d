"""verify (and status) on a real configured pair in the namespace lab: keepalived, firewalld and
MariaDB per node, configured by ``python3.6 -m onsite configure`` on both nodes at once.

Proves: verify passes on both nodes (text and --json); it fails clearly, naming the node and
the fix, when the app is down, when replication is stopped on the peer, when the peer's
database is down (after waiting for it), and when a firewall rule is missing; status shows
exactly one VIP holder.
"""

import json
import re
import threading

import pytest

from tests.lab.fixtures import lab  # noqa: F401 (fixture)
from tests.test_db_lab import _logs, configure_both, sql, write_site
from onsite.core import errors  # the exit code table

pytestmark = pytest.mark.lab

VIP = "192.0.2.100"


def both(lab, argv, timeout=120):
    results = {}

    def go(node):
        results[node] = lab.exec_python_onsite(node, argv, timeout=timeout)

    threads = [threading.Thread(target=go, args=(n,)) for n in ("ha1", "ha2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout + 30)
    return results


@pytest.fixture(scope="module")
def pair(lab, tmp_path_factory):
    site = write_site(tmp_path_factory.mktemp("verifysite"))
    for node in ("ha1", "ha2"):
        lab.start_app(node)
    res = configure_both(lab, site, only=("firewall", "keepalived", "database"))
    for node in ("ha1", "ha2"):
        assert res[node].returncode == 0, res[node].stdout + res[node].stderr + _logs(lab, node)
    lab.wait_single_holder(VIP, timeout=30)
    return site


def verify(lab, node, site, *extra, **kw):
    return lab.exec_python_onsite(node, ["verify", "--site", site] + list(extra), timeout=kw.get("timeout", 120))


def row(text, name):
    """The table line of check name (status word first)."""
    return [l for l in text.splitlines() if l.split()[1:2] == [name]][0]


def test_verify_passes_on_both_nodes_of_a_configured_pair(lab, pair):
    res = both(lab, ["verify", "--site", pair, "--timeout", "60"])
    holder = lab.vip_holder(VIP)
    for node in ("ha1", "ha2"):
        out = res[node].stdout
        assert res[node].returncode == 0, out + res[node].stderr
        assert "verify passed: the pair works end to end" in out
        peer = "ha2" if node == "ha1" else "ha1"
        for name in ("keepalived", "vip-holder", "app-via-vip", "firewall", "replication-here",
                     "replication-peer", "canary-to-peer", "canary-from-peer"):
            assert row(out, name).startswith("PASS"), out
        assert "{} -> {}: a canary row written on {} reached {}".format(node, peer, node, peer) in out
        assert "{} -> {}: a canary row from {} arrived here".format(peer, node, peer) in out
        who = "this node ({})".format(node) if holder == node else "the peer ({})".format(holder)
        assert "the VIP {} is held by {} only".format(VIP, who) in out
        assert "the app answers through the VIP: tcp://{}:8081 -> TCP connect ok".format(VIP) in out
    # JSON: same checks, machine-readable; the canary rows are the only writes (ha_bundle)
    out = verify(lab, "ha1", pair, "--json", "--timeout", "30")
    doc = json.loads(out.stdout)
    assert out.returncode == 0 and doc["ok"] is True and doc["node"] == "ha1" and doc["peer"] == "ha2"
    assert {c["name"]: c["status"] for c in doc["checks"]}["canary-to-peer"] == "PASS"
    assert sql(lab, "ha2", "SELECT COUNT(*) FROM ha_bundle.canary WHERE id LIKE 'verify-ha1-%'") >= "2"


def test_verify_in_chinese(lab, pair):
    out = lab.exec_python_onsite("ha1", ["verify", "--lang", "zh_CN", "--site", pair, "--timeout", "20"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "验证通过" in out.stdout and "通过" in row(out.stdout, "vip-holder")
    out = lab.exec_python_onsite("ha1", ["status", "--lang", "zh_CN"])
    assert out.returncode == 0, out.stderr
    assert "节点: ha1 (192.0.2.11), 角色 " in out.stdout
    assert "VIP 192.0.2.100: 由本节点 (ha1) 持有" in out.stdout or "VIP 192.0.2.100: 由对端 (ha2) 持有" in out.stdout


def replication_running_both_ways(lab):
    """Both nodes' status says both channels run (a test before may have restarted a database:
    the replica reconnects within CONNECT_RETRY = 10 s)."""
    for node in ("ha1", "ha2"):
        doc = json.loads(lab.exec_python_onsite(node, ["status", "--json"]).stdout or "{}")
        rows = doc.get("replication") or []
        if len(rows) != 2 or not all(r["io_thread"] == "Yes" and r["sql_thread"] == "Yes" for r in rows):
            return False
    return True


def test_status_shows_exactly_one_vip_holder(lab, pair):
    lab.wait_single_holder(VIP, timeout=30)
    lab.wait_for(lambda: replication_running_both_ways(lab), timeout=60, interval=1,
                 what="replication running both ways")
    holder = lab.vip_holder(VIP)
    other = "ha2" if holder == "ha1" else "ha1"
    seen = {}
    for node in ("ha1", "ha2"):
        out = lab.exec_python_onsite(node, ["status"])      # no --site: configure recorded it
        assert out.returncode == 0, out.stderr
        text = out.stdout
        lines = [l for l in text.splitlines() if "holds VIP" in l]
        assert len(lines) == 1 and lines[0].split()[0] == holder, text
        role = "active" if node == holder else "standby"
        peer = "ha2" if node == "ha1" else "ha1"
        assert "node: {} ({}), role {}; peer {}".format(node, lab.addr(node), role, peer) in text, text
        who = "this node ({})".format(node) if node == holder else "the peer ({})".format(holder)
        assert "VIP 192.0.2.100: held by {}".format(who) in text
        state = "MASTER" if node == holder else "BACKUP"
        assert "keepalived: running, VRRP state {} since ".format(state) in text
        assert "app: here OK (tcp://127.0.0.1:8081: TCP connect ok); through the VIP OK" in text
        assert "last failover: this node became {} at ".format(state) in text
        assert "(log /var/log/ha-installer/vrrp-notify.log)" in text
        doc = json.loads(lab.exec_python_onsite(node, ["status", "--json"]).stdout)
        seen[node] = doc
        assert doc["vip"]["holder"] == ("here" if node == holder else "peer")
        assert doc["vip"]["holder_name"] == holder
        assert doc["keepalived"] == {"running": True, "state": state, "since": doc["keepalived"]["since"]}
        assert [r["node"] for r in doc["replication"]] == [node, peer]
        assert all(r["io_thread"] == "Yes" and r["sql_thread"] == "Yes" for r in doc["replication"]), doc
        assert doc["last_failover"]["state"] == state
        assert doc["node"]["role"] == role
    assert seen[holder]["node"]["role"] == "active" and seen[other]["node"]["role"] == "standby"


def test_verify_without_site_uses_the_recorded_site(lab, pair):
    out = lab.exec_python_onsite("ha2", ["verify", "--timeout", "30"])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "verify on ha2 (192.0.2.12); peer ha1 (192.0.2.11); VIP 192.0.2.100" in out.stdout
    # the recorded site holds no secrets (state.json is world-readable)
    journal = lab.path("ha2", "/var/lib/ha-installer/state.json").read_text()
    assert "repl-Secret" not in journal and "seed-Secret" not in journal


def test_verify_fails_clearly_when_replication_is_stopped_on_the_peer(lab, pair):
    sql(lab, "ha2", "STOP SLAVE")
    try:
        out = verify(lab, "ha1", pair, "--timeout", "8")
    finally:
        sql(lab, "ha2", "START SLAVE")
    assert out.returncode == errors.CHECKS_FAILED
    line = row(out.stdout, "replication-peer")
    assert line.startswith("FAIL") and "ha1 -> ha2: replication on ha2 is not healthy" in line
    assert "Slave_IO_Running = No" in line
    assert "run status on ha2" in out.stdout
    assert "verify found" in out.stdout and "problem(s)" in out.stdout
    # it waited for the peer first (other shared checks may be listed too while a previous
    # test's restart settles)
    assert re.search(r"waiting for [^\n]*replication-peer", out.stderr), out.stderr


def test_verify_waits_for_the_peer_database_and_names_it(lab, pair):
    lab.run("ha2", ["systemctl", "stop", "mariadb"], timeout=60)
    try:
        out = verify(lab, "ha1", pair, "--timeout", "10", "--json")
    finally:
        lab.run("ha2", ["systemctl", "start", "mariadb"], timeout=90)
    doc = json.loads(out.stdout)
    assert out.returncode == errors.CHECKS_FAILED and doc["ok"] is False
    bad = {c["name"]: c for c in doc["checks"] if c["status"] == "FAIL"}
    assert bad["replication-peer"]["side"] == "peer"
    assert "cannot log in to the database on ha2 (ha_seed@192.0.2.12:3306)" in bad["replication-peer"]["text"]
    assert "start the database on ha2" in bad["replication-peer"]["fix"]
    assert "waiting for" in out.stderr and "s left" in out.stderr


def test_verify_fails_clearly_when_the_app_is_down_everywhere(lab, pair):
    for node in ("ha1", "ha2"):
        lab.kill_app(node)
    try:
        lab.wait_for(lambda: not lab.vip_holders(VIP), timeout=20, what="VIP released")
        out = verify(lab, "ha1", pair, "--timeout", "2")
    finally:
        for node in ("ha1", "ha2"):
            lab.start_app(node)
        lab.wait_single_holder(VIP, timeout=30)
    assert out.returncode == errors.CHECKS_FAILED
    assert row(out.stdout, "app-via-vip").startswith("FAIL")
    assert "the app does not answer through the VIP: tcp://192.0.2.100:8081" in out.stdout
    assert "no node holds the VIP 192.0.2.100" in out.stdout
    assert "keepalived puts a node whose app fails in FAULT" in out.stdout


def test_verify_lists_a_missing_firewall_rule(lab, pair):
    rule = 'rule family="ipv4" source address="192.0.2.12" protocol value="vrrp" accept'
    zone = lab.run("ha1", ["firewall-cmd", "--get-default-zone"]).stdout.strip()
    lab.run("ha1", ["firewall-cmd", "--zone=" + zone, "--remove-rich-rule=" + rule])
    try:
        out = verify(lab, "ha1", pair, "--timeout", "30")
    finally:
        lab.run("ha1", ["firewall-cmd", "--zone=" + zone, "--add-rich-rule=" + rule])
    assert out.returncode == errors.CHECKS_FAILED
    assert row(out.stdout, "firewall").startswith("FAIL")
    assert "firewall rules missing on ha1:" in out.stdout
    assert "firewalld runtime zone {}: {}".format(zone, rule) in out.stdout
    assert "run install on ha1 again: it re-adds only the missing rules" in out.stdout
    assert "waiting for" not in out.stderr   # a local problem: no point waiting for the peer


def test_collect_masks_every_secret(lab, pair, tmp_path):
    import tarfile
    from tests.test_db_lab import REPL_PW, SEED_PW
    out_file = tmp_path / "support.tar.gz"
    out = lab.exec_python_onsite("ha1", ["collect", "--site", pair, "--out", str(out_file)])
    assert out.returncode == 0, out.stdout + out.stderr
    assert "support bundle written: " + str(out_file) in out.stdout
    assert "send this file to the build team; no password is in it" in out.stdout
    assert oct(out_file.stat().st_mode & 0o777) == "0o600"
    secrets_text = lab.path("ha1", "/etc/ha-installer/secrets.toml").read_text()
    secrets = [REPL_PW, SEED_PW] + [l.split('"')[1] for l in secrets_text.splitlines() if '= "' in l]
    root_pw = [l.split('"')[1] for l in secrets_text.splitlines() if l.startswith("root_password")][0]
    assert root_pw in lab.path("ha1", "/etc/ha-installer/db-admin.cnf").read_text()   # it is on the host
    contents = {}
    with tarfile.open(str(out_file)) as tar:
        for member in tar.getmembers():
            contents[member.name.split("/", 1)[1]] = tar.extractfile(member).read().decode()
    blob = "\n".join(contents.values())
    for value in set(secrets):
        assert value not in blob
    for name in ("status.txt", "status.json", "files/etc/keepalived/keepalived.conf",
                 "files/var/log/ha-installer/vrrp-notify.log", "files/var/lib/ha-installer/state.json",
                 "files/etc/my.cnf.d/ha-replication.cnf", "files/etc/ha-installer/secrets.toml",
                 "files/etc/ha-installer/db-admin.cnf", "site/site.toml", "commands/ip-addr.txt",
                 "commands/firewalld.txt"):
        assert name in contents, sorted(contents)
    assert "VIP 192.0.2.100: held by" in contents["status.txt"]
    assert "this host is node ha1 (192.0.2.11)" in contents["preflight.txt"]
    assert "root_password = ***MASKED***" in contents["files/etc/ha-installer/secrets.toml"]
    assert "replication_password = ***MASKED***" in contents["site/site.toml"]
    assert "password=***MASKED***" in contents["files/etc/ha-installer/db-admin.cnf"].replace(" ", "")
    assert "vrrp_instance VI_52" in contents["files/etc/keepalived/keepalived.conf"]


def test_preflight_rerun_on_a_configured_node_passes_and_protects_the_data(lab, pair, tmp_path):
    """After configure: mariadbd holds 3306 (expected), the VIP is ours or the peer's
    ("installed before"), the app schema is reported as kept. The recorded site is used."""
    import json as _json
    payload = tmp_path / "payload"
    payload.mkdir()
    rel = dict(l.split("=", 1) for l in open("/etc/os-release").read().splitlines() if "=" in l)
    (payload / "bundle.lock.json").write_text(_json.dumps({"target": {
        "name": "t", "os_ids": [rel["ID"].strip('"')], "os_major": rel["VERSION_ID"].strip('"').split(".")[0],
        "basearch": "x86_64"}, "packages": []}))
    sql(lab, "ha1", "CREATE DATABASE IF NOT EXISTS itv")
    sql(lab, "ha1", "CREATE TABLE IF NOT EXISTS itv.t (id INT PRIMARY KEY) ENGINE=InnoDB")
    out = lab.exec_python_onsite("ha1", ["preflight"], env={"HA_INSTALLER_PAYLOAD": str(payload)})
    assert out.returncode == 0, out.stdout + out.stderr
    assert "port 3306/tcp (database) is held by mariadbd" in out.stdout and "(expected)" in out.stdout
    assert "(installed before)" in row(out.stdout, "vip-free")
    line = row(out.stdout, "existing-data")
    assert line.startswith("WARN") and "existing database data in /var/lib/mysql: itv" in line
    assert "preflight passed with" in out.stdout
