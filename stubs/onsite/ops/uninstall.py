"""``uninstall`` / ``rollback``: undo what install and configure did, from the state journal.

Order: keepalived stopped (and disabled when we enabled it) -> replication channel reset and
our database accounts dropped, our my.cnf drop-in removed and the server restarted -> our
firewall rules removed -> every file we replaced gets its original bytes, owner and mode back
(from the oldest backup), every file we created is removed -> services the customer ran before
are started again with their own configuration. Databases and their data are NEVER deleted
(the app schemas and our own ``ha_bundle`` schema stay). ``--remove-packages`` also erases the
packages install added (only those, never ones that were there before).
A second run finds nothing in the journal and says so.
"""

import os
import shutil
import time

from onsite.app import unit as app_unit
from onsite.db import client as db_client
from onsite.db import paths as db_paths
from onsite.db import render as db_render
from onsite.db import secrets as db_secrets
from onsite.db import pairing as db_pairing
from onsite.db import server as db_server
from onsite.db import versions as db_versions
from onsite.failover import firewall
from onsite.filesync import render as fs_render
from onsite.core import appspec, messages
from onsite.host import rpmdb
from onsite.host import services
from onsite.core import state
from onsite.core import tty
from onsite.core.errors import OnsiteError
from onsite.core.logfile import Log

UNDO_KEYS = ("backups", "created", "created_dirs", "firewall", "before", "app_releases")


# ------------------------------------------------------------------ keepalived

def stop_keepalived(journal, log):
    before = journal.get("before", {}).get("service:keepalived")
    if before is None:
        return []
    done = []
    if services.is_active("keepalived"):
        services.stop("keepalived")
        done.append(messages.text("un-ka-stopped"))
    if not before.get("enabled") and services.is_enabled("keepalived"):
        services.disable("keepalived")
        done.append(messages.text("un-ka-disabled"))
    return done


def restart_previous(journal):
    """Services that ran before us run again, now with the customer's restored files."""
    before = journal.get("before", {}).get("service:keepalived") or {}
    if before.get("active") and not services.is_active("keepalived"):
        services.start("keepalived")
        return [messages.text("un-ka-restarted")]
    return []


# ------------------------------------------------------------------ app and file sync

def our_services(journal):
    """Services install added (the app, the file-sync pair), as journalled before first use."""
    return [key.split(":", 1)[1] for key in sorted(journal.get("before", {}))
            if key.startswith("service:") and key != "service:keepalived"
            and key.split(":", 1)[1] in our_service_names(journal)]


def our_service_names(journal):
    names = {fs_render.AGENT_SERVICE, fs_render.RSYNCD_SERVICE}
    for path in journal.get("created", []):
        if path.startswith(app_unit.UNIT_DIR + "/") and path.endswith(".service"):
            names.add(os.path.basename(path)[:-len(".service")])
    return names


def stop_app(journal, log):
    """Stop (and disable) the app and file sync; remove the app releases we installed. Data
    directories and the app's account stay (named, so nobody wonders)."""
    done = []
    for name in our_services(journal):
        before = journal["before"]["service:" + name]
        if services.is_active(name) and not before.get("active"):
            services.stop(name)
            done.append(messages.text("un-service-stopped", name=name))
        if services.is_enabled(name) and not before.get("enabled"):
            services.disable(name)
    for path in journal.get("app_releases", []):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
            done.append(messages.text("ch-removed-dir", path=path))
        down = appspec.down_file(os.path.dirname(os.path.dirname(path)))
        if os.path.isfile(down):          # written by the unit and keepalived, not by a person
            os.unlink(down)
    for path in journal.get("app_data_dirs", []):
        done.append(messages.text("un-data-kept", path=path))
    for name in journal.get("created_users", []):
        done.append(messages.text("un-user-kept", user=name))
    for line in done:
        log.write(line)
    return done


# ------------------------------------------------------------------ database

