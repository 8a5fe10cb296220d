"""onsite.db.pairing against two real MariaDB servers on 127.0.0.1 (different ports/datadirs).

These prove the replication logic itself; tests/test_db_lab.py repeats the field procedure in
the namespace lab (separate hosts, firewall, the CLI).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from onsite.db import render as db_render
from onsite.db import pairing as db_pairing
from onsite.db import secrets as db_secrets
from onsite.core.errors import OnsiteError
from tests.db_servers import MariaServer

pytestmark = pytest.mark.skipif(shutil.which("mariadbd") is None, reason="mariadbd not installed")

SECRET = "test-shared-secret-0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Restarter:
    def __init__(self, server: MariaServer):
        self.server = server
        self.restarts = 0

    def restart(self, name):
        self.restarts += 1
        self.server.restart()

    def start(self, name):
        self.server.start()


class Node:
    def __init__(self, tmp: Path, name: str, index: int, template: Path):
        self.name = name
        self.index = index
        self.server = MariaServer(tmp, name, free_port())
        self.server.base.mkdir(parents=True)
        self.server.cnf_dir.mkdir()
        shutil.copytree(template / "data", self.server.datadir, symlinks=True)
        shutil.copy(template / "my.cnf", self.server.base / "my.cnf")
        text = (self.server.base / "my.cnf").read_text().replace(str(template), str(self.server.base))
        text = text.replace("port = 0", f"port = {self.server.port}")
        (self.server.base / "my.cnf").write_text(text)
        self.root = tmp / f"{name}-root"
        self.root.mkdir()
        self.service = Restarter(self.server)
        self.lines: list[str] = []
        self.server.start()

    def ctx(self, peer: "Node", seed_from=None, peer_timeout=30):
        plan = db_render.NodePlan(index=self.index, name=self.name, address="127.0.0.1",
                                  peer_name=peer.name, peer_address="127.0.0.1",
                                  port=self.server.port, schemas=("itv",),
                                  passive=self.index == 1, peer_port=peer.server.port)
        return db_pairing.DbContext(plan=plan, root=str(self.root), cnf_dir=str(self.server.cnf_dir),
                                  socket=self.server.socket,
                                  repl_password=db_secrets.derive_password(SECRET, "replication"),
                                  seed_password=db_secrets.derive_password(SECRET, "seed"),
                                  seed_from=seed_from, peer_timeout=peer_timeout,
                                  verify_timeout=20, service=self.service, out=self.lines.append)

    def sql(self, text):
        return self.server.sql(text)


@pytest.fixture(scope="session")
def template(tmp_path_factory):
    base = tmp_path_factory.mktemp("dbtemplate")
    server = MariaServer(base, "tpl", 0)
    server.install()
    return server.base


@pytest.fixture
def nodes(tmp_path, template):
    ha1 = Node(tmp_path, "ha1", 0, template)
    ha2 = Node(tmp_path, "ha2", 1, template)
    yield ha1, ha2
    ha1.server.stop()
    ha2.server.stop()


def run_both(ha1, ha2, kw=None):
    """configure on both nodes at once, as field staff may; returns (result|error) per node."""
    results = {}

    def go(node, peer):
        try:
            results[node.name] = db_pairing.configure(node.ctx(peer, **(kw or {}).get(node.name, {})))
        except OnsiteError as exc:
            results[node.name] = exc

    threads = [threading.Thread(target=go, args=(ha1, ha2)), threading.Thread(target=go, args=(ha2, ha1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return results


def make_app_data(node, rows):
    node.sql("CREATE DATABASE itv; CREATE TABLE itv.device (id INT AUTO_INCREMENT PRIMARY KEY,"
             " name VARCHAR(40)) ENGINE=InnoDB; INSERT INTO itv.device (name) VALUES " +
             ",".join(f"('{r}')" for r in rows))


def wait_phase(node, phases, seconds=30):
    import time
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if node.sql(f"SELECT phase FROM ha_bundle.node_state WHERE node = '{node.name}'").strip() in phases:
                return
        except RuntimeError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{node.name} never reached {phases}")


def count(node, where=""):
    return int(node.sql(f"SELECT COUNT(*) FROM itv.device {where}").strip())


def wait_equal(ha1, ha2, seconds=15):
    import time
    deadline = time.time() + seconds
    while time.time() < deadline:
        a = ha1.sql("CHECKSUM TABLE itv.device").split()[-1]
        b = ha2.sql("CHECKSUM TABLE itv.device").split()[-1]
        if a == b:
            return a
        time.sleep(0.2)
    raise AssertionError("tables differ after %s s" % seconds)


def test_empty_empty_then_writes_both_ways_and_rerun_changes_nothing(nodes):
    ha1, ha2 = nodes
    results = run_both(ha1, ha2)
    assert not isinstance(results["ha1"], Exception), results["ha1"].render()
    assert not isinstance(results["ha2"], Exception), results["ha2"].render()
    assert results["ha1"]["initial_data"] == "start"
    changed = "\n".join(results["ha1"]["changed"])
    assert "ha-replication.cnf and restarted the server" in changed
    assert "set a generated root password" in changed
    assert any("replication healthy" in l for l in ha1.lines), ha1.lines
    # root now needs the generated password, stored 0600
    secrets = Path(db_secrets.secrets_path(str(ha1.root)))
    assert oct(secrets.stat().st_mode & 0o777) == "0o600"
    pw = db_secrets.get("root_password", str(ha1.root))
    assert len(pw) == 32
    assert pw not in "\n".join(ha1.lines)
    # the drop-in is what the server runs with
    assert ha1.sql("SELECT @@server_id, @@auto_increment_offset, @@read_only").split() == ["1", "1", "0"]
    assert ha2.sql("SELECT @@server_id, @@auto_increment_offset, @@read_only").split() == ["2", "2", "1"]
    # writes on both nodes replicate both ways, without key clashes
    ha1.sql("CREATE DATABASE itv; CREATE TABLE itv.device (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(40))")
    wait_equal(ha1, ha2)
    ha1.sql("INSERT INTO itv.device (name) VALUES ('a1'),('a2')")
    ha2.sql("INSERT INTO itv.device (name) VALUES ('b1'),('b2')")
    wait_equal(ha1, ha2)
    assert count(ha1) == count(ha2) == 4
    ids1 = ha1.sql("SELECT id FROM itv.device WHERE name LIKE 'a%'").split()
    ids2 = ha1.sql("SELECT id FROM itv.device WHERE name LIKE 'b%'").split()
    assert all(int(i) % 2 == 1 for i in ids1) and all(int(i) % 2 == 0 for i in ids2)
    # replication user cannot read application data
    repl_pw = db_secrets.derive_password(SECRET, "replication")
    out = subprocess.run(["mariadb", "--no-defaults", "-h127.0.0.1", f"-P{ha2.server.port}",
                          "-urepl", f"-p{repl_pw}", "-e", "SELECT * FROM itv.device"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert out.returncode != 0 and "denied" in out.stdout, out.stdout
    # rerun: nothing changes (no restart, same cnf, no new channel)
    pid1, mtime = ha1.server.pid, os.stat(ha1.server.cnf_dir / "ha-replication.cnf").st_mtime
    restarts = ha1.service.restarts
    ha1.lines.clear()
    again = db_pairing.configure(ha1.ctx(ha2))
    assert again["changed"] == []
    assert "database: no changes" in ha1.lines
    assert ha1.service.restarts == restarts and ha1.server.pid == pid1
    assert os.stat(ha1.server.cnf_dir / "ha-replication.cnf").st_mtime == mtime


def test_data_on_one_side_is_copied_to_the_other(nodes):
    ha1, ha2 = nodes
    make_app_data(ha1, ["r%d" % i for i in range(50)])
    results = run_both(ha1, ha2)
    assert not isinstance(results["ha2"], Exception), results["ha2"].render()
    assert not isinstance(results["ha1"], Exception), results["ha1"].render()
    assert results["ha2"]["initial_data"] == "seed"
    assert results["ha1"]["initial_data"] in ("source", "start")
    assert count(ha2) == 50
    ha1.sql("INSERT INTO itv.device (name) VALUES ('after')")
    ha2.sql("INSERT INTO itv.device (name) VALUES ('after2')")
    wait_equal(ha1, ha2)
    assert count(ha1) == count(ha2) == 52
    seeds = list((ha2.root / "var/lib/ha-installer/seed").iterdir())
    assert len(seeds) == 1 and oct(seeds[0].stat().st_mode & 0o777) == "0o600"


def test_different_data_is_refused_and_nothing_changes_then_seed_from(nodes):
    ha1, ha2 = nodes
    make_app_data(ha1, ["x1", "x2"])
    make_app_data(ha2, ["y1"])
    results = run_both(ha1, ha2)
    for name in ("ha1", "ha2"):
        exc = results[name]
        assert isinstance(exc, OnsiteError) and exc.reference == "db-data-differs", exc
        text = exc.render("en")
        assert "both nodes hold application data and it differs; the data on both nodes was left as it is" in text
        assert "itv.device: contents differ" in text
        assert "--seed-from NODE" in text
    assert count(ha1) == 2 and count(ha2) == 1
    assert ha2.sql("SHOW SLAVE STATUS") == ""
    # field staff choose ha1's data: run on ha2 with --seed-from ha1, then rerun ha1
    results = {}

    def on_ha2():
        try:
            results["ha2"] = db_pairing.configure(ha2.ctx(ha1, seed_from="ha1"))
        except OnsiteError as exc:
            results["ha2"] = exc

    thread = threading.Thread(target=on_ha2)
    thread.start()
    wait_phase(ha2, ("seeded", "paired"))
    results["ha1"] = db_pairing.configure(ha1.ctx(ha2))
    thread.join(60)
    assert results["ha1"]["initial_data"] == "start"
    assert not isinstance(results["ha2"], Exception), results["ha2"].render()
    assert not isinstance(results["ha1"], Exception), results["ha1"].render()
    assert count(ha2) == 2
    backups = list((ha2.root / "var/lib/ha-installer/backup").iterdir())
    assert len(backups) == 1 and "'y1'" in backups[0].read_text()


def test_customer_root_password_is_kept_and_overrides_are_reported(nodes):
    ha1, ha2 = nodes
    # a customer server whose root already has a password, and a later option file that
    # overrides one of our settings (last one read wins)
    ha1.sql("ALTER USER root@localhost IDENTIFIED VIA unix_socket OR mysql_native_password"
            " USING PASSWORD('customer-pw')")
    (ha1.server.cnf_dir / "zz-customer.cnf").write_text("[mysqld]\nauto_increment_offset = 7\n")
    with pytest.raises(OnsiteError) as info:
        db_pairing.configure(ha1.ctx(ha2, peer_timeout=1))
    text = info.value.render("en")
    assert "another option file overrides settings of" in text
    assert "auto_increment_offset: running 7, wanted 1" in text
    assert "my_print_defaults mysqld" in text
    assert "database: root keeps its existing password; using the local socket login" in ha1.lines
    assert db_secrets.get("root_password", str(ha1.root)) is None
    out = subprocess.run(["mariadb", "--no-defaults", f"--socket={ha1.server.socket}", "-uroot",
                          "-pcustomer-pw", "-N", "-e", "SELECT 1"], stdout=subprocess.PIPE, text=True)
    assert out.stdout.strip() == "1"
    # remove the override: the node finishes its side and says which peer is missing
    (ha1.server.cnf_dir / "zz-customer.cnf").unlink()
    with pytest.raises(OnsiteError) as info:
        db_pairing.configure(ha1.ctx(ha2, peer_timeout=2))
    assert info.value.reference == "db-peer-not-ready"
    text = info.value.render("en")
    assert "peer ha2 (127.0.0.1) did not answer within 2 s; this node's side is done" in text
    assert "run install on ha2 now" in text


def test_copy_that_would_not_fit_is_refused_before_anything_is_written(nodes):
    ha1, ha2 = nodes
    make_app_data(ha1, ["row-%d" % i for i in range(20000)])
    target = ha2.root / "var/lib/ha-installer"
    target.mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(target)]).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        results = run_both(ha1, ha2, {"ha1": {"peer_timeout": 8}})
        exc = results["ha2"]
        # refused up front from the table sizes, or when the dump hit the full disk
        # (statistics of a just-loaded table can be stale)
        assert isinstance(exc, OnsiteError), exc
        text = exc.render("en")
        assert exc.reference in ("db-no-space", "db-no-space-dump"), text
        assert ("not enough space in %s" % target in text
                or "the copy from ha1 did not fit in %s" % target in text), text
        assert [p for p in target.rglob("*") if p.is_file()] == []
        assert ha2.sql("SHOW SLAVE STATUS") == ""
        assert ha2.sql("SHOW DATABASES LIKE 'itv'") == ""
    finally:
        subprocess.run(["umount", str(target)])
