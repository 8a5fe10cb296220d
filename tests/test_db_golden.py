"""Golden tests: the SQL and my.cnf drop-in for every server version we support.

No MySQL server package exists on this machine, so MySQL 5.7/8.0/8.4 are proven by these text
tests only; MariaDB is also run for real in tests/test_db_live.py and the lab tests.
Regenerate after an intended change with: HA_BUNDLE_UPDATE_GOLDEN=1 python3 -m pytest tests/test_db_golden.py
"""

import os
from pathlib import Path

import pytest

from onsite.db import render as db_render
from onsite.db import versions as db_versions

GOLDEN = Path(__file__).resolve().parent / "golden" / "db"

PLAN_1 = db_render.NodePlan(index=0, name="ha1", address="192.0.2.11", peer_name="ha2",
                            peer_address="192.0.2.12", port=3306, schemas=("itv",), passive=False)
PLAN_2 = PLAN_1._replace(index=1, name="ha2", address="192.0.2.12", peer_name="ha1",
                         peer_address="192.0.2.11", passive=True)


def render_all(facts):
    out = {
        "ha1-ha-replication.cnf": db_render.render_cnf(facts, PLAN_1),
        "ha2-ha-replication.cnf": db_render.render_cnf(facts, PLAN_2),
        "root-password.sql": db_render.sql_script(db_render.sql_root_password(facts, "ROOT-PW")),
        "repl-user-create.sql": db_render.sql_script(
            db_render.sql_repl_user(facts, "192.0.2.12", "REPL-PW", exists=False)),
        "repl-user-update.sql": db_render.sql_script(
            db_render.sql_repl_user(facts, "192.0.2.12", "REPL-PW", exists=True)),
        "seed-user-create.sql": db_render.sql_script(
            db_render.sql_seed_user(facts, "192.0.2.12", "SEED-PW", ("itv",), exists=False)),
        "change-source-gtid.sql": db_render.sql_script(
            db_render.sql_change_source(facts, "192.0.2.12", 3306, "REPL-PW")
            + db_render.sql_start(facts)),
        "change-source-position.sql": db_render.sql_script(
            db_render.sql_change_source(
                facts, "192.0.2.12", 3306, "REPL-PW",
                start=db_render.StartPosition("2-2-17", "mysql-bin.000003", 1234))
            + db_render.sql_start(facts)),
        "seeded-gtid.sql": db_render.sql_script(
            db_render.sql_seeded_gtid(facts, "3E11FA47-71CA-11E1-9E33-C80AA9429562:1-5")),
        "read-only-on.sql": db_render.sql_script(db_render.sql_read_only(facts, True)),
        "read-only-off.sql": db_render.sql_script(db_render.sql_read_only(facts, False)),
        "status.sql": db_render.sql_script([facts.show_replica_status, facts.show_binlog_status]),
        "status-columns.txt": "\n".join([facts.col_io_running, facts.col_sql_running,
                                         facts.col_lag, facts.col_last_io_error,
                                         facts.col_last_sql_error]) + "\n",
        "dump-args.txt": " ".join(db_render.dump_args(facts, ("itv",))) + "\n",
        "role-hook.sh": db_render.render_role_hook(facts, "/usr/bin/" + facts.client[0],
                                                   "/etc/ha-installer/db-admin.cnf"),
    }
    return out


def _dirname(flavour, version):
    return "{}-{}".format(flavour, ".".join(str(v) for v in version))


@pytest.mark.parametrize("flavour,version", db_versions.GOLDEN,
                         ids=[_dirname(f, v) for f, v in db_versions.GOLDEN])
def test_golden(flavour, version):
    facts = db_versions.lookup(flavour, version)
    directory = GOLDEN / _dirname(flavour, version)
    rendered = render_all(facts)
    if os.environ.get("HA_BUNDLE_UPDATE_GOLDEN"):
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in rendered.items():
            (directory / name).write_text(text)
    for name, text in rendered.items():
        assert (directory / name).read_text() == text, "{}/{}".format(directory.name, name)


def test_every_flavour_first_row_lists_every_key():
    firsts = {}
    for flavour, _first, facts in db_versions.ROWS:
        firsts.setdefault(flavour, set(facts))
    for flavour, keys in firsts.items():
        assert keys == set(db_versions.KEYS), flavour
    for flavour, _first, facts in db_versions.ROWS:
        assert set(facts) <= set(db_versions.KEYS), (flavour, set(facts) - set(db_versions.KEYS))


@pytest.mark.parametrize("text,flavour,version", [
    ("10.11.6-MariaDB-0+deb12u1", "mariadb", (10, 11, 6)),
    ("5.5.68-MariaDB", "mariadb", (5, 5, 68)),
    ("5.5.5-10.3.39-MariaDB", "mariadb", (10, 3, 39)),
    ("8.0.36", "mysql", (8, 0, 36)),
    ("5.7.44-log", "mysql", (5, 7, 44)),
    ("8.4.3-commercial", "mysql", (8, 4, 3)),
])
def test_parse_version(text, flavour, version):
    assert db_versions.parse_version(text) == (flavour, version)


def test_old_servers_are_refused():
    with pytest.raises(db_versions.UnsupportedVersion):
        db_versions.lookup("mysql", (5, 6, 51))
    with pytest.raises(db_versions.UnsupportedVersion):
        db_versions.lookup("mariadb", (5, 3, 0))


def test_never_the_runbook_mistakes():
    for flavour, version in db_versions.GOLDEN:
        facts = db_versions.lookup(flavour, version)
        for plan in (PLAN_1, PLAN_2):
            cnf = db_render.render_cnf(facts, plan)
            assert "skip-errors" not in cnf.replace("_", "-")
            assert "replicate-do-db" not in cnf.replace("_", "-")
            assert "replicate_wild_do_table = itv.%" in cnf
        assert "server_id = 1" in db_render.render_cnf(facts, PLAN_1)
        assert "server_id = 2" in db_render.render_cnf(facts, PLAN_2)


def test_mysql_84_has_no_removed_statements():
    facts = db_versions.lookup("mysql", (8, 4, 0))
    text = "".join(render_all(facts).values()).upper()
    for removed in ("CHANGE MASTER", "START SLAVE", "STOP SLAVE", "SHOW SLAVE", "SHOW MASTER STATUS",
                    "MASTER_"):
        assert removed not in text, removed


def test_bad_schema_name_is_refused():
    with pytest.raises(ValueError):
        db_render.render_cnf(db_versions.lookup("mariadb", (10, 11, 6)),
                             PLAN_1._replace(schemas=("itv`; DROP",)))


@pytest.mark.parametrize("flavour,version", db_versions.GOLDEN,
                         ids=[_dirname(f, v) for f, v in db_versions.GOLDEN])
def test_role_hook_is_clean_posix_sh(flavour, version):
    import shutil
    import subprocess
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck not installed")
    path = GOLDEN / _dirname(flavour, version) / "role-hook.sh"
    out = subprocess.run(["shellcheck", "-s", "sh", str(path)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    assert out.returncode == 0, out.stdout


def test_role_hook_turns_super_read_only_off_first_on_mysql():
    hook = db_render.render_role_hook(db_versions.lookup("mysql", (8, 0, 36)), "/usr/bin/mysql", "/x.cnf")
    assert 'MASTER) sql="SET GLOBAL super_read_only = OFF; SET GLOBAL read_only = OFF" ;;' in hook
    assert 'BACKUP|FAULT|STOP) sql="SET GLOBAL read_only = ON; SET GLOBAL super_read_only = ON" ;;' in hook