def _admin(info):
    installed = db_server.detect_installed()
    if installed is None:
        return None, None
    facts = db_versions.lookup(*installed)
    socket = info.get("socket") or db_paths.socket()
    for password in (db_secrets.get("root_password"), None):
        conn = db_client.Connection("root", password, socket=socket, client=facts.client)
        if conn.ping():
            return facts, conn
    return facts, None


def remove_replication(journal, log):
    """Channel reset, our accounts dropped (not binlogged), drop-in removed, server restarted.
    Never a DROP DATABASE or DELETE: the customer's data and ours stay."""
    info = journal.get("before", {}).get("database")
    if info is None:
        return []
    done = []
    service = info.get("service") or "mariadb"
    if not db_server.server_answers(db_client.Connection("root", None, socket=info.get("socket"))):
        services.start(service)
        time.sleep(1)
    facts, admin = _admin(info)
    if admin is None:
        raise OnsiteError("un-db-unreachable", {"detail": "root login refused or server down"})
    peer = info["peer_address"]
    reset = facts.stop_replica.replace("STOP", "RESET", 1) + " ALL"
    stmts = ["SET SESSION sql_log_bin = 0", facts.stop_replica, reset]
    for user in (db_render.REPL_USER, db_render.SEED_USER):
        if admin.value(db_render.sql_user_exists(user, peer)) not in (None, "0"):
            stmts.append("DROP USER {}".format(db_render.account(user, peer)))
            done.append(messages.text("un-db-account", account="{}@{}".format(user, peer)))
    stmts += db_render.sql_read_only(facts, False)

    try:
        admin.execute(stmts)
    except db_client.DbError as exc:
        raise OnsiteError("un-db-unreachable", {"detail": exc.message.splitlines()[-1]})
    log.write("database: " + "; ".join(s for s in stmts if "PASSWORD" not in s.upper()))
    name = ((journal.get("steps", {}).get("database") or {}).get("plan") or {}).get("name")
    if name:
        try:   # our own pairing bookkeeping (not app data), so a later install pairs afresh
            admin.execute(["SET SESSION sql_log_bin = 0", "DELETE FROM {} WHERE node = {}".format(
                db_pairing.PHASE_TABLE, db_render.quote(name))])
        except db_client.DbError:
            pass
    done.insert(0, messages.text("un-db-channel", peer=peer))
    cnf = info.get("cnf")
    if cnf and os.path.exists(cnf):
        os.unlink(cnf)
        done.append(messages.text("ch-removed", path=cnf))
        services.restart(service)
        db_server.wait_for_login(admin, 60)
        done.append(messages.text("un-db-restarted", service=service))
    return done


def kept_schemas(journal):
    info = (journal.get("steps", {}).get("database") or {}).get("plan") or {}
    return ", ".join(list(info.get("schemas") or []) + [db_render.OWN_SCHEMA])


# ------------------------------------------------------------------ firewall

def remove_firewall(journal, log):
    running = firewall.backend()
    done = [line for line in (firewall.undo(item, running)
                              for item in reversed(journal.get("firewall", []))) if line]
    for line in done:
        log.write(line)
    return done


# ------------------------------------------------------------------ files

def restore_files(journal, log):
    """Originals back from the oldest backup of each file; files we created removed; our
    directories removed when empty. Backups themselves are kept."""
    done = []
    created = journal.get("created", [])
    first = {}
    for entry in journal.get("backups", []):
        first.setdefault(entry["file"], entry)
    for path, entry in sorted(first.items()):
        if path in created:
            continue
        with open(entry["backup"], "rb") as handle:
            data = handle.read()
        mode = entry.get("mode", 0o644)
        state.atomic_write(path, data, mode=mode)
        os.chmod(path, mode)
        if "uid" in entry:
            os.chown(path, entry["uid"], entry["gid"])
        done.append(messages.text("ch-restored", path=path, backup=entry["backup"]))
    for path in created:
        if os.path.lexists(path):
            os.unlink(path)
            done.append(messages.text("ch-removed", path=path))
    for path in sorted(journal.get("created_dirs", []), key=len, reverse=True):
        if os.path.isdir(path) and not os.listdir(path):
            os.rmdir(path)
            done.append(messages.text("ch-removed-dir", path=path))
    for line in done:
        log.write(line)
    return done


