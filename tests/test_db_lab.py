"""Database replication in the namespace lab: two real MariaDB servers (one per node, datadir
on the node's private /var/lib/mysql, started through the lab's systemctl shim), configured by
``python3.6 -m onsite configure`` on both nodes at once, as field staff would.

Proves: empty/empty pairs; data/empty seeds (rows equal after); data/different is refused with
nothing changed, then --seed-from converges; writes replicate both ways; a partition with
inserts on both sides heals by itself with no duplicate keys and equal counts; the replication
user cannot SELECT app data; 3306 is reachable from the peer and not from the client; the
keepalived hook makes exactly the VIP holder writable; a second configure changes nothing;
status prints a row per node.
"""

import collections
import os
import re
import threading
import time
import tomllib

import pytest

from tests.lab.fixtures import lab, make_lab  # noqa: F401 (fixtures)
from tests.site_util import APP, DATABASE, NODES, SECRETS, cluster
from onsite.core import errors  # the exit code table

pytestmark = pytest.mark.lab

REPL_PW = "repl-Secret-0123456789"
SEED_PW = "seed-Secret-0123456789"
SITE = "\n" + cluster(52) + NODES + APP + DATABASE + SECRETS


def write_site(directory):
    path = directory / "site.toml"
    path.write_text(SITE.format(repl=REPL_PW, seed=SEED_PW))
    os.chmod(str(path), 0o600)
    return str(path)


