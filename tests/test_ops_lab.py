"""Field operations end to end in the lab, with the real .run and real daemons.

`ha-bundle build` on manifests/demo.toml; the .run copied into both node namespaces; on each
node `./ha-installer-demo.run -- install --site site.toml --rpm-root <scratch>` (packages go to a
scratch el7 rpm root, configuration to the node's real firewalld, keepalived and MariaDB).
Proves (one lab for the module; each test passes alone and in any order: the ``installed``
fixture installs both nodes first, again after a test uninstalled them):
- install on both nodes at once: progress, every step journalled, the existing app data on ha1
  (200 rows) copied to ha2; the customer's old keepalived.conf kept as a backup;
- a second install changes nothing and says so (config bytes unchanged);
- verify passes on both nodes (ops-a's verify command, when merged);
- drill hands the VIP to the peer, reports the outage, the client gets the app from the peer,
  the drilled node is standby again; status shows one VIP holder and healthy replication;
- uninstall on both nodes gives every config file its previous bytes back, removes our firewall
  rules, accounts and keepalived, and leaves the app rows unchanged; a second uninstall has
  nothing to do.
"""

import json
import re
import threading
import time

import pytest

from onsite.ops.install import step_names as install_steps

from tests.lab.fixtures import lab, make_lab  # noqa: F401 (fixtures)
from onsite.core import errors  # the exit code table
from tests.ops_helpers import (
    VIP,
    app_rows,
    baseline_root,
    build_demo_run,
    config_hashes,
    make_app_data,
    on_both,
    py36_path,
    run_file_install,
    sql,
    write_site,
)

pytestmark = pytest.mark.lab
STEPS = len(install_steps())    # [n/STEPS] in install's progress lines

OLD_KEEPALIVED = "! the old runbook's keepalived.conf\nvrrp_instance VI_1 {\n    state MASTER\n}\n"
CUSTOMER_CNF = "[mysqld]\nmax_connections = 300\n"


@pytest.fixture(scope="module")
def world(lab, tmp_path_factory):
    """The built .run, scratch rpm roots, site file, and what the nodes looked like before."""
    base = tmp_path_factory.mktemp("ops")
    w = {"run": build_demo_run(base / "dist"), "site": write_site(base), "path": py36_path(base)}
    w["roots"] = {n: baseline_root(base / ("root-" + n), base / "cache") for n in ("ha1", "ha2")}
    # a customer's leftovers from the old runbook, and app data on ha1 only
    conf = lab.path("ha1", "/etc/keepalived/keepalived.conf")
    conf.write_text(OLD_KEEPALIVED)
    conf.chmod(0o644)
    lab.path("ha1", "/etc/my.cnf.d/customer.cnf").write_text(CUSTOMER_CNF)
    make_app_data(lab, "ha1", 200)
    # no stand-in app: install runs the bundle's demo app as a service on both nodes
    w["before"] = {n: config_hashes(lab, n) for n in ("ha1", "ha2")}
    w["rows"] = app_rows(lab, "ha1")
    return w


def journal(lab, node):
    return json.loads(lab.path(node, "/var/lib/ha-installer/state.json").read_text())


def install_both(lab, world):
    return on_both(lambda n: run_file_install(lab, n, world["run"], world["site"], world["roots"][n],
                                              world["path"]))


@pytest.fixture(scope="module")
def first_install(lab, world):
    """The first install on both nodes at once: its output and each node's journal as it was
    right after it (a test run earlier may have uninstalled since), for the install test."""
    res = install_both(lab, world)
    journals = {n: journal(lab, n) for n in ("ha1", "ha2")}
    kept = [b for b in journals["ha1"].get("backups", []) if b["file"] == "/etc/keepalived/keepalived.conf"]
    kept_text = lab.path("ha1", kept[0]["backup"]).read_text() if kept else None
    facts_modes = {n: oct(lab.path(n, "/var/lib/ha-installer/pair-facts.json").stat().st_mode & 0o777)
                   for n in ("ha1", "ha2")}
    return {"res": res, "journals": journals, "kept": kept, "kept_text": kept_text,
            "rows_ha2": app_rows(lab, "ha2"), "facts_modes": facts_modes}


def _verified(lab, node):
    path = lab.path(node, "/var/lib/ha-installer/state.json")
    steps = json.loads(path.read_text()).get("steps", {}) if path.exists() else {}
    return (steps.get("install-verify") or {}).get("status") == "done"


