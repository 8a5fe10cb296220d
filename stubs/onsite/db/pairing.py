"""Pair this node's server with the peer's (MySQL/MariaDB master-master), and prove it works.

Order (each step is idempotent, so a rerun changes nothing):
  detect -> root login -> drop-in cnf (+ restart only if it changed) (onsite.db.server) ->
  users for the peer -> our schema -> wait for the peer -> initial data (start / seed / refuse)
  -> replica channel -> verify (threads, errors, lag, canary row both ways: onsite.db.canary).
Statements come from onsite.db.versions through onsite.db.render; this module does the I/O.
"""

import collections
import os
import re
import time

from onsite.core import messages, state
from onsite.core.errors import BAD_INPUT, PEER_NOT_READY, REFUSED, OnsiteError
from onsite.db import canary, nodefacts, server
from onsite.db import render as db_render
from onsite.db import secrets as db_secrets
from onsite.db import versions as db_versions
from onsite.db.client import Connection, DbError

# Everything one run needs, decided before any change is made.
DbContext = collections.namedtuple("DbContext", (
    "plan",          # db_render.NodePlan
    "root",          # filesystem root ("/" on a real node)
    "cnf_dir",       # the server's include dir, e.g. /etc/my.cnf.d
    "socket",        # local server socket or None for the client's default
    "repl_password", # shared with the peer: site [secrets] replication_password
    "seed_password", # shared with the peer: site [secrets] seed_password
    "seed_from",     # None or a node name
    "peer_timeout",  # seconds to wait for the peer
    "verify_timeout",
    "service",       # object with start(name) and restart(name), or None
    "out",           # callable(str) for progress lines
    "node_facts",    # this node's statement for the peer (onsite.pair.facts), or None
    "rejoin",        # rebuild this node from a paired peer (install --rejoin)
    "one_way",       # the peer's channel from here is paused (rolling upgrade): prove ours only
))
DbContext.__new__.__defaults__ = (None, False, False)

PHASE_TABLE = "`{}`.`node_state`".format(db_render.OWN_SCHEMA)


# ---------------------------------------------------------------- users and our schema

def _user_exists(admin, user, host):
    return admin.value(db_render.sql_user_exists(user, host)) not in (None, "0")


def ensure_users(ctx, facts, admin):
    peer = ctx.plan.peer_address
    repl_pw = ctx.repl_password
    seed_pw = ctx.seed_password
    admin.execute(db_render.sql_repl_user(
        facts, peer, repl_pw, _user_exists(admin, db_render.REPL_USER, peer)))
    admin.execute(db_render.sql_seed_user(
        facts, peer, seed_pw, tuple(ctx.plan.schemas) + (db_render.OWN_SCHEMA,),
        _user_exists(admin, db_render.SEED_USER, peer)))
    server.say(ctx, "db-pg-accounts", repl="{}@{}".format(db_render.REPL_USER, peer),
         seed="{}@{}".format(db_render.SEED_USER, peer))


def ensure_own_schema(admin):
    admin.execute(db_render.sql_canary_setup() + [
        ("CREATE TABLE IF NOT EXISTS {} (node VARCHAR(64) NOT NULL PRIMARY KEY,"
         " phase VARCHAR(32) NOT NULL, gtid TEXT NULL, log_file VARCHAR(255) NULL,"
         " log_pos BIGINT NULL, updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP"
         " ON UPDATE CURRENT_TIMESTAMP) ENGINE=InnoDB").format(PHASE_TABLE)])


def set_phase(admin, node, phase, position=None):
    """This node's pairing phase, readable by the peer; local only (not replicated).

    position: where this node's binlog stood when it became ready (or finished seeding).
    The peer's channel starts there: everything this node logs after it is for the peer,
    while the live position could already be past rows meant for the peer (a canary)."""
    if position is None:
        stmt = ("INSERT INTO {} (node, phase) VALUES ({}, {}) ON DUPLICATE KEY UPDATE"
                " phase = VALUES(phase)").format(PHASE_TABLE, db_render.quote(node),
                                                  db_render.quote(phase))
    else:
        gtid, log_file, log_pos = position
        stmt = ("REPLACE INTO {} (node, phase, gtid, log_file, log_pos) VALUES"
                " ({}, {}, {}, {}, {})").format(
                    PHASE_TABLE, db_render.quote(node), db_render.quote(phase),
                    "NULL" if gtid is None else db_render.quote(gtid),
                    "NULL" if log_file is None else db_render.quote(log_file),
                    "NULL" if log_pos is None else int(log_pos))
    admin.execute(["SET SESSION sql_log_bin = 0", stmt])


