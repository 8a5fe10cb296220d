"""Pure renderers: frozen facts in, my.cnf drop-in and SQL text out. No I/O here.

Every statement comes from onsite.db.versions (the version table); this module only fills in
values and quotes them. Golden tests in tests/golden/db/ pin the output per server version.
"""

import collections
import re

CNF_NAME = "ha-replication.cnf"
OWN_SCHEMA = "ha_bundle"     # our canary schema; replicated like the app schemas
REPL_USER = "repl"
SEED_USER = "ha_seed"

# What one node needs to know to render its side. All plain values: hashable, frozen.
NodePlan = collections.namedtuple("NodePlan", (
    "index",          # 0 for the first node in the site file, 1 for the second
    "name",           # this node's name, e.g. ha1
    "address",        # this node's address on the replication network
    "peer_name",
    "peer_address",
    "port",           # server port (same on both nodes)
    "schemas",        # tuple of app schema names to replicate, e.g. ("itv",)
    "passive",        # True: this node boots read_only (it does not hold the VIP at first)
    "peer_port",      # the peer's server port (= port on a real site; differs in local tests)
))
NodePlan.__new__.__defaults__ = (None,)

_SCHEMA_RE = re.compile(r"^[A-Za-z0-9_]{1,64}$")


def check_schema(name):
    """Schema names go into SQL and my.cnf: allow only the safe, portable characters."""
    if not _SCHEMA_RE.match(name or ""):
        raise ValueError("bad schema name: {!r}".format(name))
    return name


def quote(value):
    """A SQL string literal (backslash and quote escaped, as both servers parse by default)."""
    text = str(value)
    text = text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n").replace("\0", "\\0")
    return "'" + text + "'"


def account(user, host):
    return "{}@{}".format(quote(user), quote(host))


def server_id(plan):
    """From node order, never from an IP octet (two sites could share octets, IPs change)."""
    return plan.index + 1


def render_cnf(facts, plan):
    """The drop-in ha-replication.cnf: our settings only; the customer's my.cnf is untouched."""
    lines = [
        "# Written by ha-bundle (python3 -m onsite configure --only database).",
        "# Do not edit by hand: change site.toml and run configure again.",
        "# Server: {}; node {} ({}), peer {} ({}).".format(
            facts.label, plan.name, plan.address, plan.peer_name, plan.peer_address),
        "[mysqld]",
        "server_id = {}".format(server_id(plan)),
        "port = {}".format(plan.port),
        "log_bin = mysql-bin",
        "relay_log = relay-bin",
        "binlog_format = ROW",
        "{} = ON".format(facts.cnf_log_replica_updates),
        "sync_binlog = 1",
        "innodb_flush_log_at_trx_commit = 1",
        "relay_log_recovery = ON",
        # two writers never hand out the same key: node 1 odd ids, node 2 even ids
        "auto_increment_increment = 2",
        "auto_increment_offset = {}".format(plan.index + 1),
    ]
    if facts.gtid == "mariadb":
        # each active primary needs its own GTID domain (MariaDB KB, multi-primary GTID)
        lines.append("gtid_domain_id = {}".format(plan.index + 1))
    for key, value in facts.cnf_gtid:
        lines.append("{} = {}".format(key, value))
    if plan.passive:
        lines.append("read_only = ON")
        if facts.super_read_only:
            lines.append("super_read_only = ON")
    # table filters, never replicate-do-db (misses cross-database statements) and never
    # slave-skip-errors (silent data loss)
    for schema in tuple(plan.schemas) + (OWN_SCHEMA,):
        lines.append("replicate_wild_do_table = {}.%".format(check_schema(schema)))
    return "\n".join(lines) + "\n"


def sql_script(statements):
    return "".join(s + ";\n" for s in statements)


def sql_root_password(facts, password):
    return [facts.root_password.format(password=quote(password))]


def _user_statements(facts, user, host, password, exists):
    acct = account(user, host)
    if exists:
        template = facts.set_password
    else:
        template = facts.create_user
    return [template.format(user=acct, plugin=facts.repl_plugin, password=quote(password))]


def sql_repl_user(facts, peer_address, password, exists):
    """repl@'<peer>' with replication rights only, kept out of the binlog (sql_log_bin=0):
    each node creates the account its peer logs in with, so it must not replicate."""
    stmts = ["SET SESSION sql_log_bin = 0"]
    stmts += _user_statements(facts, REPL_USER, peer_address, password, exists)
    stmts.append("GRANT {} ON *.* TO {}".format(facts.repl_privileges,
                                                 account(REPL_USER, peer_address)))
    stmts.append("SET SESSION sql_log_bin = 1")
    return stmts


