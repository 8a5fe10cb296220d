"""This node's database server: which one is installed, root login, our option file, waiting
for it to answer. The replication between the nodes is onsite.db.pairing.

Functions that take ``ctx`` read the run's DbContext (onsite.db.pairing): root, plan, cnf_dir,
socket, service, out.
"""

import os
import re
import subprocess
import time

from onsite.core import messages, state
from onsite.core.errors import BAD_INPUT, OnsiteError
from onsite.db import render as db_render
from onsite.db import secrets as db_secrets
from onsite.db import versions as db_versions
from onsite.db.client import Connection, DbError, find_program
from onsite.host import tools


def say(ctx, reference, **params):
    """A progress line 'database: ...' (the reference's text in the catalog)."""
    ctx.out(messages.text("db-step", what=messages.text(reference, **params)))


# ---------------------------------------------------------------- detection

# server package name -> flavour (RHEL/community names)
SERVER_PACKAGES = (("mysql-community-server", db_versions.MYSQL),
                   ("mariadb-server", db_versions.MARIADB),
                   ("MariaDB-server", db_versions.MARIADB))


def server_from_packages(installed):
    """(flavour, version) from rpmdb.installed()'s {(name, arch): [(e, v, r)]}, or None."""
    for package, flavour in SERVER_PACKAGES:
        for (name, _arch), evrs in sorted(installed.items()):
            if name == package and evrs:
                try:
                    return db_versions.parse_version(evrs[0][1] + (
                        "-MariaDB" if flavour == db_versions.MARIADB else ""))
                except db_versions.UnsupportedVersion:
                    continue
    return None


