"""Upgrade this node, or put it back: packages, configuration, services (one node only).

Journalled as ``upgrade`` in state.json before anything changes: the lock it goes to, the
kept RPMs of the builds it replaces, the packages it adds, the app release it leaves, and
where the journal's lists of backups and created files stood. A run killed at any point is
finished by running upgrade again (every step is idempotent); a failed step rolls back:
``rpm -U --oldpackage`` of the kept RPMs, ``rpm -e`` of the added packages, the configuration
files written since the mark restored from their backups (files created since then removed),
the app switched back to its previous release, the services restarted.
"""

import os
import shutil

from onsite.core import messages, payload, state
from onsite.core.errors import FAILED, OnsiteError
from onsite.core.logfile import Log
from onsite.core.tty import say
from onsite.host import rpmdb, services
from onsite.upgrade import base

KEEPALIVED = "keepalived"
RESTARTS = {"keepalived": KEEPALIVED}     # package name -> service (the database: from the db step)


def journal_entry():
    return state.load().get("upgrade") or {}


def save_entry(entry):
    journal = state.load()
    journal["upgrade"] = entry
    state.save(journal)


def begin(lock_sha, lock, have, pkgs, app_from, db_change):
    """The journal entry for an upgrade to lock_sha (kept if one to the same lock is under way)."""
    entry = journal_entry()
    if entry.get("to_lock") == lock_sha and entry.get("status") in ("started", "failed"):
        return entry
    replaced, added, missing = base.way_back(lock, pkgs, have)
    if missing:
        raise OnsiteError("upgrade-no-way-back", {"count": len(missing), "dir": base.KEEP_DIR},
                          context=missing[:10], exit_code=FAILED)
    journal = state.load()
    entry = {"to_lock": lock_sha, "from_lock": (journal.get("installed_lock") or {}).get("sha256"),
             "status": "started", "phase": "packages", "replaced": replaced, "added": added,
             "app_from": app_from, "db_change": list(db_change) if db_change else None,
             "backups_mark": len(journal.get("backups") or []), "created_mark": len(journal.get("created") or [])}
    save_entry(entry)
    return entry


def set_phase(entry, phase, **extra):
    entry.update(extra, phase=phase)
    save_entry(entry)


def install_packages(lock, root, log):
    """rpm -U --test, then rpm -U (--oldpackage for an allowed downgrade) of what is still to do;
    the new RPMs are kept for the next way back. Returns the NEVRAs installed."""
    have = rpmdb.installed(root)
    pkgs = base.todo(lock, have)
    if not pkgs:
        return []
    files = [os.path.join(payload.payload_dir(), p["filename"]) for p in pkgs]
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise OnsiteError("payload-rpm-missing", {"count": len(missing)}, context=missing[:10])
    flags = ["-U", "--oldpackage"]
    code, output = rpmdb.run(flags + ["--test"] + files, root, log)
    if code != 0:
        raise OnsiteError("upgrade-rpm-test", {"log": log.path}, context=rpmdb.explain(output)[:10],
                          exit_code=FAILED)
    code, output = rpmdb.run(flags + files, root, log)
    if code != 0:
        raise OnsiteError("upgrade-rpm-failed", {"log": log.path}, context=rpmdb.explain(output)[:10],
                          exit_code=FAILED)
    still = base.todo(lock, rpmdb.installed(root))
    if still:
        raise OnsiteError("install-missing-after", {"count": len(still), "log": log.path},
                          context=[payload.nevra(p) for p in still[:10]])
    base.keep(files)
    return [payload.nevra(p) for p in pkgs]


def services_for(nevras, db_service):
    """The services an upgrade of these packages means restarting."""
    out = []
    for nevra in nevras:
        for name, service in list(RESTARTS.items()) + [(n, db_service) for n in base.DB_SERVERS]:
            if service and nevra.startswith(name + "-") and service not in out:
                out.append(service)
    return out


def restart(names):
    for name in names:
        if services.is_active(name):
            services.restart(name)
            say("  " + messages.text("upgrade-restarted", service=name))


def align_database_role():
    """A restarted server reads read_only from its cnf: set it again for this node's VRRP state."""
    from onsite.db import status as db_status
    from onsite.db import step as db_step

    logins = db_status.logins()
    if logins is not None:
        db_step.align_role(logins.facts, logins.info.get("socket"))


# ------------------------------------------------------------------ the way back

def _restore_files(entry):
    """Configuration files written since the mark back from their backups; files created since
    the mark removed. Returns the paths put back."""
    journal = state.load()
    done = []
    for item in reversed((journal.get("backups") or [])[entry["backups_mark"]:]):
        path, saved = item["file"], item["backup"]
        if path in done or not os.path.isfile(saved):
            continue
        shutil.copyfile(saved, path + ".restore")
        os.chmod(path + ".restore", item.get("mode", 0o644))
        if os.geteuid() == 0:
            os.chown(path + ".restore", item.get("uid", 0), item.get("gid", 0))
        os.rename(path + ".restore", path)
        done.append(path)
    for path in (journal.get("created") or [])[entry["created_mark"]:]:
        if os.path.isfile(path) and not os.path.islink(path) and path not in done:
            os.unlink(path)
            done.append(path)
    return done


def roll_back(entry, root, app, db_service):
    """Put this node back on the builds and configuration it had (see the module docstring)."""
    say(messages.text("upgrade-rolling-back"))
    log = Log(root, "upgrade-rollback")
    try:
        if entry.get("replaced"):
            code, output = rpmdb.run(["-U", "--oldpackage", "--replacepkgs"] + entry["replaced"], root, log)
            if code != 0:
                raise OnsiteError("upgrade-rollback-failed", {"log": log.path}, context=rpmdb.explain(output)[:10])
        have = rpmdb.installed(root)
        added = [n for n in entry.get("added") or [] if any(n.startswith(name + "-") for name, _a in have)]
        if added:
            code, output = rpmdb.run(["-e", "--nodeps"] + added, root, log)
            if code != 0:
                raise OnsiteError("upgrade-rollback-failed", {"log": log.path}, context=rpmdb.explain(output)[:10])
    finally:
        log.close()
    restored = _restore_files(entry)
    for path in restored:
        say("  " + messages.text("upgrade-restored", path=path))
    services.daemon_reload()
    if app is not None and entry.get("app_from"):
        from onsite.app import release
        if release.current_version(app["prefix"]) != entry["app_from"]:
            release.switch(app["prefix"], entry["app_from"])
        services.restart(app["name"])
    again = [KEEPALIVED]
    if db_service and (entry.get("db_change") or any("my.cnf" in p for p in restored)):
        again.append(db_service)
    restart(again)
    if not services.is_active(KEEPALIVED):
        services.start(KEEPALIVED)
    if db_service in again:
        align_database_role()
    set_phase(entry, "rolled-back", status="rolled-back")