def sql_seed_user(facts, peer_address, password, schemas, exists):
    """ha_seed@'<peer>': read-only on the app schemas plus what a consistent dump with the
    binlog position needs (RELOAD for the brief flush, binlog monitor for the position)."""
    acct = account(SEED_USER, peer_address)
    stmts = ["SET SESSION sql_log_bin = 0"]
    stmts += _user_statements(facts, SEED_USER, peer_address, password, exists)
    stmts.append("GRANT {} ON *.* TO {}".format(facts.seed_global_privileges, acct))
    for schema in schemas:
        stmts.append("GRANT SELECT, SHOW VIEW, TRIGGER, EVENT, LOCK TABLES ON `{}`.* TO {}".format(
            check_schema(schema), acct))
    stmts.append("SET SESSION sql_log_bin = 1")
    return stmts


def sql_user_exists(user, host):
    return "SELECT COUNT(*) FROM mysql.user WHERE User = {} AND Host = {}".format(
        quote(user), quote(host))


# Where a new replica channel starts in the peer's history. gtid: a GTID position/set (or None);
# log_file/log_pos: binlog coordinates (servers without GTID). None everywhere: from scratch.
StartPosition = collections.namedtuple("StartPosition", ("gtid", "log_file", "log_pos"))


def sql_change_source(facts, host, port, password, start=None, connect_retry=10):
    """The replica channel to the peer. GTID auto-position where the server has it; otherwise
    the file/position read from the peer (or from a seed dump), never hard-coded."""
    opt = facts.opt
    parts = [
        "{}HOST = {}".format(opt, quote(host)),
        "{}PORT = {}".format(opt, int(port)),
        "{}USER = {}".format(opt, quote(REPL_USER)),
        "{}PASSWORD = {}".format(opt, quote(password)),
        "{}CONNECT_RETRY = {}".format(opt, int(connect_retry)),
    ]
    stmts = [facts.stop_replica]
    if facts.gtid:
        if start is not None and start.gtid is not None and facts.gtid == "mariadb":
            stmts.append(facts.set_gtid_start.format(position=quote(start.gtid)))
        parts.append(facts.auto_position)
    elif start is not None and start.log_file:
        parts.append("{}LOG_FILE = {}".format(opt, quote(start.log_file)))
        parts.append("{}LOG_POS = {}".format(opt, int(start.log_pos)))
    if facts.public_key:
        parts.append(facts.public_key)
    stmts.append(facts.change_source + " " + ", ".join(parts))
    return stmts


def sql_seeded_gtid(facts, gtid_set):
    """MySQL only: after loading a seed, mark the source's GTIDs in it as already applied so
    auto-position does not send them again (MariaDB does this with gtid_slave_pos instead)."""
    if facts.gtid != "mysql" or not gtid_set or not facts.set_gtid_start:
        return []
    return [facts.set_gtid_start.format(position=quote(gtid_set))]


def sql_start(facts):
    return [facts.start_replica]


def sql_read_only(facts, on):
    """Role switch. Turning on: read_only then super_read_only; off: the reverse order
    (super_read_only=ON implies read_only=ON and read_only=OFF implies super_read_only=OFF)."""
    value = "ON" if on else "OFF"
    stmts = ["SET GLOBAL read_only = " + value]
    if facts.super_read_only:
        if on:
            stmts.append("SET GLOBAL super_read_only = ON")
        else:
            stmts.insert(0, "SET GLOBAL super_read_only = OFF")
    return stmts


def sql_canary_setup():
    """Our own schema; IF NOT EXISTS so that both nodes may create it and replicate it."""
    return [
        "CREATE DATABASE IF NOT EXISTS `{}`".format(OWN_SCHEMA),
        ("CREATE TABLE IF NOT EXISTS `{}`.`canary` (id VARCHAR(96) NOT NULL PRIMARY KEY,"
         " node VARCHAR(64) NOT NULL, written_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
         " ENGINE=InnoDB").format(OWN_SCHEMA),
    ]


def sql_canary_insert(token, node):
    """Insert-only (never UPDATE/DELETE): a row change for a row the peer never saw would stop
    row-based replication with a 'key not found' error."""
    return ["INSERT INTO `{}`.`canary` (id, node) VALUES ({}, {})".format(
        OWN_SCHEMA, quote(token), quote(node))]


def sql_canary_seen(token):
    return "SELECT COUNT(*) FROM `{}`.`canary` WHERE id = {}".format(OWN_SCHEMA, quote(token))