def detect_installed():
    """(flavour, version) of the installed server: from the rpm database, else from the
    server binary (hosts without rpm, such as the Debian test lab). Used before the server
    runs; SELECT VERSION() is the final word once it does."""
    try:
        from onsite.host import rpmdb
        found = server_from_packages(rpmdb.installed("/"))
        if found:
            return found
    except (OnsiteError, OSError):
        pass
    for name in ("mariadbd", "mysqld"):
        prog = find_program((name,))
        if prog is None:
            continue
        try:
            out = tools.run([prog, "--version"], timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        match = re.search(r"Ver\s+(\S+)", out.stdout)
        if match:
            text = match.group(1)
            if "mariadb" in out.stdout.lower() and "mariadb" not in text.lower():
                text += "-MariaDB"
            return db_versions.parse_version(text)
    return None


def facts_for(conn):
    text = conn.value("SELECT VERSION()")
    flavour, version = db_versions.parse_version(text or "")
    try:
        return db_versions.lookup(flavour, version)
    except db_versions.UnsupportedVersion:
        raise OnsiteError("db-unsupported", {"server": text}, exit_code=BAD_INPUT)


# ---------------------------------------------------------------- root login

def _mysql_temporary_password(root):
    """mysql-community's first start logs 'A temporary password is generated for root@localhost: X'."""
    path = os.path.join(root, "var/log/mysqld.log")
    try:
        with open(path) as handle:
            lines = [l for l in handle if "temporary password" in l]
    except (OSError, UnicodeDecodeError):
        return None
    return lines[-1].rstrip().split()[-1] if lines else None


def ensure_root(ctx, facts_hint):
    """An admin connection with a password we hold. A fresh server gets a generated root
    password at once (stored 0600 before it is set, so it can never be lost)."""
    base = Connection(user="root", socket=ctx.socket,
                      client=facts_hint.client if facts_hint else ("mariadb", "mysql"),
                      dump=facts_hint.dump if facts_hint else ("mariadb-dump", "mysqldump"))
    stored = db_secrets.get("root_password", ctx.root)
    if stored:
        admin = base.with_password(stored)
        if admin.ping():
            return admin, False
    # fresh server: unix_socket (MariaDB 10.4+), empty password (MariaDB 5.5/10.x, MySQL
    # --initialize-insecure) or the temporary password in mysqld.log (MySQL --initialize)
    for cand in (base.with_password(None), base.with_password("")):
        if not cand.ping():
            continue
        facts = facts_for(cand)
        if cand.value(facts.root_auth_query) not in (None, "", "invalid"):
            # the customer's root already has a password: never change it; OS root's
            # socket login is enough for us (and for the role hook)
            say(ctx, "db-pg-root-kept")
            return cand, False
        password = stored or db_secrets.generate()
        db_secrets.put("root_password", password, ctx.root)   # stored before it is set
        cand.execute(["SET SESSION sql_log_bin = 0"]
                     + db_render.sql_root_password(facts, password))
        admin = base.with_password(password)
        if admin.ping():
            return admin, True
    temporary = _mysql_temporary_password(ctx.root)
    if temporary and facts_hint is not None and facts_hint.flavour == db_versions.MYSQL:
        # an expired temporary password allows nothing but setting a new one
        password = stored or db_secrets.generate()
        db_secrets.put("root_password", password, ctx.root)
        try:
            base.with_password(temporary).run(
                db_render.sql_script(db_render.sql_root_password(facts_hint, password)),
                extra_args=("--connect-expired-password",))
        except DbError:
            pass
        admin = base.with_password(password)
        if admin.ping():
            return admin, True
    raise OnsiteError("db-root-login", {"secrets": db_secrets.secrets_path(ctx.root)}, exit_code=BAD_INPUT)


# ---------------------------------------------------------------- server settings

def _read(path):
    try:
        with open(path) as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def ensure_cnf(ctx, facts, admin):
    """Write our drop-in if it differs; restart when the file or the running values differ."""
    path = os.path.join(ctx.cnf_dir, db_render.CNF_NAME)
    text = db_render.render_cnf(facts, ctx.plan)
    changed = _read(path) != text
    if changed:
        state.atomic_write(path, text, mode=0o644)
        say(ctx, "db-pg-wrote", path=path)
    else:
        say(ctx, "db-pg-unchanged", path=path)
    if changed or running_mismatches(facts, ctx.plan, admin):
        say(ctx, "db-pg-restarting", service=facts.service)
        ctx.service.restart(facts.service)
        wait_for_login(admin, 60)
    wrong = running_mismatches(facts, ctx.plan, admin)
    if wrong:
        if wrong[0].startswith("server_id") and len(wrong) > 3:
            raise OnsiteError("db-cnf-not-read", {"path": path, "directory": ctx.cnf_dir},
                              context=wrong)
        raise OnsiteError("db-cnf-overridden", {"path": path}, context=wrong)
    return changed


def running_mismatches(facts, plan, admin):
    """Settings of our drop-in that the running server does not have ('name: running X,
    wanted Y'); empty when the server runs with them."""
    wanted = [("server_id", str(db_render.server_id(plan))), ("log_bin", "1"),
              ("binlog_format", "ROW"), ("log_slave_updates", "1"),
              ("auto_increment_increment", "2"), ("auto_increment_offset", str(plan.index + 1))]
    if facts.gtid == "mariadb":
        wanted.append(("gtid_domain_id", str(plan.index + 1)))
    if facts.gtid == "mysql":
        wanted.append(("gtid_mode", "ON"))
    row = admin.query("SELECT " + ", ".join("@@GLOBAL.{0} AS {0}".format(k) for k, _ in wanted))[0]
    wrong = []
    for key, value in wanted:
        running = row.get(key)
        if running != value and not (value == "1" and running == "ON"):
            wrong.append("{}: running {}, wanted {}".format(key, running, value))
    return wrong


def wait_for_login(conn, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if conn.ping():
            return True
        time.sleep(0.3)
    return False


def server_answers(conn):
    """True when the server is up (even if this login is refused)."""
    try:
        conn.value("SELECT 1")
        return True
    except DbError as exc:
        return "Access denied" in exc.message


def wait_for_socket(conn, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if server_answers(conn):
            return True
        time.sleep(0.5)
    return False