def get_phase(conn, node):
    try:
        return conn.value("SELECT phase FROM {} WHERE node = {}".format(
            PHASE_TABLE, db_render.quote(node)))
    except DbError:
        return None


def recorded_position(conn, node):
    rows = conn.query("SELECT gtid, log_file, log_pos FROM {} WHERE node = {}".format(
        PHASE_TABLE, db_render.quote(node)))
    if not rows:
        return None
    row = rows[0]
    return db_render.StartPosition(row["gtid"], row["log_file"],
                                   int(row["log_pos"]) if row["log_pos"] else None)


# ---------------------------------------------------------------- initial data

def inventory(conn, schemas):
    """{schema: {table: checksum}} of the app schemas that exist and hold tables."""
    names = ", ".join(db_render.quote(db_render.check_schema(s)) for s in schemas)
    rows = conn.query("SELECT table_schema AS s, table_name AS t FROM information_schema.tables"
                      " WHERE table_schema IN ({}) AND table_type = 'BASE TABLE'"
                      " ORDER BY 1, 2".format(names))
    result = {}
    if not rows:
        return result
    tables = ", ".join("`{}`.`{}`".format(r["s"], r["t"].replace("`", "``")) for r in rows)
    sums = {}
    for row in conn.query("CHECKSUM TABLE " + tables):
        sums[row["Table"]] = row["Checksum"]
    for row in rows:
        result.setdefault(row["s"], {})[row["t"]] = sums.get("{}.{}".format(row["s"], row["t"]))
    return result


def differences(local, peer, local_name, peer_name):
    """Lines saying what differs, for field staff to choose which side to keep."""
    lines = []
    for schema in sorted(set(local) | set(peer)):
        lt, pt = local.get(schema, {}), peer.get(schema, {})
        for table in sorted(set(lt) | set(pt)):
            if table not in pt:
                lines.append("{}.{}: only on {}".format(schema, table, local_name))
            elif table not in lt:
                lines.append("{}.{}: only on {}".format(schema, table, peer_name))
            elif lt[table] != pt[table]:
                lines.append("{}.{}: contents differ (checksum {} on {}, {} on {})".format(
                    schema, table, lt[table], local_name, pt[table], peer_name))
    return lines


def decide(local, peer, local_name, peer_name, seed_from):
    """'start' (nothing to copy), 'source' (the peer copies from us), 'seed' (we copy from
    the peer) or 'refuse'. Pure, so both nodes reach the same answer from the same facts."""
    if seed_from == peer_name and local != peer:
        return "seed"
    if seed_from == local_name and local != peer:
        return "source"
    if local == peer:
        return "start"
    if local and not peer:
        return "source"
    if peer and not local:
        return "seed"
    return "refuse"


_GTID_MARIADB = re.compile(r"SET GLOBAL gtid_slave_pos\s*=\s*'([^']*)'")
_GTID_MYSQL = re.compile(r"GTID_PURGED\s*=\s*(?:/\*!80000 '\+'\*/ )?'([^']*)'", re.S)
_FILEPOS = re.compile(r"(?:MASTER|SOURCE)_LOG_FILE\s*=\s*'([^']+)',\s*(?:MASTER|SOURCE)_LOG_POS\s*=\s*(\d+)")


def dump_position(path):
    """StartPosition from the comments at the top of a dump made with db_render.dump_args."""
    gtid = log_file = log_pos = None
    with open(path) as handle:
        for number, line in enumerate(handle):
            if number > 400 and (gtid or log_file):
                break
            match = _GTID_MARIADB.search(line) or _GTID_MYSQL.search(line)
            if match and gtid is None:
                gtid = match.group(1)
            match = _FILEPOS.search(line)
            if match and log_file is None:
                log_file, log_pos = match.group(1), int(match.group(2))
    return db_render.StartPosition(gtid, log_file, log_pos)