@pytest.fixture
def installed(lab, world, first_install):
    """Both nodes installed, configured and verified: after the first install, or again when a
    test before this one uninstalled them."""
    if not all(_verified(lab, n) for n in ("ha1", "ha2")):
        res = install_both(lab, world)
        for node in ("ha1", "ha2"):
            assert res[node].returncode == 0, res[node].stdout + res[node].stderr
    lab.wait_single_holder(VIP)


def test_install_from_the_run_file_on_both_nodes(lab, world, first_install):
    res, journals = first_install["res"], first_install["journals"]
    for node in ("ha1", "ha2"):
        out = res[node].stdout + res[node].stderr
        assert res[node].returncode == 0, out
        for number, step in enumerate(install_steps(), 1):
            assert "[%d/%d] %s ..." % (number, STEPS, step) in out
            assert journals[node]["steps"]["install-" + step]["status"] == "done"
        assert "install finished on %s" % node in out, out
        # ha2 (lower priority) waited for ha1 to take the VIP before starting keepalived
        assert "active node: ha1 holds the VIP 192.0.2.100, as it should (the higher priority in site.toml)" in out, out
        assert "installed 17 packages" in out
    assert "database: copying itv from ha1" in res["ha2"].stdout
    assert first_install["rows_ha2"] == world["rows"]
    # what the pair agreed on is kept 0600 (secret fingerprints), never in the 0644 journal
    assert first_install["facts_modes"] == {"ha1": "0o600", "ha2": "0o600"}
    assert all("hmac-sha256" not in json.dumps(j) for j in journals.values())
    # the old runbook's keepalived.conf was replaced, and kept byte for byte
    kept = first_install["kept"]
    assert kept and kept[0]["mode"] == 0o644
    assert first_install["kept_text"] == OLD_KEEPALIVED


