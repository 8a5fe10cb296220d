"""One table of per-version database facts: every statement, status column and option name.

Code asks this table ("what is the statement that starts the replica here?") instead of
branching on flavour names (the geerlingguy.mysql vars/<os>.yml idea, see STYLE.md). Rows are
ordered by (flavour, first version); the facts for a server are the first row of its flavour
overlaid by every later row of that flavour whose first version is <= the server's version.
So a row only lists what changed at that version.

Sources (checked 2026-11-26):
- MySQL 8.0.22 added START/STOP REPLICA and SHOW REPLICA STATUS with Replica_*/Source_*
  columns; SHOW SLAVE STATUS is deprecated from 8.0.22 (refman 8.0 "SHOW SLAVE STATUS").
- MySQL 8.0.23 added CHANGE REPLICATION SOURCE TO with SOURCE_* options (refman 8.0).
- MySQL 8.0.26 renamed log_slave_updates -> log_replica_updates, skip_slave_start ->
  skip_replica_start (deprecations listed in refman 8.0 replication options).
- MySQL 8.4.0 removed START/STOP SLAVE, SHOW SLAVE STATUS, CHANGE MASTER TO, RESET MASTER and
  SHOW MASTER STATUS (replaced by SHOW BINARY LOG STATUS) and MASTER_* options
  (8.4.0 release notes, "SQL statements removed"); mysql_native_password is disabled by default
  in 8.4 and default_authentication_plugin is removed.
- MySQL 8.0 default auth is caching_sha2_password: a replica without TLS needs
  GET_MASTER_PUBLIC_KEY=1 (8.0.x) / GET_SOURCE_PUBLIC_KEY=1 (8.0.23+).
- MySQL super_read_only exists from 5.7.8; MariaDB has no super_read_only (its read_only
  blocks users without READ_ONLY ADMIN from 10.5.2).
- MariaDB GTID exists from 10.0.2 (CHANGE MASTER ... MASTER_USE_GTID=slave_pos); in a
  multi-primary setup each active primary needs its own gtid_domain_id (MariaDB KB "GTID with
  Multi-Source and Multi-Primary Replication"). MariaDB keeps the Slave_* status column names.
- MariaDB CREATE USER IF NOT EXISTS from 10.1.3, ALTER USER from 10.2.0, root via unix_socket
  by default from 10.4.3, START REPLICA / SHOW REPLICA STATUS synonyms and REPLICATION CLIENT
  renamed BINLOG MONITOR (old name kept as an alias) from 10.5.2, mariadb-* client names
  primary from 10.5.2 (mysql* names become compat symlinks, gone from 11.x default packages).
"""

import collections

MYSQL = "mysql"
MARIADB = "mariadb"