def binlog_position(facts, conn):
    """Where a server's binlog is now."""
    gtid = None
    if facts.gtid_pos_var:
        gtid = conn.value("SELECT " + facts.gtid_pos_var) or ""
    rows = conn.query(facts.show_binlog_status)
    if not rows:
        return db_render.StartPosition(gtid, None, None)
    return db_render.StartPosition(gtid, rows[0]["File"], int(rows[0]["Position"]))


def _timestamp():
    return time.strftime("%Y%m%dT%H%M%S")


def backup_local(ctx, facts, admin):
    """A dump of this node's app schemas before anything overwrites them (kept, never removed)."""
    directory = os.path.join(ctx.root, "var/lib/ha-installer/backup")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, "database-{}-{}.sql".format(ctx.plan.name, _timestamp()))
    existing = [s for s in ctx.plan.schemas
                if admin.value("SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = {}"
                               .format(db_render.quote(s))) != "0"]
    if not existing:
        return None
    admin.dump_to(["--single-transaction", "--routines", "--triggers", "--events", "--hex-blob",
                   "--databases"] + existing, path)
    state.mark("database-backup", "done", ctx.root, path=path)
    return path


def _schema_bytes(conn, schemas):
    names = ", ".join(db_render.quote(s) for s in schemas)
    value = conn.value("SELECT COALESCE(SUM(data_length + index_length), 0) FROM"
                       " information_schema.tables WHERE table_schema IN ({})".format(names))
    return int(float(value or 0))


