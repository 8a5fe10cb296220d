"""Pure parts of the database step: the initial-data decision, the diff shown to field staff,
dump position parsing, option-file discovery and the secrets file."""

import os

import pytest

from onsite.db import paths as db_paths
from onsite.db import secrets as db_secrets
from onsite.db import pairing as db_pairing
from onsite.db import server as db_server

A = {"itv": {"device": "111", "user": "222"}}
B = {"itv": {"device": "999", "user": "222"}}


@pytest.mark.parametrize("local,peer,seed_from,expected", [
    ({}, {}, None, "start"),
    (A, A, None, "start"),
    (A, {}, None, "source"),
    ({}, A, None, "seed"),
    (A, B, None, "refuse"),
    (A, B, "ha2", "seed"),       # this is ha1: keep ha2's data
    (A, B, "ha1", "source"),     # this is ha1: ha2 copies from us
    (A, A, "ha2", "start"),      # already identical: nothing to copy
])
def test_decide(local, peer, seed_from, expected):
    assert db_pairing.decide(local, peer, "ha1", "ha2", seed_from) == expected


def test_both_nodes_reach_the_same_decision():
    for local, peer in ((A, {}), ({}, A), (A, B), ({}, {})):
        here = db_pairing.decide(local, peer, "ha1", "ha2", None)
        there = db_pairing.decide(peer, local, "ha2", "ha1", None)
        assert {"start": "start", "source": "seed", "seed": "source", "refuse": "refuse"}[here] == there


def test_differences_name_each_table_and_side():
    local = {"itv": {"device": "1", "only_here": "5"}}
    peer = {"itv": {"device": "2", "only_there": "6"}}
    assert db_pairing.differences(local, peer, "ha1", "ha2") == [
        "itv.device: contents differ (checksum 1 on ha1, 2 on ha2)",
        "itv.only_here: only on ha1",
        "itv.only_there: only on ha2",
    ]


def test_dump_position_mariadb_and_mysql(tmp_path):
    maria = tmp_path / "m.sql"
    maria.write_text("-- CHANGE MASTER TO MASTER_USE_GTID=slave_pos;\n"
                     "-- CHANGE MASTER TO MASTER_LOG_FILE='mysql-bin.000002', MASTER_LOG_POS=342;\n"
                     "-- SET GLOBAL gtid_slave_pos='1-7-3';\n")
    assert db_pairing.dump_position(str(maria)) == ("1-7-3", "mysql-bin.000002", 342)
    mysql = tmp_path / "y.sql"
    mysql.write_text("-- CHANGE REPLICATION SOURCE TO SOURCE_LOG_FILE='binlog.000004', SOURCE_LOG_POS=157;\n"
                     "/* SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a1b2:1-12'; */\n")
    assert db_pairing.dump_position(str(mysql)) == ("a1b2:1-12", "binlog.000004", 157)


def test_cnf_dir_and_socket_follow_the_includes(tmp_path):
    d = tmp_path / "my.cnf.d"
    d.mkdir()
    (d / "server.cnf").write_text("[mysqld]\nsocket=/var/lib/mysql/mysql.sock\n")
    main = tmp_path / "my.cnf"
    main.write_text("[mysqld]\ndatadir=/var/lib/mysql\n!includedir %s\n" % d)
    assert db_paths.cnf_dir((str(main),)) == str(d)
    assert db_paths.socket((str(main),)) == "/var/lib/mysql/mysql.sock"
    main.write_text("[mysqld]\ndatadir=/var/lib/mysql\n")
    assert db_paths.cnf_dir((str(main),)) is None


def test_secrets_file_is_0600_and_keeps_other_tables(tmp_path):
    root = str(tmp_path)
    os.makedirs(os.path.join(root, "etc/ha-installer"))
    with open(db_secrets.secrets_path(root), "w") as handle:
        handle.write('[keepalived]\nauth = "abc"\n')
    db_secrets.put("root_password", 'p"w\\x', root)
    assert db_secrets.get("root_password", root) == 'p"w\\x'
    assert db_secrets.load(root)["keepalived"] == {"auth": "abc"}
    assert oct(os.stat(db_secrets.secrets_path(root)).st_mode & 0o777) == "0o600"
    assert len(db_secrets.generate()) == 32 and db_secrets.generate().isalnum()


def test_runbook_options_are_found_outside_our_file(tmp_path):
    d = tmp_path / "my.cnf.d"
    d.mkdir()
    (d / "ha-replication.cnf").write_text("[mysqld]\nreplicate_wild_do_table = itv.%\n")
    (d / "old.cnf").write_text("[mysqld]\nslave-skip-errors=all\nreplicate-do-db = itv\n# replicate-do-db=x\n")
    main = tmp_path / "my.cnf"
    main.write_text("[mysqld]\nslave_skip_errors = OFF\n!includedir %s\n" % d)
    found = db_paths.dangerous_options((str(main),), own_file=str(d / "ha-replication.cnf"))
    assert found == ["%s: slave-skip-errors=all" % (d / "old.cnf"), "%s: replicate-do-db = itv" % (d / "old.cnf")]


def _site(**database):
    from onsite.site import sitefile as site_mod
    return site_mod.validate({
        "cluster": {"vip": "192.0.2.100/24"},
        "node": [{"name": "ha1", "address": "192.0.2.11", "priority": 150},
                 {"name": "ha2", "address": "192.0.2.12", "priority": 100}],
        "database": database,
        "secrets": {"replication_password": "r" * 16, "seed_password": "s" * 16}})


def test_plan_passive_node_is_the_lower_priority_one():
    from onsite.site import sitefile as site_mod
    from onsite.db import step as step_database
    site = _site(schemas=["itv", "extra"])
    one = step_database.plan_for(site, site_mod.Local(site.nodes[0], site.nodes[1], "eth0"))
    two = step_database.plan_for(site, site_mod.Local(site.nodes[1], site.nodes[0], "eth0"))
    assert (one.index, one.passive, one.peer_address, one.schemas) == (0, False, "192.0.2.12", ("itv", "extra"))
    assert (two.index, two.passive, two.peer_address) == (1, True, "192.0.2.11")


@pytest.mark.skipif(db_server.detect_installed() is None, reason="no database server installed")
def test_flavour_in_site_must_match_the_installed_server():
    from onsite.site import sitefile as site_mod
    from onsite.db import step as step_database
    from onsite.core.errors import OnsiteError
    installed = db_server.detect_installed()
    other = "mysql-community" if installed[0] == "mariadb" else "mariadb"
    site = _site(flavour=other)
    with pytest.raises(OnsiteError) as info:
        step_database.check(site, site_mod.Local(site.nodes[0], site.nodes[1], "eth0"))
    assert "the site file asks for database.flavour = %s, but this node has %s" % (
        other, installed[0]) in info.value.render("en")


def test_server_from_packages():
    assert db_server.server_from_packages({("mysql-community-server", "x86_64"): [("0", "8.0.36", "1.el8")],
                                          ("mysql-community-libs", "x86_64"): [("0", "8.0.36", "1.el8")]}) \
        == ("mysql", (8, 0, 36))
    assert db_server.server_from_packages({("mariadb-server", "x86_64"): [("1", "5.5.68", "1.el7")]}) \
        == ("mariadb", (5, 5, 68))
    assert db_server.server_from_packages({("mariadb-server", "x86_64"): [("3", "10.3.39", "1.module_el8")]}) \
        == ("mariadb", (10, 3, 39))
    assert db_server.server_from_packages({("postfix", "x86_64"): [("2", "2.10.1", "9.el7")]}) is None
