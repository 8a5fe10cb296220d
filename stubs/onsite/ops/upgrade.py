"""``upgrade``: apply an update (or newer full) bundle to the pair, one node at a time, with
the service up throughout. docs/upgrade.md has the field procedure.

Run it on either node; it does this node's part and says exactly what to run next, where:
1. on the standby (the node without the VIP): check the pair is healthy, upgrade here
   (onsite.upgrade.node: rpm -U --test, rpm -U, re-render, restart only what changed, verify),
   then "run upgrade on <peer>". Run on the VIP holder first, it refuses and names the standby.
2. on the VIP holder, once the peer runs the new bundle: hand the VIP to the peer (drill's
   mechanism: keepalived stopped here), upgrade here, keepalived back as the standby, verify
   the pair.
When the update changes the database server, MySQL forbids replication from the newer server
to the older one, so a step 0 comes first: upgrade on the VIP holder pauses its replica
channel from the standby (the standby takes no writes) and names the standby; the holder's
own upgrade resumes it once both run the same version.
Any failed step rolls this node back (onsite.upgrade.node) while the other node serves.
"""

import os

from onsite.core import messages, payload, state, trust
from onsite.core.checks import FAIL
from onsite.core.errors import BAD_INPUT, FAILED, PEER_NOT_READY, REFUSED, OnsiteError
from onsite.core.logfile import Log
from onsite.core.tty import say
from onsite.db import nodefacts
from onsite.db import pairing as db_pairing
from onsite.db import status as db_status
from onsite.db.client import DbError
from onsite.host import addresses, rpmdb, services, target
from onsite.ops import configure, drill, handshake, install, status, verify
from onsite.pair import facts as pair_facts
from onsite.site import sitefile
from onsite.upgrade import base, node

PAUSE = "upgrade-pause"
# verify's rows that fail, as expected, while the holder's channel from the standby is paused
PAUSED_ROWS = ("replication-peer", "peer-replicates-from-here", "replication-here", "canary-to-peer")
HEALTH_TIMEOUT = 30
PAUSED_TIMEOUT = 5      # the paused rows fail by design: no point waiting for them


def _plan(args):
    site_args = install.with_site(args)
    if site_args is not None:
        return configure.prepare(site_args)
    site = sitefile.from_args_or_state(args)
    local = sitefile.locate(site)
    steps = tuple(configure.Step(name, module, getattr(module, "DEFAULTS", None))
                  for name, module in configure.STEPS.items())
    return configure.Plan(site, local, steps)


def _installed_lock():
    return (state.load().get("installed_lock") or {}).get("sha256")


def peer_lock(local):
    """The bundle lock the peer's installer recorded in its database (None: cannot tell)."""
    logins = db_status.logins()
    if logins is None:
        return None
    try:
        facts = nodefacts.read(logins.peer, local.peer.name)
    except DbError:
        return None
    return (facts or {}).get("lock_digest")


def _app():
    from onsite.app import release
    from onsite.core import appspec

    spec = appspec.bundled()
    if spec is None:
        return None
    site = sitefile.from_state()
    prefix = appspec.install_prefix(spec, site.app.prefix if site else None)
    return {"name": spec.name, "prefix": prefix, "current": release.current_version(prefix)}


def _db_service():
    logins = db_status.logins()
    return logins.facts.service if logins is not None else None


def check_health(site, local, paused=False):
    """verify's checks (a canary from the peer of any age counts: the peer is not asked to run
    verify now); with paused, the rows of the paused channel may fail. Raises when unhealthy."""
    results = verify.run_checks(site, local, timeout=PAUSED_TIMEOUT if paused else HEALTH_TIMEOUT, fresh=10 ** 9,
                                out=None)
    bad = [r for r in results if r.status == FAIL and not (paused and r.name in PAUSED_ROWS)]
    if bad:
        raise OnsiteError("upgrade-pair-unhealthy", {"count": len(bad)},
                          context=["{}: {}".format(r.name, r.text.splitlines()[0]) for r in bad], exit_code=REFUSED)


def _replica(action):
    logins = db_status.logins()
    if logins is None:
        return False
    sql = logins.facts.stop_replica if action == "stop" else logins.facts.start_replica
    logins.local.execute([sql])
    return True


def _record_lock(site, local, lock_sha, lock):
    """This node now runs lock_sha: in the journal, in the facts the peer reads, and the signer."""
    base.record_installed(lock_sha, lock)
    handshake.adopt_bundle(lock_sha)
    handshake.record_here(site, local)
    signer = trust.remember()
    if signer:
        say(messages.text("install-trusts-signer", fingerprint=signer, path=trust.TRUST_DIR))


def one_way(plan):
    """The plan with the database step proving only the channel into this node."""
    return plan._replace(steps=tuple(s._replace(options=s.options._replace(one_way=True)) if s.name == "database"
                                     else s for s in plan.steps))


def _pause_status():
    """'done' while this node's channel from the peer is paused, 'resumed' after; None: never."""
    return (state.load().get("steps", {}).get(PAUSE) or {}).get("status")


def _paused_here():
    return _pause_status() == "done"