def check_space(ctx, peer, admin):
    """The dump of the peer and the backup of ours go to /var/lib/ha-installer: refuse before
    anything is written when they would not fit (table sizes bound the dump sizes)."""
    directory = os.path.join(ctx.root, "var/lib/ha-installer")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    need = _schema_bytes(peer, ctx.plan.schemas) + _schema_bytes(admin, ctx.plan.schemas)
    stat = os.statvfs(directory)
    free = stat.f_bavail * stat.f_frsize
    if need > free:
        raise OnsiteError("db-no-space", {"directory": directory, "need": need // 2 ** 20 + 1,
                                          "free": free // 2 ** 20}, exit_code=BAD_INPUT)


def seed_from_peer(ctx, facts, admin, peer):
    """Copy the app schemas from the peer: backup ours, dump theirs (consistent, with their
    position), load it without binlogging, and return where our channel starts."""
    check_space(ctx, peer, admin)
    backup = backup_local(ctx, facts, admin)
    if backup:
        server.say(ctx, "db-pg-backed-up", path=backup)
    directory = os.path.join(ctx.root, "var/lib/ha-installer/seed")
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, "from-{}-{}.sql".format(ctx.plan.peer_name, _timestamp()))
    peer_dump = Connection(peer.user, peer.password, host=peer.host, port=peer.port,
                           client=facts.client, dump=facts.dump)
    try:
        peer_dump.dump_to(db_render.dump_args(facts, ctx.plan.schemas), path)
    except DbError as exc:
        if "errno 28" not in exc.message.lower() and "no space" not in exc.message.lower():
            raise
        # table statistics can be stale (just loaded), so the estimate may pass; the partial
        # dump is already removed
        stat = os.statvfs(directory)
        raise OnsiteError("db-no-space-dump", {"directory": directory, "peer": ctx.plan.peer_name,
                                               "free": stat.f_bavail * stat.f_frsize // 2 ** 20})
    position = dump_position(path)
    server.say(ctx, "db-pg-copying", schemas=", ".join(ctx.plan.schemas), peer=ctx.plan.peer_name,
         size=os.path.getsize(path))
    prefix = "SET SESSION sql_log_bin = 0;\n"
    if facts.super_read_only:
        prefix += "SET GLOBAL super_read_only = OFF;\n"
    admin.load_file(path, prefix_sql=prefix)
    admin.execute(db_render.sql_seeded_gtid(facts, position.gtid))
    # our binlog from here on is what the peer needs (the load itself was not logged)
    set_phase(admin, ctx.plan.name, "seeded", binlog_position(facts, admin))
    if ctx.plan.passive:
        admin.execute(db_render.sql_read_only(facts, True))
    state.mark("database-seed", "done", ctx.root, source=ctx.plan.peer_name, dump=path)
    return position


# ---------------------------------------------------------------- the replica channel

def replica_status(facts, conn):
    rows = conn.query(facts.show_replica_status)
    return rows[0] if rows else None


def channel_configured(facts, status, ctx):
    return bool(status) and status.get(facts.col_source_host) == ctx.plan.peer_address


def start_channel(ctx, facts, admin, start):
    repl_pw = ctx.repl_password
    admin.execute(db_render.sql_change_source(facts, ctx.plan.peer_address, _peer_port(ctx),
                                              repl_pw, start=start)
                  + db_render.sql_start(facts))


def health(facts, status):
    """Problems with the replica status (empty list: healthy)."""
    if not status:
        return ["no replica channel configured"]
    problems = []
    for col in (facts.col_io_running, facts.col_sql_running):
        if status.get(col) != "Yes":
            problems.append("{} = {}".format(col, status.get(col)))
    for col in (facts.col_last_io_error, facts.col_last_sql_error):
        if status.get(col):
            problems.append("{}: {}".format(col, status.get(col)))
    if status.get(facts.col_lag) is None:
        problems.append("{} is NULL".format(facts.col_lag))
    return problems


def wait_healthy(facts, admin, seconds):
    deadline = time.time() + seconds
    problems = []
    while True:
        problems = health(facts, replica_status(facts, admin))
        if not problems or time.time() > deadline:
            return problems
        time.sleep(0.5)


# ---------------------------------------------------------------- the whole step

def peer_connection(ctx, facts):
    return Connection(db_render.SEED_USER, ctx.seed_password,
                      host=ctx.plan.peer_address, port=_peer_port(ctx),
                      client=facts.client, dump=facts.dump)


def _peer_port(ctx):
    return ctx.plan.peer_port or ctx.plan.port


def wait_for_peer(ctx, peer, phases=("ready", "seeded", "paired")):
    deadline = time.time() + ctx.peer_timeout
    said = None
    while True:
        reachable = peer.ping()
        phase = get_phase(peer, ctx.plan.peer_name) if reachable else None
        if phase in phases:
            return
        if time.time() > deadline:
            raise OnsiteError("db-peer-not-ready", {"peer": ctx.plan.peer_name,
                                                    "address": ctx.plan.peer_address,
                                                    "seconds": ctx.peer_timeout}, exit_code=PEER_NOT_READY)
        if said is None:
            server.say(ctx, "db-pg-waiting", seconds=ctx.peer_timeout, peer=ctx.plan.peer_name,
                 address=ctx.plan.peer_address)
            said = time.time()
        elif time.time() - said >= 15:       # a countdown, and what the peer still lacks
            server.say(ctx, "db-pg-still-waiting", peer=ctx.plan.peer_name, left=int(deadline - time.time()),
                       want="/".join(phases), now=phase or ("-" if reachable else "unreachable"))
            said = time.time()
        time.sleep(1)


def _wait_peer_not_seeding(ctx, peer):
    deadline = time.time() + max(ctx.peer_timeout, 60)
    while get_phase(peer, ctx.plan.peer_name) == "seeding" and time.time() < deadline:
        time.sleep(1)


def stable_inventories(ctx, admin, peer):
    """Both inventories, taken while the peer is not loading a seed. The peer sets 'seeding'
    before it loads and phases only move forward, so an unchanged, non-seeding phase before
    and after the read means no load ran in between."""
    while True:
        _wait_peer_not_seeding(ctx, peer)
        before = get_phase(peer, ctx.plan.peer_name)
        local_inv = inventory(admin, ctx.plan.schemas)
        peer_inv = inventory(peer, ctx.plan.schemas)
        after = get_phase(peer, ctx.plan.peer_name)
        if before == after and after != "seeding":
            return local_inv, peer_inv
        time.sleep(0.5)


def channel_source(conn):
    """The address conn's server replicates from (None: no channel), asked without knowing
    the server's version (SHOW REPLICA STATUS first, the older SHOW SLAVE STATUS next)."""
    for statement, column in (("SHOW REPLICA STATUS", "Source_Host"), ("SHOW SLAVE STATUS", "Master_Host")):
        try:
            rows = conn.query(statement)
        except DbError:
            continue
        return (rows[0].get(column) or rows[0].get("Master_Host")) if rows else None
    return None


def peer_replicates_from_us(ctx, facts, peer):
    """True when the peer's replica channel reads from this node's address."""
    try:
        status = replica_status(facts, peer)
    except DbError:
        return False
    return bool(status) and status.get(facts.col_source_host) == ctx.plan.address


def check_not_a_stale_half(ctx, facts, peer):
    """This node has no pairing of its own (new, or uninstalled) while the peer is paired and
    still replicates from it: a plain install would start from a stale position and stop on
    duplicate rows. Only --rejoin (a fresh copy of the peer's data) is safe; --rejoin in
    turn needs a paired peer."""
    paired = peer.ping() and get_phase(peer, ctx.plan.peer_name) == "paired"
    if paired and not ctx.rejoin and peer_replicates_from_us(ctx, facts, peer):
        raise OnsiteError("db-rejoin-needed", {"peer": ctx.plan.peer_name}, exit_code=REFUSED)
    if ctx.rejoin and not paired:
        raise OnsiteError("db-rejoin-no-peer", {"peer": ctx.plan.peer_name}, exit_code=BAD_INPUT)


def configure(ctx):
    """Run the whole database step on this node; returns a summary dict."""
    for key in ("repl_password", "seed_password"):
        if not getattr(ctx, key):
            raise OnsiteError("db-no-peer-secret", {"key": key.replace("repl_", "replication_")}, exit_code=BAD_INPUT)
    if ctx.seed_from not in (None, ctx.plan.name, ctx.plan.peer_name):
        raise OnsiteError("db-seed-from-unknown", {"value": ctx.seed_from, "nodes": ", ".join(
            [ctx.plan.name, ctx.plan.peer_name])}, exit_code=BAD_INPUT)
    installed = server.detect_installed()
    hint = None
    if installed is None:
        raise OnsiteError("db-not-installed", exit_code=BAD_INPUT)
    try:
        hint = db_versions.lookup(*installed)
    except db_versions.UnsupportedVersion:
        raise OnsiteError("db-unsupported", {"server": "{} {}".format(*installed)}, exit_code=BAD_INPUT)
    summary = {"changed": []}
    probe = Connection(user="root", socket=ctx.socket, client=hint.client, dump=hint.dump)
    if not server.server_answers(probe):
        server.say(ctx, "db-pg-starting", service=hint.service)
        ctx.service.start(hint.service)
        if not server.wait_for_socket(probe, 60):
            raise OnsiteError("db-not-running", {"detail": "no answer in 60 s",
                                                 "service": hint.service})
    try:
        admin, root_set = server.ensure_root(ctx, hint)
        if root_set:
            summary["changed"].append(messages.text("db-ch-root-password"))
            server.say(ctx, "db-pg-root-set", path=db_secrets.secrets_path(ctx.root))
        facts = server.facts_for(admin)
        summary["facts"] = facts
        server.say(ctx, "db-pg-server", label=facts.label, version=".".join(str(v) for v in facts.version))
        if server.ensure_cnf(ctx, facts, admin):
            summary["changed"].append(messages.text(
                "db-ch-cnf", path="{}/{}".format(ctx.cnf_dir, db_render.CNF_NAME)))
        ensure_users(ctx, facts, admin)
        ensure_own_schema(admin)
        if ctx.node_facts:     # as early as possible: the peer's handshake may be asking now
            nodefacts.write(admin, ctx.plan.name, ctx.node_facts)
        peer = peer_connection(ctx, facts)
        status = replica_status(facts, admin)
        if channel_configured(facts, status, ctx):
            server.say(ctx, "db-pg-channel-exists", peer=ctx.plan.peer_name)
            if ctx.seed_from:
                server.say(ctx, "db-pg-seed-ignored", peer=ctx.plan.peer_name)
            if status.get(facts.col_io_running) != "Yes" or status.get(facts.col_sql_running) != "Yes":
                if not status.get(facts.col_last_sql_error):
                    admin.execute(db_render.sql_start(facts))
            set_phase(admin, ctx.plan.name, "paired")
        else:
            own_phase = get_phase(admin, ctx.plan.name)
            if own_phase is None:
                check_not_a_stale_half(ctx, facts, peer)
                set_phase(admin, ctx.plan.name, "ready", binlog_position(facts, admin))
            wait_for_peer(ctx, peer)
            _wait_peer_not_seeding(ctx, peer)
            if ctx.rejoin:
                # the peer serves on; its channel from us resumes by itself (our binlog kept
                # its place), ours starts where the copy was taken
                server.say(ctx, "db-pg-rejoin", peer=ctx.plan.peer_name)
                choice = "seed"
            elif own_phase == "seeding":
                # 'seeding' outlives only a hard kill (any error resets it to 'ready'): the
                # decision to copy was made, our data was backed up, the load stopped halfway
                server.say(ctx, "db-pg-copy-again", peer=ctx.plan.peer_name)
                choice = "seed"
            else:
                local_inv, peer_inv = stable_inventories(ctx, admin, peer)
                choice = decide(local_inv, peer_inv, ctx.plan.name, ctx.plan.peer_name,
                                ctx.seed_from)
            summary["initial_data"] = choice
            if choice == "refuse":
                raise OnsiteError("db-data-differs", {}, context=differences(
                    local_inv, peer_inv, ctx.plan.name, ctx.plan.peer_name), exit_code=REFUSED)
            if choice == "seed":
                set_phase(admin, ctx.plan.name, "seeding")
                try:
                    start = seed_from_peer(ctx, facts, admin, peer)
                except BaseException:
                    set_phase(admin, ctx.plan.name, "ready")   # let the peer stop waiting
                    raise
                summary["changed"].append(messages.text("db-ch-seeded", peer=ctx.plan.peer_name))
            else:
                if choice == "source":
                    server.say(ctx, "db-pg-peer-copies", peer=ctx.plan.peer_name)
                    wait_for_peer(ctx, peer, phases=("paired",))
                else:
                    server.say(ctx, "db-pg-same")
                start = recorded_position(peer, ctx.plan.peer_name)
                admin.execute(db_render.sql_seeded_gtid(facts, start.gtid))
            start_channel(ctx, facts, admin, start)
            set_phase(admin, ctx.plan.name, "paired")
            summary["changed"].append(messages.text("db-ch-started", peer=ctx.plan.peer_name))
            server.say(ctx, "db-pg-channel-started", peer=ctx.plan.peer_name)
        problems = wait_healthy(facts, admin, ctx.verify_timeout)
        if problems:
            raise OnsiteError("db-replication-broken", {"peer": ctx.plan.peer_name,
                                                        "detail": problems[0]},
                              context=problems[1:])
        if ctx.one_way:
            server.say(ctx, "db-pg-one-way", peer=ctx.plan.peer_name)
            if not summary["changed"]:
                server.say(ctx, "db-pg-no-changes")
            return summary
        # the peer's own channel must exist before a row from here can show up there
        wait_for_peer(ctx, peer, phases=("paired",))
        seconds = canary.roundtrip(facts, admin, peer, ctx.plan.name, ctx.plan.peer_name,
                                   ctx.verify_timeout)
        server.say(ctx, "db-pg-healthy", peer=ctx.plan.peer_name, seconds=seconds)
        summary["canary_seconds"] = seconds
    except DbError as exc:
        raise OnsiteError("db-sql-failed", {"where": ctx.plan.name, "detail": exc.message})
    if not summary["changed"]:
        server.say(ctx, "db-pg-no-changes")
    return summary