# (flavour, first version, facts). The first row of each flavour lists every key.
ROWS = (
    (MYSQL, (5, 7, 0), {
        "label": "MySQL 5.7",
        "service": "mysqld",
        "client": ("mysql",),
        "dump": ("mysqldump",),
        # statements
        "change_source": "CHANGE MASTER TO",
        "opt": "MASTER_",              # prefix of HOST, PORT, USER, PASSWORD, LOG_FILE ...
        "auto_position": "MASTER_AUTO_POSITION=1",
        "public_key": "",              # mysql_native_password needs no RSA key
        "start_replica": "START SLAVE",
        "stop_replica": "STOP SLAVE",
        "show_replica_status": "SHOW SLAVE STATUS",
        "show_binlog_status": "SHOW MASTER STATUS",
        # status columns of show_replica_status
        "col_io_running": "Slave_IO_Running",
        "col_sql_running": "Slave_SQL_Running",
        "col_lag": "Seconds_Behind_Master",
        "col_source_host": "Master_Host",
        "col_last_io_error": "Last_IO_Error",
        "col_last_sql_error": "Last_SQL_Error",
        "col_log_file": "Master_Log_File",          # binlog file the IO thread reads
        "col_read_pos": "Read_Master_Log_Pos",      # ... and how far it has received
        # waits until the SQL thread has applied up to a received position (role switch)
        "pos_wait": "MASTER_POS_WAIT",
        # GTID: None, "mysql" (gtid_mode + auto position) or "mariadb" (domain ids, slave_pos)
        "gtid": "mysql",
        "gtid_pos_var": "@@GLOBAL.gtid_executed",
        # how a seeded replica learns where its copy ends in the source's GTID history.
        # 5.7: the dump itself sets GTID_PURGED (--set-gtid-purged=ON), which only works while
        # the receiving server's gtid_executed is empty (a fresh server).
        "set_gtid_start": "",
        "super_read_only": True,
        # users and authentication
        "repl_plugin": "mysql_native_password",
        "create_user": "CREATE USER IF NOT EXISTS {user} IDENTIFIED WITH {plugin} BY {password}",
        "set_password": "ALTER USER {user} IDENTIFIED WITH {plugin} BY {password}",
        "root_password": "ALTER USER 'root'@'localhost' IDENTIFIED BY {password}",
        "root_first_login": "temporary-password",   # 'A temporary password' in mysqld.log
        # root's stored credential: '' (MySQL --initialize-insecure) means a fresh server
        "root_auth_query": ("SELECT authentication_string FROM mysql.user"
                            " WHERE User = 'root' AND Host = 'localhost'"),
        "repl_privileges": "REPLICATION SLAVE, REPLICATION CLIENT",
        "seed_global_privileges": "RELOAD, REPLICATION CLIENT",
        # my.cnf option names
        "cnf_log_replica_updates": "log_slave_updates",
        "cnf_gtid": (("gtid_mode", "ON"), ("enforce_gtid_consistency", "ON")),
        # mysqldump flags that record the source's position in the dump as comments
        "dump_position": ("--master-data=2", "--set-gtid-purged=ON"),
    }),
    (MYSQL, (8, 0, 0), {
        "label": "MySQL 8.0",
        "public_key": "GET_MASTER_PUBLIC_KEY=1",
        "repl_plugin": "caching_sha2_password",
    }),
    (MYSQL, (8, 0, 22), {
        "start_replica": "START REPLICA",
        "stop_replica": "STOP REPLICA",
        "show_replica_status": "SHOW REPLICA STATUS",
        "col_io_running": "Replica_IO_Running",
        "col_sql_running": "Replica_SQL_Running",
        "col_lag": "Seconds_Behind_Source",
        "col_source_host": "Source_Host",
        "col_log_file": "Source_Log_File",
        "col_read_pos": "Read_Source_Log_Pos",
    }),
    (MYSQL, (8, 0, 23), {
        "label": "MySQL 8.0.23+",
        "change_source": "CHANGE REPLICATION SOURCE TO",
        "opt": "SOURCE_",
        "auto_position": "SOURCE_AUTO_POSITION=1",
        "public_key": "GET_SOURCE_PUBLIC_KEY=1",
    }),
    (MYSQL, (8, 0, 26), {
        "cnf_log_replica_updates": "log_replica_updates",
        "pos_wait": "SOURCE_POS_WAIT",              # MASTER_POS_WAIT deprecated in 8.0.26
        # COMMENTED (8.0.17+) leaves the set as a comment; '+' appends to gtid_purged (8.0+)
        "dump_position": ("--source-data=2", "--set-gtid-purged=COMMENTED"),
        "set_gtid_start": "SET GLOBAL gtid_purged = CONCAT('+', {position})",
    }),
    (MYSQL, (8, 4, 0), {
        "label": "MySQL 8.4",
        "show_binlog_status": "SHOW BINARY LOG STATUS",
    }),
    (MARIADB, (5, 5, 0), {
        "label": "MariaDB 5.5",
        "service": "mariadb",
        "client": ("mysql",),
        "dump": ("mysqldump",),
        "change_source": "CHANGE MASTER TO",
        "opt": "MASTER_",
        "auto_position": "",           # no GTID: file/position read from the peer
        "public_key": "",
        "start_replica": "START SLAVE",
        "stop_replica": "STOP SLAVE",
        "show_replica_status": "SHOW SLAVE STATUS",
        "show_binlog_status": "SHOW MASTER STATUS",
        "col_io_running": "Slave_IO_Running",
        "col_sql_running": "Slave_SQL_Running",
        "col_lag": "Seconds_Behind_Master",
        "col_source_host": "Master_Host",
        "col_last_io_error": "Last_IO_Error",
        "col_last_sql_error": "Last_SQL_Error",
        "col_log_file": "Master_Log_File",
        "col_read_pos": "Read_Master_Log_Pos",
        "pos_wait": "MASTER_POS_WAIT",
        "gtid": None,
        "gtid_pos_var": "",
        "set_gtid_start": "",
        "super_read_only": False,
        "repl_plugin": "mysql_native_password",
        # no IF NOT EXISTS before 10.1.3: the caller checks mysql.user first
        "create_user": "CREATE USER {user} IDENTIFIED BY {password}",
        "set_password": "SET PASSWORD FOR {user} = PASSWORD({password})",
        "root_password": "SET PASSWORD FOR 'root'@'localhost' = PASSWORD({password})",
        "root_first_login": "empty-password",
        # MariaDB keeps the hash in Password up to 10.3; 10.4+ shows 'invalid' until one is set
        "root_auth_query": ("SELECT IF(Password <> '', Password, authentication_string)"
                            " FROM mysql.user WHERE User = 'root' AND Host = 'localhost'"),
        "repl_privileges": "REPLICATION SLAVE, REPLICATION CLIENT",
        "seed_global_privileges": "RELOAD, REPLICATION CLIENT",
        "cnf_log_replica_updates": "log_slave_updates",
        "cnf_gtid": (),
        "dump_position": ("--master-data=2",),
    }),
    (MARIADB, (10, 0, 2), {
        "label": "MariaDB 10.x",
        "auto_position": "MASTER_USE_GTID=slave_pos",
        "gtid": "mariadb",
        "gtid_pos_var": "@@GLOBAL.gtid_binlog_pos",
        # set while the replica is stopped, before CHANGE MASTER (MariaDB KB gtid_slave_pos)
        "set_gtid_start": "SET GLOBAL gtid_slave_pos = {position}",
        "dump_position": ("--master-data=2", "--gtid"),
    }),
    (MARIADB, (10, 1, 3), {
        "create_user": "CREATE USER IF NOT EXISTS {user} IDENTIFIED BY {password}",
    }),
    (MARIADB, (10, 2, 0), {
        "set_password": "ALTER USER {user} IDENTIFIED BY {password}",
        "root_password": "ALTER USER 'root'@'localhost' IDENTIFIED BY {password}",
    }),
    (MARIADB, (10, 4, 3), {
        # keep OS-root socket login (what MariaDB admins expect) and add the password
        "root_password": ("ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket"
                          " OR mysql_native_password USING PASSWORD({password})"),
        "root_first_login": "unix-socket",
    }),
    (MARIADB, (10, 5, 2), {
        "client": ("mariadb", "mysql"),
        "dump": ("mariadb-dump", "mysqldump"),
        "start_replica": "START REPLICA",
        "stop_replica": "STOP REPLICA",
        "show_replica_status": "SHOW REPLICA STATUS",
        "repl_privileges": "REPLICATION SLAVE, BINLOG MONITOR",
        "seed_global_privileges": "RELOAD, BINLOG MONITOR",
    }),
    (MARIADB, (10, 5, 9), {
        # SHOW SLAVE STATUS needs SLAVE MONITOR from 10.5.9 (status shows the peer's threads)
        "seed_global_privileges": "RELOAD, BINLOG MONITOR, SLAVE MONITOR",
    }),
    (MARIADB, (11, 0, 0), {
        "label": "MariaDB 11.x",
    }),
)