def test_second_install_changes_nothing_and_says_so(lab, world, installed):
    before = config_hashes(lab, "ha1")
    res = run_file_install(lab, "ha1", world["run"], world["site"], world["roots"]["ha1"], world["path"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "install: nothing changed: ha1 was already installed, configured and verified" in res.stdout
    assert "nothing to do: all 17 bundle packages are already installed" in res.stdout
    assert "changed (" not in res.stdout
    assert config_hashes(lab, "ha1") == before


def test_verify_passes_on_both_nodes(lab, world, installed):
    res = on_both(lambda n: lab.exec_python_onsite(n, ["verify", "--site", world["site"]], timeout=180))
    for node in ("ha1", "ha2"):
        assert res[node].returncode == 0, res[node].stdout + res[node].stderr
        assert "FAIL" not in res[node].stdout


def test_peer_unreachable_fails_verify_and_status_says_so(lab, world, installed):
    """The peer's database cannot be asked: verify fails naming the peer (it never passes on
    this node's word alone); status still shows this node and says the peer is unreachable."""
    lab.block_tcp(3306)
    try:
        res = lab.exec_python_onsite("ha1", ["verify", "--timeout", "3"], timeout=180)
        out = res.stdout + res.stderr
        assert res.returncode == errors.CHECKS_FAILED, out
        failing = [line for line in out.splitlines() if line.startswith("FAIL")]
        assert any("pair-agrees" in line and "cannot log in to the database on ha2" in line for line in failing), out
        assert any("one-writer" in line for line in failing), out
        status = lab.exec_python_onsite("ha1", ["status"], timeout=120)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "peer unreachable (" in status.stdout and "this status shows this node only" in status.stdout
        assert "pair: ha1 site " in status.stdout
    finally:
        lab.unblock_tcp(3306)
    status = lab.exec_python_onsite("ha1", ["status", "--json"], timeout=120)
    pair = json.loads(status.stdout)["pair"]
    assert pair["agree"] is True and pair["ha1"] == pair["ha2"], pair


def test_drill_reports_the_outage_and_status_shows_one_holder(lab, world, installed):
    holder = lab.wait_single_holder(VIP)
    other = "ha2" if holder == "ha1" else "ha1"
    refused = lab.exec_python_onsite(other, ["drill", "--site", world["site"]])
    assert refused.returncode == errors.BAD_INPUT
    assert "does not hold the VIP %s; %s does" % (VIP, holder) in refused.stderr
    # no --site: drill uses the site install recorded in the journal
    res = lab.exec_python_onsite(holder, ["drill"], timeout=180)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out
    match = re.search(r"outage: ([0-9.]+) s until the VIP answered from %s" % other, out)
    assert match, out
    assert float(match.group(1)) < 5.0
    assert "replication healthy both ways; %s is writable, %s is read-only" % (other, holder) in out
    assert "restored: keepalived runs again on %s as standby; the VIP stays on %s" % (holder, other) in out
    assert lab.vip_holders(VIP) == [other]
    assert lab.http_get("http://%s:8081/" % VIP) == (200, other)
    assert journal(lab, holder)["steps"]["drill"]["status"] == "done"
    # status: one VIP holder, both replica threads running on both nodes
    status = lab.exec_python_onsite(holder, ["status"]).stdout
    rows = [line.split() for line in status.splitlines() if line.strip().startswith(("ha1 ", "ha2 "))]
    assert len(rows) == 2, status
    assert sum("holds VIP" in line for line in status.splitlines()) == 1, status
    assert all(row.count("Yes") == 2 for row in rows), status


def test_one_node_rebuilt_with_rejoin_while_the_peer_serves(lab, world, installed):
    """The standby node uninstalled while the holder serves and takes writes: plain install there
    is refused before any change (the holder still replicates from it; starting from the old
    position would stop on duplicate rows) and names install --rejoin; --rejoin copies the
    holder's data, the holder answers through the VIP the whole time, then replication works
    both ways and verify passes on both."""
    serving = lab.wait_single_holder(VIP)
    rebuilt = "ha2" if serving == "ha1" else "ha1"
    out = lab.exec_python_onsite(rebuilt, ["uninstall"], timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    sql(lab, serving, "INSERT INTO itv.device (name) VALUES ('while-the-other-was-out')")
    before = config_hashes(lab, rebuilt)
    plain = run_file_install(lab, rebuilt, world["run"], world["site"], world["roots"][rebuilt], world["path"])
    text = plain.stdout + plain.stderr
    assert plain.returncode == errors.REFUSED, text
    assert "%s is paired and still replicates from this node" % serving in text
    assert "run install --rejoin here" in text
    assert "[3/%d]" % STEPS not in text and config_hashes(lab, rebuilt) == before
    answers = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            # 3 s per request: a slow answer on a loaded machine is still an answer
            answers.append(lab.http_get("http://%s:8081/" % VIP, timeout=3.0))
            time.sleep(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        res = run_file_install(lab, rebuilt, world["run"], world["site"], world["roots"][rebuilt], world["path"],
                               extra=["--rejoin"])
    finally:
        stop.set()
        watcher.join()
    text = res.stdout + res.stderr
    assert res.returncode == 0, text
    assert ("rejoin: copying %s's data here (this node's is backed up first); %s keeps serving"
            % (serving, serving)) in text
    assert "[%d/%d] verify" % (STEPS, STEPS) in text
    # the serving node answered every request during the rebuild
    assert answers and set(answers) == {(200, serving)}, answers
    assert app_rows(lab, rebuilt) == app_rows(lab, serving)
    sql(lab, rebuilt, "INSERT INTO itv.device (name) VALUES ('from-the-rebuilt-node')")
    sql(lab, serving, "INSERT INTO itv.device (name) VALUES ('to-the-rebuilt-node')")
    end = time.monotonic() + 30
    while app_rows(lab, "ha1") != app_rows(lab, "ha2"):
        assert time.monotonic() < end, (app_rows(lab, "ha1"), app_rows(lab, "ha2"))
        time.sleep(0.3)
    for node in ("ha1", "ha2"):
        check = lab.exec_python_onsite(node, ["verify"], timeout=180)
        assert check.returncode == 0, check.stdout + check.stderr


def test_uninstall_restores_every_config_file_keeps_the_rows_and_every_host_package(lab, world, installed):
    rows = app_rows(lab, "ha1")
    assert app_rows(lab, "ha2") == rows
    holder = lab.wait_single_holder(VIP)
    lab.run(holder, ["sh", "-c", "echo 'customer upload' > /var/lib/itv/uploads/kept.txt"])
    other = "ha2" if holder == "ha1" else "ha1"
    lab.wait_for(lambda: lab.run(other, ["test", "-f", "/var/lib/itv/uploads/kept.txt"], check=False).returncode == 0,
                 timeout=10, what="the upload on " + other)
    res = on_both(lambda n: lab.exec_python_onsite(n, ["uninstall"], timeout=180))
    for node in ("ha1", "ha2"):
        out = res[node].stdout + res[node].stderr
        assert res[node].returncode == 0, out
        assert "databases kept, nothing deleted: itv, ha_bundle" in out
        assert config_hashes(lab, node) == world["before"][node], node
        assert app_rows(lab, node) == rows
        assert sql(lab, node, "SELECT COUNT(*) FROM mysql.user WHERE User IN ('repl', 'ha_seed')") == "0"
        assert sql(lab, node, "SHOW SLAVE STATUS") == ""
        assert lab.run(node, ["firewall-cmd", "--list-rich-rules"]).stdout.strip() == ""
        assert lab.run(node, ["systemctl", "is-active", "keepalived"], check=False).returncode != 0
        # the app and file sync stopped, unit and releases gone; the uploads and the account stay
        for unit in ("itv", "ha-bundle-filesync", "ha-bundle-rsyncd"):
            assert lab.run(node, ["test", "-e", "/etc/systemd/system/%s.service" % unit], check=False).returncode != 0
        assert lab.run(node, ["test", "-e", "/opt/itv/releases/1.0.0"], check=False).returncode != 0
        assert lab.run(node, ["test", "-L", "/opt/itv/current"], check=False).returncode != 0
        assert lab.read(node, "/var/lib/itv/uploads/kept.txt") == "customer upload\n"
        assert "kept the app data in /var/lib/itv/uploads (never deleted)" in out
        assert lab.run(node, ["id", "itv"], check=False).returncode == 0
        assert lab.http_get("http://%s:8081/" % lab.addr(node))[0] != 200
    assert "restored /etc/keepalived/keepalived.conf" in res["ha1"].stdout
    assert lab.path("ha1", "/etc/keepalived/keepalived.conf").read_text() == OLD_KEEPALIVED
    assert oct(lab.path("ha1", "/etc/keepalived/keepalived.conf").stat().st_mode & 0o777) == "0o644"
    assert lab.vip_holders(VIP) == []
    again = lab.exec_python_onsite("ha1", ["uninstall"])
    assert again.returncode == 0
    assert "nothing to undo" in again.stdout
    # --remove-packages afterwards: install added mysql-community-libs, which replaced the
    # host's mariadb-libs that postfix needs: rpm refuses to erase, uninstall says so, and
    # every package stays. (One test with the uninstall above: uninstalling one node alone
    # would leave a half pair for the next test to install over.)
    root = str(world["roots"]["ha2"])
    before = lab.run("ha2", ["rpm", "--root", root, "-qa"]).stdout.split()
    res = lab.exec_python_onsite("ha2", ["uninstall", "--remove-packages", "--rpm-root", root])
    assert res.returncode == errors.FAILED, res.stdout + res.stderr
    assert "rpm -e failed" in res.stderr and "the packages are still installed" in res.stderr
    assert "postfix" in res.stderr
    assert sorted(lab.run("ha2", ["rpm", "--root", root, "-qa"]).stdout.split()) == sorted(before)


def test_uninstall_without_firewalld_removes_our_nft_table_and_restores_nftables_conf(make_lab, tmp_path):
    """No firewalld: configure loads our nft table and adds an include to the customer's
    /etc/sysconfig/nftables.conf; uninstall deletes the table and gives the file its bytes back."""
    lab2 = make_lab(firewalld=False)
    conf = lab2.path("ha1", "/etc/sysconfig/nftables.conf")
    conf.write_text("# customer's nftables.conf\ninclude \"/etc/nftables/main.nft\"\n")
    conf.chmod(0o640)
    before = config_hashes(lab2, "ha1")
    site = write_site(tmp_path)
    res = lab2.exec_python_onsite("ha1", ["configure", "--only", "firewall", "--site", site])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "nftables: table inet ha_bundle loaded" in res.stdout
    assert 'include "/etc/nftables/ha_bundle.nft"' in conf.read_text()
    res = lab2.exec_python_onsite("ha1", ["rollback"])
    assert res.returncode == 0, res.stdout + res.stderr
    assert "nftables: deleted table inet ha_bundle" in res.stdout
    assert "restored /etc/sysconfig/nftables.conf" in res.stdout
    assert lab2.run("ha1", ["nft", "list", "table", "inet", "ha_bundle"], check=False).returncode != 0
    assert config_hashes(lab2, "ha1") == before
    assert oct(conf.stat().st_mode & 0o777) == "0o640"