def _verify_node(plan, entry, paused_rows):
    """This node's part of the pair works again: keepalived back (after a hand-over: as the
    standby), then verify's checks; any failure here rolls the node back."""
    if node.forced("verify"):                                 # drills of the way back (tests, bench)
        raise OnsiteError("upgrade-forced-failure", exit_code=FAILED)
    if entry.get("keepalived_held"):
        drill.restore(plan.local, 30)
    elif not services.is_active(node.KEEPALIVED):
        raise OnsiteError("upgrade-service-down", {"service": node.KEEPALIVED}, exit_code=FAILED)
    check_health(plan.site, plan.local, paused=paused_rows)


def upgrade_here(plan, lock, lock_sha, root, entry, resume=False, paused_rows=False):
    """This node's upgrade from its journal entry (node.begin), resumable; rolls back on failure
    (then raises). resume: the paused channel from the peer starts again once this node's server
    restarted on the peer's version. paused_rows: verify's rows of a paused channel may fail."""
    app = _app()
    db_service = _db_service()
    if entry["phase"] in ("rolling-back",):
        node.roll_back(entry, root, app, db_service)          # finish a rollback cut short
        raise OnsiteError("upgrade-rolled-back", {"name": plan.local.me.name, "peer": plan.local.peer.name},
                          exit_code=FAILED)
    if entry["phase"] != "packages" and base.todo(lock, rpmdb.installed(root)):
        node.set_phase(entry, "packages")                     # resumed: packages first, again
    state.mark("upgrade-node", "started", to_lock=lock_sha)
    try:
        if entry["phase"] == "packages":
            log = Log(root, "upgrade")
            try:
                say(messages.text("upgrade-packages", count=len(base.todo(lock, rpmdb.installed(root)))))
                node.install_packages(entry, lock, root, log)
            finally:
                log.close()
            node.set_phase(entry, "restart")
        if entry["phase"] == "restart":
            # new binaries first, then configuration: the database step proves replication
            # and sets this node's read_only for its VRRP state after the server restarted
            wanted = node.services_for(entry.get("planned") or [], db_service)
            if entry.get("db_change") and db_service in wanted:
                node.set_phase(entry, "restart", db_started_new=True)
            node.restart(wanted)
            node.set_phase(entry, "configure")
        if resume and _paused_here():
            _replica("start")                 # both servers now run the same version
            state.mark(PAUSE, "resumed")
        if entry["phase"] == "configure":
            say(messages.text("upgrade-configure"))
            configure.check_all(plan)
            for step in plan.steps:
                for line in configure.apply_step(step, plan):
                    say("  " + line)
            node.set_phase(entry, "verify")
        if entry["phase"] == "verify":
            _verify_node(plan, entry, paused_rows)
    except KeyboardInterrupt:
        state.mark("upgrade-node", "failed", to_lock=lock_sha)
        raise                                 # Ctrl-C or a kill: the next run resumes, nothing undone
    except Exception as exc:
        state.mark("upgrade-node", "failed", to_lock=lock_sha)
        reason = exc.reference if isinstance(exc, OnsiteError) else type(exc).__name__
        say(messages.text("upgrade-step-failed", phase=entry.get("phase"), reason=reason))
        node.roll_back(entry, root, app, db_service)
        if resume and _pause_status() == "resumed" and not entry.get("db_started_new"):
            _replica("stop")                  # older here again: no replication from the newer peer
            state.mark(PAUSE, "done")
        raise OnsiteError("upgrade-rolled-back", {"name": plan.local.me.name, "peer": plan.local.peer.name},
                          exit_code=FAILED)
    node.set_phase(entry, "done", status="done")
    state.mark("upgrade-node", "done", to_lock=lock_sha)
    base.rename_added(root, lock, entry.get("added") or [])
    _record_lock(plan.site, plan.local, lock_sha, lock)


def _begin(lock, lock_sha, root, db_change, held):
    have = rpmdb.installed(root)
    app = _app()
    return node.begin(lock_sha, lock, have, app and app["current"], db_change, held)


def upgrade(args):
    """See the module docstring; returns the exit code."""
    root = os.path.abspath(args.root)
    lock = payload.load_lock()
    lock_sha = pair_facts.lock_digest()
    target.check(lock, root)
    journal = state.load()
    if (journal.get("steps", {}).get("install-verify") or {}).get("status") != "done":
        raise OnsiteError("upgrade-not-installed", exit_code=BAD_INPUT)
    plan = _plan(args)
    site, local = plan.site, plan.local
    have = rpmdb.installed(root)
    problems = base.base_problems(lock, have)
    if problems:
        update = lock.get("update") or {}
        raise OnsiteError("upgrade-wrong-base", {
            "wants": pair_facts.short(update.get("from", {}).get("lock_sha256")),
            "has": pair_facts.short(_installed_lock()), "count": len(problems)}, context=problems[:10],
            exit_code=BAD_INPUT)
    entry = node.unfinished(lock_sha)
    db_change = base.db_server_change(lock, have) or (tuple(entry["db_change"]) if entry and entry.get("db_change")
                                                      else None)
    if db_change and base.major_minor(db_change[1]) != base.major_minor(db_change[2]):
        raise OnsiteError("upgrade-db-major", {"package": db_change[0], "old": db_change[1], "new": db_change[2]},
                          exit_code=REFUSED)
    theirs = peer_lock(local)
    if entry is None and _installed_lock() == lock_sha:
        return _already_done(plan, lock, lock_sha, theirs)
    if entry is not None and entry.get("keepalived_held"):
        # a hand-over already happened in a run that did not finish: go on from there
        return _upgrade_holder(plan, lock, lock_sha, root, db_change, theirs, entry)
    holder, _detail = status.vip_holder(site, local)
    if holder == "here":
        return _upgrade_holder(plan, lock, lock_sha, root, db_change, theirs, entry)
    if holder != "peer":
        raise OnsiteError("upgrade-no-holder", {"vip": site.cluster.vip}, exit_code=REFUSED)
    return _upgrade_standby(plan, lock, lock_sha, root, db_change, theirs, entry)