# Keys every resolved entry has (the first row of each flavour must list them all).
KEYS = tuple(sorted(ROWS[0][2]))

Facts = collections.namedtuple("Facts", ("flavour", "version") + KEYS)


class UnsupportedVersion(ValueError):
    """The server is older than any row of its flavour, or the flavour is unknown."""


def lookup(flavour, version):
    """Facts for flavour ('mysql' or 'mariadb') at version (a tuple like (10, 11, 6))."""
    version = tuple(version) + (0,) * (3 - len(version))
    merged = None
    for row_flavour, first, facts in ROWS:
        if row_flavour != flavour:
            continue
        if merged is None:
            if version < first:
                break
            merged = dict(facts)
        elif first <= version:
            merged.update(facts)
    if merged is None:
        raise UnsupportedVersion("{} {}".format(flavour, ".".join(str(v) for v in version)))
    merged["flavour"] = flavour
    merged["version"] = version
    return Facts(**merged)


def parse_version(text):
    """('mariadb', (10, 11, 6)) from a SELECT VERSION() string such as '10.11.6-MariaDB-0+deb12u1'.

    MariaDB 5.5-10.x report '5.5.68-MariaDB'; a leading '5.5.5-' replication prefix is dropped.
    Anything else is MySQL (Percona and community both say '8.0.36' or '8.0.36-28').
    """
    text = text.strip()
    if text.startswith("5.5.5-") and "mariadb" in text.lower():
        text = text[len("5.5.5-"):]
    flavour = MARIADB if "mariadb" in text.lower() else MYSQL
    head = text.split("-", 1)[0]
    parts = []
    for piece in head.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    if len(parts) < 2:
        raise UnsupportedVersion(text)
    while len(parts) < 3:
        parts.append(0)
    return flavour, tuple(parts)


# The versions the golden tests pin (one per row that customers run).
GOLDEN = (
    (MYSQL, (5, 7, 44)),
    (MYSQL, (8, 0, 20)),
    (MYSQL, (8, 0, 36)),
    (MYSQL, (8, 4, 3)),
    (MARIADB, (5, 5, 68)),
    (MARIADB, (10, 3, 39)),
    (MARIADB, (10, 5, 22)),
    (MARIADB, (10, 11, 6)),
    (MARIADB, (11, 4, 4)),
)
