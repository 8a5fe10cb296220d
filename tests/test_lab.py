"""The lab itself: nodes are separate hosts (network, mounts, PIDs), the shim drives real
daemons, and teardown leaves nothing behind."""

import os

import pytest

from tests.lab import Lab, LabError
from tests.lab.fixtures import make_lab, new_lab  # noqa: F401 (fixture)

pytestmark = pytest.mark.lab


def test_nodes_are_separate_hosts_and_teardown_leaves_nothing(tmp_path):
    lab = new_lab(firewalld=False)
    try:
        lab.up()
        assert lab.run("ha1", ["hostname"]).stdout.strip() == "ha1"
        assert lab.run("ha2", ["hostname"]).stdout.strip() == "ha2"
        # own PID namespace: PID 1 is the node's init, and ha2's processes are invisible
        assert lab.run("ha1", ["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '"]).stdout.count("nodeinit.py") == 1
        lab.start_app("ha2")
        assert "app.py" not in lab.run("ha1", ["ps", "-eo", "args"]).stdout
        assert "app.py" in lab.run("ha2", ["ps", "-eo", "args"]).stdout
        # private files: written in ha1, absent in ha2 and on the host
        lab.run("ha1", ["sh", "-c", "echo mine > /etc/keepalived/lab-probe"])
        assert lab.path("ha1", "/etc/keepalived/lab-probe").read_text() == "mine\n"
        assert lab.run("ha2", ["test", "-e", "/etc/keepalived/lab-probe"], check=False).returncode == 1
        assert not os.path.exists("/etc/keepalived/lab-probe")
        # the network: client reaches both apps directly (no firewalld in this lab)
        assert lab.http_get("http://192.0.2.12:8081/") == (200, "ha2")
        assert lab.http_get("http://192.0.2.11:8081/")[0] == 0
        with pytest.raises(LabError, match="not node-private"):
            lab.path("ha1", "/etc/passwd")
        init_pids = dict(lab.init_pids)
    finally:
        lab.down()
    for pid in init_pids.values():
        assert not os.path.exists("/proc/%d" % pid)
    names = os.listdir("/run/netns") if os.path.isdir("/run/netns") else []
    assert not [n for n in names if n.startswith(lab.prefix)]
    assert not lab.base.exists()


def test_shim_runs_real_firewalld_and_keepalived_2020_binary(make_lab):
    lab = make_lab(keepalived="2.0.20")
    assert lab.run("ha1", ["firewall-cmd", "--state"]).stdout.strip() == "running"
    assert lab.run("ha1", ["systemctl", "is-active", "firewalld"]).stdout.strip() == "active"
    version = lab.run("ha1", ["keepalived", "--version"], check=False)
    assert "v2.0.20" in version.stdout + version.stderr
    assert lab.run("ha1", ["systemctl", "is-active", "keepalived"], check=False).returncode == 3
    out = lab.run("ha1", ["systemctl", "start", "nosuch"], check=False)
    assert out.returncode == 5 and "Unit nosuch.service not found" in out.stderr
    lab.run("ha1", ["systemctl", "stop", "firewalld"])
    assert lab.run("ha1", ["firewall-cmd", "--state"], check=False).returncode != 0
    # ha2's firewalld is untouched by ha1's stop
    assert lab.run("ha2", ["firewall-cmd", "--state"]).stdout.strip() == "running"


def test_shim_runs_real_mariadb_per_node(make_lab):
    """For the database issue: `systemctl start mariadb` initialises and starts a real server in
    each node, with the RHEL-like layout (datadir /var/lib/mysql, socket /run/mysqld)."""
    lab = make_lab(firewalld=False)
    for node in lab.nodes:
        lab.run(node, ["systemctl", "start", "mariadb"], timeout=120)
    out = lab.run("ha1", ["mariadb", "-uroot", "-N", "-e", "SELECT @@hostname, @@datadir, @@socket, @@tmpdir"])
    assert out.stdout.split() == ["ha1", "/var/lib/mysql/", "/run/mysqld/mysqld.sock", "/run/mysqld"]
    assert lab.path("ha2", "/var/lib/mysql/mysql").is_dir()
    # the servers are separate: a schema made on ha1 is not on ha2
    lab.run("ha1", ["mariadb", "-uroot", "-e", "CREATE DATABASE lab_probe"])
    assert "lab_probe" not in lab.run("ha2", ["mariadb", "-uroot", "-N", "-e", "SHOW DATABASES"]).stdout
    lab.run("ha1", ["systemctl", "stop", "mysqld"])       # RHEL alias of the unit
    assert lab.run("ha1", ["systemctl", "is-active", "mariadb"], check=False).stdout.strip() == "inactive"
    assert lab.run("ha2", ["systemctl", "is-active", "mariadb"]).stdout.strip() == "active"