def _already_done(plan, lock, lock_sha, theirs):
    """This node runs the bundle: make sure it is published and standing by, then say what is left."""
    local = plan.local
    if not services.is_active(node.KEEPALIVED):
        services.start(node.KEEPALIVED)
    logins = db_status.logins()
    try:
        mine = nodefacts.read(logins.local, local.me.name) if logins is not None else None
    except DbError:
        mine = None
    if mine is not None and mine.get("lock_digest") != lock_sha:
        _record_lock(plan.site, local, lock_sha, lock)      # a run that ended before publishing
    if theirs == lock_sha:
        check_health(plan.site, local)
        say(messages.text("upgrade-pair-done", name=local.me.name, peer=local.peer.name))
        return 0
    say(messages.text("upgrade-here-done", name=local.me.name))
    say(messages.text("upgrade-next", peer=local.peer.name, address=local.peer.address))
    return 0


def _upgrade_standby(plan, lock, lock_sha, root, db_change, theirs, entry):
    site, local = plan.site, plan.local
    peer_newer = theirs == lock_sha       # the peer already runs the new bundle (e.g. after a failover)
    # while the peer is older, its channel from here must be paused before this server is newer
    one_way_now = bool(db_change) and not peer_newer
    if entry is None:
        check_health(site, local, paused=bool(db_change))
        if one_way_now and _peer_channel_running(local):
            raise OnsiteError("upgrade-pause-first", {"peer": local.peer.name, "name": local.me.name},
                              exit_code=PEER_NOT_READY)
        entry = _begin(lock, lock_sha, root, db_change, held=False)
    say(messages.text("upgrade-standby", name=local.me.name, peer=local.peer.name))
    upgrade_here(one_way(plan) if one_way_now else plan, lock, lock_sha, root, entry,
                 resume=peer_newer and _paused_here(), paused_rows=one_way_now)
    say(messages.text("upgrade-here-done", name=local.me.name))
    if not peer_newer:
        say(messages.text("upgrade-next", peer=local.peer.name, address=local.peer.address))
    else:
        say(messages.text("upgrade-pair-done", name=local.me.name, peer=local.peer.name))
    return 0


def _peer_channel_running(local):
    """True when the peer's replica threads (from this node) still run."""
    logins = db_status.logins()
    if logins is None:
        return False
    try:
        row = db_pairing.replica_status(logins.facts, logins.peer) or {}
    except DbError:
        return True
    return row.get(logins.facts.col_io_running) == "Yes" or row.get(logins.facts.col_sql_running) == "Yes"


def _upgrade_holder(plan, lock, lock_sha, root, db_change, theirs, entry):
    site, local = plan.site, plan.local
    paused = _paused_here()
    if entry is None and theirs != lock_sha:
        if db_change and not paused:
            check_health(site, local)
            state.mark(PAUSE, "started")
            _replica("stop")
            state.mark(PAUSE, "done", reason="{} {} -> {}".format(*db_change))
            say(messages.text("upgrade-paused", peer=local.peer.name, name=local.me.name))
            say(messages.text("upgrade-next", peer=local.peer.name, address=local.peer.address))
            return 0
        raise OnsiteError("upgrade-standby-first", {"peer": local.peer.name, "address": local.peer.address,
                                                    "name": local.me.name}, exit_code=PEER_NOT_READY)
    if entry is None:
        check_health(site, local, paused=paused)
        entry = _begin(lock, lock_sha, root, db_change, held=True)   # journalled before the VIP moves
    if addresses.holds(site.cluster.vip) and services.is_active(node.KEEPALIVED):
        say(messages.text("upgrade-handover", name=local.me.name, peer=local.peer.name))
        outage, _released, mac = drill.fail_over(site, local, 30)
        if outage is None:
            drill.restore(local, 30)
            node.set_phase(entry, "packages", status="rolled-back")
            raise OnsiteError("drill-no-takeover", {"peer": local.peer.name, "seconds": 30})
        say(messages.text("drill-outage", seconds=outage, peer=local.peer.name, mac=mac))
    upgrade_here(plan, lock, lock_sha, root, entry, resume=paused)
    say(messages.text("upgrade-pair-done", name=local.me.name, peer=local.peer.name))
    return 0