def configure_both(lab, site, extra=None, only=("database",)):
    """configure on ha1 and ha2 at the same time; {node: CompletedProcess}."""
    results = {}
    only_args = []
    for step in only:
        only_args += ["--only", step]

    def go(node):
        args = ["configure", "--site", site] + only_args + ["--peer-timeout", "90"]
        args += (extra or {}).get(node, [])
        results[node] = lab.exec_python_onsite(node, args, timeout=240)

    threads = [threading.Thread(target=go, args=(n,)) for n in ("ha1", "ha2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    return results


def _logs(lab, node):
    text = ""
    for name in ("hb-lab-mariadb-install-db.log", "hb-lab-mariadb.log", "mariadb/mariadb.log"):
        try:
            text += "\n--- %s:%s\n%s" % (node, name, lab.log(node, name)[-1500:])
        except Exception:
            pass
    return text


def sql(lab, node, text, check=True):
    """SQL as OS root over the node's socket (MariaDB keeps unix_socket login for root)."""
    out = lab.run(node, ["mariadb", "-N", "-B", "-e", text], check=check)
    return out.stdout.strip()


def start_db(lab, node):
    lab.run(node, ["systemctl", "start", "mariadb"], timeout=90)


def make_app_data(lab, node, names):
    values = ",".join("('%s')" % n for n in names)
    sql(lab, node, "CREATE DATABASE itv; CREATE TABLE itv.device (id INT AUTO_INCREMENT PRIMARY KEY,"
                   " name VARCHAR(40)) ENGINE=InnoDB; INSERT INTO itv.device (name) VALUES " + values)


def wait_same(lab, query, timeout=30, expect=None):
    """Both nodes answer query the same (and equal to expect, when given)."""
    deadline = time.monotonic() + timeout
    while True:
        a, b = sql(lab, "ha1", query), sql(lab, "ha2", query)
        if a == b and (expect is None or a == expect):
            return a
        if time.monotonic() > deadline:
            raise AssertionError("ha1 %r != ha2 %r for %s" % (a, b, query))
        time.sleep(0.3)


def slave_field(lab, node, field):
    out = lab.run(node, ["mariadb", "-B", "-e", "SHOW SLAVE STATUS"]).stdout.split("\n")
    if len(out) < 2 or not out[1]:
        return None
    return dict(zip(out[0].split("\t"), out[1].split("\t"))).get(field)


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("dbsite")


Paired = collections.namedtuple("Paired", "site secrets init results")


@pytest.fixture(scope="module")
def paired(lab, site_dir):
    """The module's lab after 'site init' on ha1 and a full configure on both nodes at once:
    every test of the shared lab starts from here, whichever runs first (or alone)."""
    # node 1 writes the site file with generated secrets; node 2 gets the same file (here the
    # shared /tmp stands in for the scp/USB copy)
    site = str(site_dir / "site.toml")
    init = lab.exec_python_onsite("ha1", ["site", "init", "--out", site, "--vip", "192.0.2.100/24",
                                          "--node", "ha1=192.0.2.11,150", "--node", "ha2=192.0.2.12,100",
                                          "--vrid", "52", "--db-schema", "itv"])
    assert init.returncode == 0, init.stdout + init.stderr
    with open(site, "rb") as handle:
        secrets = tomllib.load(handle)["secrets"]
    for node in ("ha1", "ha2"):
        lab.start_app(node)
    results = configure_both(lab, site, only=("firewall", "keepalived", "database"))
    for node in ("ha1", "ha2"):
        assert results[node].returncode == 0, results[node].stdout + results[node].stderr + _logs(lab, node)
    return Paired(site, secrets, init, results)


def app_table(lab, name):
    """A fresh table itv.<name> on both nodes (each test writes to its own table)."""
    sql(lab, "ha1", "CREATE DATABASE IF NOT EXISTS itv; CREATE TABLE IF NOT EXISTS itv.%s"
                    " (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40)) ENGINE=InnoDB" % name)
    wait_same(lab, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = 'itv'"
                   " AND table_name = '%s'" % name, expect="1")
    return "itv." + name


def test_full_configure_pairs_empty_nodes_and_opens_3306_to_the_peer_only(lab, paired):
    site = paired.site
    assert oct(os.stat(site).st_mode & 0o777) == "0o600"
    assert paired.secrets["replication_password"] not in paired.init.stdout + paired.init.stderr
    for node in ("ha1", "ha2"):
        out = paired.results[node].stdout + paired.results[node].stderr
        assert "database: no data to copy: both sides match" in out, out
        assert "database: replication healthy; a test row reached" in out, out
        assert "configure finished on " + node in out
        # the generated root password is never printed
        secrets = lab.path(node, "/etc/ha-installer/secrets.toml")
        assert oct(secrets.stat().st_mode & 0o777) == "0o600"
        root_pw = [l for l in secrets.read_text().splitlines() if l.startswith("root_password")][0]
        assert root_pw.split('"')[1] not in out
    assert sql(lab, "ha1", "SELECT @@server_id, @@auto_increment_offset") == "1\t1"
    assert sql(lab, "ha2", "SELECT @@server_id, @@auto_increment_offset") == "2\t2"
    # 3306: the peer gets in (as the seeding account), the client namespace does not
    out = lab.run("ha2", ["mariadb", "-h", "192.0.2.11", "-u", "ha_seed", "-p" + paired.secrets["seed_password"],
                          "--connect-timeout=3", "-N", "-e", "SELECT 1"], check=False)
    assert out.returncode == 0 and out.stdout.strip() == "1", out.stderr
    out = lab.run("client", ["python3", "-c", "import socket; socket.create_connection(('192.0.2.11', 3306), 3)"],
                  check=False)
    # firewalld rejects with icmp-host-prohibited ("No route to host"); the server does listen
    # on 192.0.2.11 (the peer just got in), so this is the firewall's doing
    assert out.returncode != 0
    assert "No route to host" in out.stderr or "timed out" in out.stderr, out.stderr


def test_writes_replicate_both_ways_and_repl_user_cannot_read_app_data(lab, paired):
    table = app_table(lab, "both_ways")
    sql(lab, "ha1", "INSERT INTO %s (name) VALUES ('from-ha1')" % table)
    sql(lab, "ha2", "INSERT INTO %s (name) VALUES ('from-ha2')" % table)
    wait_same(lab, "SELECT GROUP_CONCAT(name ORDER BY id) FROM %s" % table, expect="from-ha1,from-ha2")
    out = lab.run("ha2", ["mariadb", "-h", "192.0.2.11", "-u", "repl", "-p" + paired.secrets["replication_password"],
                          "--connect-timeout=3", "-e", "SELECT * FROM %s" % table], check=False)
    assert out.returncode != 0 and "denied" in out.stderr, out.stderr


def test_partition_with_writes_on_both_sides_heals_without_duplicate_keys(lab, paired):
    table = app_table(lab, "partitioned")
    lab.partition()
    try:
        for i in range(20):
            sql(lab, "ha1", "INSERT INTO %s (name) VALUES ('p1-%d')" % (table, i))
            sql(lab, "ha2", "INSERT INTO %s (name) VALUES ('p2-%d')" % (table, i))
        assert sql(lab, "ha1", "SELECT COUNT(*) FROM %s" % table) == "20"
    finally:
        lab.heal()
    # connect retry is 10 s: replication resumes by itself
    wait_same(lab, "SELECT COUNT(*) FROM %s" % table, timeout=60, expect="40")
    assert wait_same(lab, "CHECKSUM TABLE %s" % table)
    for node in ("ha1", "ha2"):
        assert slave_field(lab, node, "Slave_IO_Running") == "Yes"
        assert slave_field(lab, node, "Slave_SQL_Running") == "Yes"
        assert slave_field(lab, node, "Last_SQL_Error") == ""
    assert sql(lab, "ha1", "SELECT COUNT(DISTINCT id) FROM %s" % table) == "40"


def _wait_roles(lab, writable, read_only, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if sql(lab, writable, "SELECT @@read_only") == "0" and sql(lab, read_only, "SELECT @@read_only") == "1":
            return
        time.sleep(0.2)
    detail = []
    for node in ("ha1", "ha2"):
        detail.append("%s read_only=%s vrrp=%s" % (node, sql(lab, node, "SELECT @@read_only"),
                                                   lab.run(node, ["cat", "/var/lib/ha-installer/vrrp-state"], check=False).stdout))
        detail.append(lab.run(node, ["cat", "/var/log/ha-installer/db-role.log"], check=False).stdout)
    raise AssertionError("expected %s writable, %s read-only\n%s" % (writable, read_only, "\n".join(detail)))


def test_vip_holder_is_the_only_writable_node_and_status_shows_it(lab, paired):
    first = lab.wait_single_holder("192.0.2.100", timeout=30)
    other = "ha2" if first == "ha1" else "ha1"
    _wait_roles(lab, first, other)
    # fail over: the hook flips read_only on both nodes and logs each change
    lab.run(first, ["systemctl", "stop", "keepalived"])
    try:
        holder = lab.wait_single_holder("192.0.2.100", timeout=30, not_node=first)
        _wait_roles(lab, holder, first)
    finally:
        lab.run(first, ["systemctl", "start", "keepalived"])
    log = lab.path(holder, "/var/log/ha-installer/db-role.log").read_text()
    assert "MASTER: SET GLOBAL read_only = OFF: ok" in log
    # before opening writes it applied what had arrived from the old holder (0+ events waited)
    assert re.search(r"MASTER: relay log applied up to mysql-bin\.\d+ \d+ \(wait result: \d+\)", log), log
    assert "SET GLOBAL read_only = ON: ok" in \
        lab.path(first, "/var/log/ha-installer/db-role.log").read_text()
    other = first
    # a server restarted by hand boots with the drop-in's read_only; the hook without
    # arguments re-applies keepalived's last state, and replication resumes by itself
    lab.run(holder, ["systemctl", "restart", "mariadb"], timeout=90)
    lab.run(holder, ["/etc/keepalived/ha-bundle/notify.d/50-database"])
    _wait_roles(lab, holder, other)
    log = lab.path(holder, "/var/log/ha-installer/db-role.log").read_text()
    assert log.count("MASTER: SET GLOBAL read_only = OFF: ok") >= 2, log
    for node in (holder, other):   # the peer reconnects within MASTER_CONNECT_RETRY (10 s)
        lab.wait_for(lambda: slave_field(lab, node, "Slave_SQL_Running") == "Yes" and
                     slave_field(lab, node, "Slave_IO_Running") == "Yes", 30,
                     what="replica threads on %s after the restart" % node)
    out = lab.exec_python_onsite(holder, ["status"])
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "database replication:" in text
    row = [l for l in text.splitlines() if l.strip().startswith(holder + " ")][0]
    assert "active (writable)" in row and "holds VIP" in row and row.count("Yes") == 2, text
    row = [l for l in text.splitlines() if l.strip().startswith(other + " ")][0]
    assert "passive (read-only)" in row and row.count("Yes") == 2, text
    assert paired.secrets["replication_password"] not in text and "secrets" not in text
    shown = lab.exec_python_onsite(holder, ["status", "--show-secrets"]).stdout
    assert "seed_password = " + paired.secrets["seed_password"] in shown


def test_second_configure_changes_nothing(lab, paired):
    site = paired.site
    table = app_table(lab, "untouched")
    sql(lab, "ha1", "INSERT INTO %s (name) VALUES ('kept')" % table)
    wait_same(lab, "SELECT COUNT(*) FROM %s" % table, expect="1")
    before = {n: sql(lab, n, "CHECKSUM TABLE %s" % table) for n in ("ha1", "ha2")}
    pids = {n: lab.run(n, ["cat", "/run/hb-lab/mariadb.pid"]).stdout.strip() for n in ("ha1", "ha2")}
    res = configure_both(lab, site, only=("firewall", "keepalived", "database"))
    for node in ("ha1", "ha2"):
        out = res[node].stdout + res[node].stderr
        assert res[node].returncode == 0, out
        assert "database: already configured, nothing changed" in out, out
        assert "firewall: already configured, nothing changed" in out, out
        assert lab.run(node, ["cat", "/run/hb-lab/mariadb.pid"]).stdout.strip() == pids[node]
    # only the canary rows were written (one per node per run), no app data
    assert {n: sql(lab, n, "CHECKSUM TABLE %s" % table) for n in ("ha1", "ha2")} == before


def test_data_on_one_node_is_seeded_to_the_other(make_lab, tmp_path):
    lab = make_lab(firewalld=False)
    site = write_site(tmp_path)
    start_db(lab, "ha1")
    make_app_data(lab, "ha1", ["d%d" % i for i in range(100)])
    res = configure_both(lab, site)
    for node in ("ha1", "ha2"):
        assert res[node].returncode == 0, res[node].stdout + res[node].stderr
    assert "database: copying itv from ha1" in res["ha2"].stdout
    # ha1 either saw ha2 empty (it waits for ha2's copy) or already copied (identical data)
    assert ("database: ha2 will copy this node's data" in res["ha1"].stdout
            or "database: no data to copy: both sides match" in res["ha1"].stdout), res["ha1"].stdout
    assert sql(lab, "ha2", "SELECT COUNT(*) FROM itv.device") == "100"
    assert wait_same(lab, "CHECKSUM TABLE itv.device")
    sql(lab, "ha2", "INSERT INTO itv.device (name) VALUES ('after-seed')")
    wait_same(lab, "SELECT COUNT(*) FROM itv.device", expect="101")


def test_different_data_is_refused_nothing_changes_then_seed_from(make_lab, tmp_path):
    lab = make_lab(firewalld=False)
    site = write_site(tmp_path)
    for node, names in (("ha1", ["a", "b", "c"]), ("ha2", ["x"])):
        start_db(lab, node)
        make_app_data(lab, node, names)
    res = configure_both(lab, site)
    for node in ("ha1", "ha2"):
        out = res[node].stdout + res[node].stderr
        assert res[node].returncode == errors.REFUSED, out
        assert "both nodes hold application data and it differs; the data on both nodes was left as it is" in out
        assert "itv.device: contents differ" in out
        assert "--seed-from NODE" in out
        assert sql(lab, node, "SHOW SLAVE STATUS") == ""
    assert sql(lab, "ha1", "SELECT GROUP_CONCAT(name) FROM itv.device") == "a,b,c"
    assert sql(lab, "ha2", "SELECT GROUP_CONCAT(name) FROM itv.device") == "x"
    # keep ha1's data: ha2 copies it (after a backup), then ha1 pairs with identical data
    results = {}
    t = threading.Thread(target=lambda: results.setdefault("ha2", lab.exec_python_onsite(
        "ha2", ["configure", "--site", site, "--only", "database", "--seed-from", "ha1",
                "--peer-timeout", "90"], timeout=240)))
    t.start()
    lab.wait_for(lambda: sql(lab, "ha2", "SELECT COUNT(*) FROM itv.device", check=False) == "3",
                 60, what="ha2 seeded")
    results["ha1"] = lab.exec_python_onsite("ha1", ["configure", "--site", site, "--only", "database",
                                                    "--peer-timeout", "90"], timeout=240)
    t.join(240)
    for node in ("ha1", "ha2"):
        assert results[node].returncode == 0, results[node].stdout + results[node].stderr
    assert "backed up this node's data to /var/lib/ha-installer/backup/" in results["ha2"].stdout
    backups = list(lab.path("ha2", "/var/lib/ha-installer/backup").iterdir())
    assert len(backups) == 1 and "'x'" in backups[0].read_text()
    sql(lab, "ha1", "INSERT INTO itv.device (name) VALUES ('d')")
    wait_same(lab, "SELECT GROUP_CONCAT(name ORDER BY id) FROM itv.device", expect="a,b,c,d")


def test_bad_input_is_refused_and_changes_nothing(make_lab, tmp_path):
    lab = make_lab(firewalld=False)
    start_db(lab, "ha1")
    cnf = lab.path("ha1", "/etc/my.cnf.d/ha-replication.cnf")
    no_secrets = tmp_path / "nosecrets.toml"
    no_secrets.write_text(SITE.split("[secrets]")[0])
    os.chmod(str(no_secrets), 0o600)
    out = lab.exec_python_onsite("ha1", ["configure", "--site", str(no_secrets), "--only", "database"])
    assert out.returncode == errors.BAD_INPUT
    assert "no shared replication secret: the site file has no [secrets] replication_password" in out.stderr
    assert "or pass --peer-secret" in out.stderr
    site = write_site(tmp_path)
    out = lab.exec_python_onsite("ha1", ["configure", "--site", site, "--only", "database",
                                         "--seed-from", "ha3"])
    assert out.returncode == errors.BAD_INPUT
    assert "--seed-from ha3 is not a node of this site (nodes: ha1, ha2)" in out.stderr
    out = lab.exec_python_onsite("ha1", ["--lang", "zh_CN", "configure", "--site", site, "--only",
                                         "database", "--seed-from", "ha3"])
    assert "--seed-from ha3 不是本站点的节点 (节点: ha1, ha2)" in out.stderr, out.stderr
    assert "下一步: 请填写站点文件中的一个节点名" in out.stderr
    # the old runbook's settings are refused before anything changes
    old = lab.path("ha1", "/etc/my.cnf.d/server.cnf")
    old.write_text("[mysqld]\nslave-skip-errors=all\nreplicate-do-db=itv\n")
    out = lab.exec_python_onsite("ha1", ["configure", "--site", site, "--only", "database"])
    assert out.returncode == errors.BAD_INPUT
    assert "settings that lose or skip replicated data; nothing was changed" in out.stderr
    assert "/etc/my.cnf.d/server.cnf: slave-skip-errors=all" in out.stderr
    assert "/etc/my.cnf.d/server.cnf: replicate-do-db=itv" in out.stderr
    assert not cnf.exists()
    assert not lab.path("ha1", "/etc/ha-installer/secrets.toml").exists()
    # without [secrets] the same --peer-secret on both nodes works too
    old.unlink()
    results = configure_both(lab, str(no_secrets), extra={n: ["--peer-secret", "a-shared-secret-123"]
                                                          for n in ("ha1", "ha2")})
    for node in ("ha1", "ha2"):
        assert results[node].returncode == 0, results[node].stdout + results[node].stderr
        assert "replication healthy" in results[node].stdout