def sql_canary_recent(node, seconds):
    """Canary rows written by node in the last seconds (its clock: the value replicates as
    written), and the newest one: proves node -> here without logging in to node."""
    return ("SELECT COUNT(*) AS n, MAX(written_at) AS newest FROM `{}`.`canary` WHERE node = {}"
            " AND written_at >= NOW() - INTERVAL {} SECOND").format(OWN_SCHEMA, quote(node), int(seconds))


def dump_args(facts, schemas):
    """mysqldump arguments for a consistent dump of the app schemas with the source position
    as a comment (-- CHANGE MASTER ... / -- SET GLOBAL gtid_slave_pos=...)."""
    args = ["--single-transaction", "--routines", "--triggers", "--events",
            "--add-drop-database", "--hex-blob"]
    args += list(facts.dump_position)
    args += ["--databases"] + [check_schema(s) for s in schemas]
    return args


def render_admin_defaults(password, socket=None):
    """The option file the role hook logs in with (0600 root; same password as secrets.toml)."""
    lines = ["# Written by ha-bundle: root login for the keepalived database role hook.",
             "[client]", "user=root"]
    if password is not None:    # None: the customer's root keeps its password; socket login
        lines.append('password="{}"'.format(password.replace("\\", "\\\\").replace('"', '\\"')))
    if socket:
        lines.append('socket="{}"'.format(socket))
    return "\n".join(lines) + "\n"


def render_role_hook(facts, client, defaults_path, log_path="/var/log/ha-installer/db-role.log",
                     state_file="/var/lib/ha-installer/vrrp-state", wait_seconds=10):
    """keepalived notify hook (POSIX sh): read_only OFF when this node becomes MASTER, ON when
    it leaves MASTER (BACKUP, FAULT, STOP), each change logged with its result. Before
    opening writes it waits (bounded) until the relay log received from the old holder is
    applied, so new writes do not overtake rows that were already on their way.

    Called by the keepalived step's notify script as: hook TYPE NAME STATE PRIORITY. Run
    without arguments (e.g. after restarting the server by hand) it applies the last state
    keepalived recorded in state_file."""
    on = "; ".join(sql_read_only(facts, True))
    off = "; ".join(sql_read_only(facts, False))
    login = "\"{}\" --defaults-extra-file=\"{}\" --batch".format(client, defaults_path)
    return "\n".join([
        "#!/bin/sh",
        "# Generated by ha-bundle ({}): database role on VRRP state changes.".format(facts.label),
        "# Do not edit: run configure --only database again.",
        "state=\"${3:-}\"",
        "if [ -z \"$state\" ] && [ -r {0} ]; then".format(state_file),
        "    read -r state _ < {}".format(state_file),
        "fi",
        "log=\"{}\"".format(log_path),
        "case \"$state\" in",
        "    MASTER) sql=\"{}\" ;;".format(off),
        "    BACKUP|FAULT|STOP) sql=\"{}\" ;;".format(on),
        "    *) exit 0 ;;",
        "esac",
        "mkdir -p \"$(dirname \"$log\")\"",
        "now=$(date -u +%Y-%m-%dT%H:%M:%SZ)",
        "if [ \"$state\" = MASTER ]; then",
        "    # apply what already arrived from the old holder before taking writes (max {} s)".format(
            wait_seconds),
        "    pos=$({} -e \"{}\\G\" 2>/dev/null | awk '$1 == \"{}:\" {{f = $2}} $1 == \"{}:\" {{p = $2}} END {{if (f != \"\") print f, p}}')".format(
            login, facts.show_replica_status, facts.col_log_file, facts.col_read_pos),
        "    if [ -n \"$pos\" ]; then",
        "        waited=$({} -N -e \"SELECT {}('${{pos% *}}', ${{pos#* }}, {})\" 2>&1)".format(
            login, facts.pos_wait, wait_seconds),
        "        echo \"$now $state: relay log applied up to $pos (wait result: $waited)\" >> \"$log\"",
        "    fi",
        "fi",
        "if out=$({} -e \"$sql\" 2>&1); then".format(login),
        "    echo \"$now $state: $sql: ok\" >> \"$log\"",
        "    logger -t ha-bundle-db \"$state: $sql\" 2>/dev/null || true",
        "    exit 0",
        "fi",
        "echo \"$now $state: $sql: FAILED: $out\" >> \"$log\"",
        "logger -t ha-bundle-db \"$state: $sql failed: $out\" 2>/dev/null || true",
        "exit 1",
        "",
    ])
