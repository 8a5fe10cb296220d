"""Upgrade this node, or put it back: packages, services, configuration (one node only).

Journalled as ``upgrade`` in state.json before anything changes: the lock it goes to, the
packages it plans to change, the kept RPMs of the builds it replaces, the packages it adds, the
app release it leaves, and where the journal's lists of backups and created files stood. A run
killed at any point is finished by running upgrade again (every step is idempotent; a resumed
run whose packages are not all in place goes back to the packages step). A failed step rolls
back, journalled as its own phase so a rollback cut short is finished by the next run, never
mistaken for progress: ``rpm -U --oldpackage --replacepkgs`` of the kept RPMs, ``rpm -e`` of
the packages the update added, the configuration files written since the mark restored from
their backups (files created since then removed), the app switched back to its previous
release, keepalived started again. A database server that already started on its new version
is not taken back (its data files may no longer suit the older one): its packages stay new.
"""

import os
import shutil

from onsite.core import messages, payload, state
from onsite.core.errors import BAD_INPUT, FAILED, OnsiteError
from onsite.core.tty import say
from onsite.host import rpmdb, services
from onsite.upgrade import base

KEEPALIVED = "keepalived"
FAIL_AT = "HA_UPGRADE_FAIL_AT"          # drills of the way back: "verify", "rollback" (comma-separated)
RESTARTS = {"keepalived": KEEPALIVED}     # package name -> service (the database: from the db step)
UNFINISHED = ("started", "failed", "rollback-failed")


def forced(where):
    """True when HA_UPGRADE_FAIL_AT names this place (tests and bench drill the way back);
    a forced rollback failure happens once: the next run finishes the way back."""
    places = [p.strip() for p in os.environ.get(FAIL_AT, "").split(",") if p.strip()]
    return where in places


def journal_entry():
    return state.load().get("upgrade") or {}


def save_entry(entry):
    journal = state.load()
    journal["upgrade"] = entry
    state.save(journal)


def unfinished(lock_sha):
    """The journal entry of an upgrade to lock_sha that has not ended (None otherwise)."""
    entry = journal_entry()
    if entry.get("to_lock") == lock_sha and entry.get("status") in UNFINISHED:
        return entry
    return None


def begin(lock_sha, lock, have, app_from, db_change, held):
    """The journal entry for an upgrade to lock_sha: the unfinished one, else a new one. Raises
    (nothing changed) when a planned change could not be undone or is a downgrade not asked for."""
    entry = unfinished(lock_sha)
    if entry is not None:
        return entry
    pkgs = base.todo(lock, have)
    allowed, refused = base.downgrades(lock, pkgs, have)
    if refused:
        raise OnsiteError("upgrade-downgrade-refused", {"count": len(refused)}, context=refused[:10],
                          exit_code=BAD_INPUT)
    replaced, added, missing = base.way_back(lock, pkgs, have)
    if missing:
        raise OnsiteError("upgrade-no-way-back", {"count": len(missing), "dir": base.KEEP_DIR},
                          context=missing[:10], exit_code=FAILED)
    journal = state.load()
    entry = {"to_lock": lock_sha, "from_lock": (journal.get("installed_lock") or {}).get("sha256"),
             "status": "started", "phase": "packages", "planned": [payload.nevra(p) for p in pkgs],
             "downgrades": allowed, "replaced": replaced, "added": added, "app_from": app_from,
             "db_change": list(db_change) if db_change else None, "db_started_new": False,
             "keepalived_held": bool(held),
             "backups_mark": len(journal.get("backups") or []), "created_mark": len(journal.get("created") or [])}
    save_entry(entry)
    return entry


def set_phase(entry, phase, **extra):
    entry.update(extra, phase=phase)
    save_entry(entry)


def install_packages(entry, lock, root, log):
    """rpm -U --test, then rpm -U of what is still to do (--oldpackage only for the downgrades the
    update lists); the new RPMs are kept for the next way back."""
    pkgs = base.todo(lock, rpmdb.installed(root))
    if not pkgs:
        return
    files = [os.path.join(payload.payload_dir(), p["filename"]) for p in pkgs]
    missing = [f for f in files if not os.path.isfile(f)]
    if missing:
        raise OnsiteError("payload-rpm-missing", {"count": len(missing)}, context=missing[:10])
    flags = ["-U", "--oldpackage"] if entry.get("downgrades") else ["-U"]
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


def _kept_database(entry):
    """The database server's family stays on its new build once that server has started."""
    change = entry.get("db_change")
    if not change or not entry.get("db_started_new"):
        return lambda name: False
    return lambda name: base.in_db_family(change[0], name)


def _undo_packages(entry, root, log):
    stays = _kept_database(entry)
    replaced = [p for p in entry.get("replaced") or [] if not stays(os.path.basename(p))]
    if replaced:
        code, output = rpmdb.run(["-U", "--oldpackage", "--replacepkgs"] + replaced, root, log)
        if code != 0:
            raise OnsiteError("upgrade-rollback-failed", {"log": log.path}, context=rpmdb.explain(output)[:10])
    have = rpmdb.installed(root)
    erase = ["{}-{}.{}".format(a["name"], base.evr_text(a["evr"]), a["arch"]) for a in entry.get("added") or []
             if not stays(a["name"]) and base.has_exactly(have, a["name"], a["arch"], tuple(a["evr"]))]
    if erase:
        code, output = rpmdb.run(["-e", "--nodeps"] + erase, root, log)
        if code != 0:
            raise OnsiteError("upgrade-rollback-failed", {"log": log.path}, context=rpmdb.explain(output)[:10])
    if entry.get("db_started_new"):
        say("  " + messages.text("upgrade-db-stays", package=entry["db_change"][0], version=entry["db_change"][2]))


def roll_back(entry, root, app, db_service):
    """Put this node back on the builds and configuration it had (see the module docstring).
    Journalled first: a rollback cut short is finished by the next run."""
    from onsite.core.logfile import Log

    set_phase(entry, "rolling-back", status="started")
    say(messages.text("upgrade-rolling-back"))
    log = Log(root, "upgrade-rollback")
    try:
        _undo_packages(entry, root, log)
        if forced("rollback"):
            raise OnsiteError("upgrade-forced-failure", exit_code=FAILED)
        restored = _restore_files(entry)
        for path in restored:
            say("  " + messages.text("upgrade-restored", path=path))
        services.daemon_reload()
        if app is not None and entry.get("app_from"):
            from onsite.app import release
            if release.current_version(app["prefix"]) != entry["app_from"]:
                release.switch(app["prefix"], entry["app_from"])
            services.restart(app["name"])
        restart([KEEPALIVED])
        if db_service and any("my.cnf" in p for p in restored):
            restart([db_service])
            align_database_role()
        if not services.is_active(KEEPALIVED):
            services.start(KEEPALIVED)      # this node is back as it was: it may stand by again
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        set_phase(entry, "rolling-back", status="rollback-failed")
        if isinstance(exc, OnsiteError) and exc.reference == "upgrade-rollback-failed":
            raise
        raise OnsiteError("upgrade-rollback-failed", {"log": log.path}, context=[str(exc)[:200]])
    finally:
        log.close()
    set_phase(entry, "rolled-back", status="rolled-back")