def restore_root_files(root, log):
    """Files install wrote inside another rpm root (--root), journalled there: undo and forget."""
    if root in ("/", ""):
        return []
    journal = state.load(root)
    done = restore_files(journal, log)
    for key in ("backups", "created", "created_dirs"):
        journal.pop(key, None)
    state.save(journal, root)
    return done


# ------------------------------------------------------------------ packages

def remove_packages(root, log):
    entry = state.load(root).get("steps", {}).get("install") or {}
    names = entry.get("added") or []
    if not names:
        return []
    code, output = rpmdb.run(["-e"] + names, root, log)
    if code != 0:
        raise OnsiteError("un-rpm-failed", {"log": log.path}, context=rpmdb.explain(output)[:10])
    state.mark("install", "removed", root=root, removed=names, installed=[], added=[])
    return [messages.text("un-rpm-erased", count=len(names), names=", ".join(names))]


# ------------------------------------------------------------------ the command

def forget(journal_before):
    """Clear what was undone from the journal (kept under 'uninstalled' for the record)."""
    journal = state.load()
    journal.setdefault("uninstalled", []).append(
        {"time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
         "undone": {k: journal_before.get(k) for k in UNDO_KEYS if journal_before.get(k)}})
    for key in UNDO_KEYS:
        journal.pop(key, None)
    for name in list(journal.get("steps", {})):
        if name.startswith(("install-", "configure-", "database")) or name in ("site", "pair"):
            del journal["steps"][name]
    state.save(journal)


def has_work(journal, root, remove_packages):
    """True when the journal lists changes to undo (or packages install added, when asked)."""
    in_root = state.load(root) if root not in ("/", "") else {}
    added = (state.load(root).get("steps", {}).get("install") or {}).get("added")
    return any(journal.get(k) for k in UNDO_KEYS) or bool(remove_packages and added) \
        or any(in_root.get(k) for k in ("backups", "created", "created_dirs"))


def uninstall(args):
    """Undo everything in the journal, in order; returns the exit code."""
    root = os.path.abspath(args.root)
    journal = state.load()
    if not has_work(journal, root, args.remove_packages):
        tty.say(messages.text("un-nothing"))
        return 0
    tty.confirm("un-confirm", "un-declined", args.yes)
    log = Log("/", "uninstall")
    steps = [("keepalived", lambda: stop_keepalived(journal, log)),
             ("app", lambda: stop_app(journal, log)),
             ("database", lambda: remove_replication(journal, log)),
             ("firewall", lambda: remove_firewall(journal, log)),
             # el8 dnf module files (host/dnfmodules) are journalled in the rpm root
             ("files", lambda: restore_files(journal, log) + restore_root_files(root, log)),
             ("services", lambda: restart_previous(journal))]
    if args.remove_packages:
        steps.append(("packages", lambda: remove_packages(root, log)))
    count = 0
    try:
        for number, (name, action) in enumerate(steps, 1):
            if name == "packages":
                forget(journal)      # configuration is undone even if rpm refuses below
            tty.say(messages.text("un-step", n=number, total=len(steps), step=name))
            state.mark("uninstall-" + name, "started")
            done = action()
            state.mark("uninstall-" + name, "done", changes=done)
            for line in done:
                tty.say("  " + line)
            count += len(done)
        if not args.remove_packages:
            forget(journal)
        if journal.get("before", {}).get("database"):
            tty.say(messages.text("un-db-kept", schemas=kept_schemas(journal),
                                  secrets=db_secrets.secrets_path()))
    finally:
        log.close()
    tty.say(messages.text("un-done", count=count, log=log.path))
    return 0
