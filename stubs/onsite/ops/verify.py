"""``verify``: prove from this node, end to end, that the pair works. Changes no configuration.

Checks: keepalived runs here; the VIP is held by exactly one node; the app answers through the
VIP; our firewall rules are present; replication runs in both directions (replica threads on
both nodes, a canary row written here reaches the peer, and a recent canary row written by the
peer has arrived here). The only thing it writes is that canary row, in our own ``ha_bundle``
schema (insert-only, replicated like the app schemas).

The peer proves its direction by running verify too (it writes its own canary), so verify waits
up to ``--timeout`` seconds while only peer-side or shared checks fail, then names the side that
is missing. ``run_checks(site, local, ...)`` is the entry point for install.
"""

import time

from onsite.core import checks, messages, payload, state
from onsite.core.checks import FAIL, PASS, WARN, result
from onsite.core.errors import OnsiteError
from onsite.db import canary as db_canary
from onsite.db import nodefacts
from onsite.db import render as db_render
from onsite.db import pairing as db_pairing
from onsite.db import status as db_status
from onsite.db.client import DbError
from onsite.failover import firewall
from onsite.filesync import probe as fs_probe
from onsite.filesync import render as fs_render
from onsite.host import addresses, probes, services, vrrp
from onsite.host import vip as host_vip
from onsite.ops import handshake
from onsite.pair import facts as pair_facts


NAMES = ("keepalived", "vip-holder", "app-via-vip", "firewall", "pair-agrees", "one-writer",
         "replication-here", "replication-peer", "peer-replicates-from-here", "canary-to-peer",
         "canary-from-peer", "file-sync", "files-reach-peer", "file-conflicts")


# --- single checks: each returns one Result and changes nothing (the canary excepted) -------

def check_keepalived(local, root):
    if not services.is_active("keepalived"):
        return result("keepalived", FAIL, messages.text("vf-ka-bad", name=local.me.name),
                      messages.hint("vf-ka-bad"), "here")
    state, _since = vrrp.read_state(root)
    return result("keepalived", PASS, messages.text("vf-ka-ok", state=state or "?"))


def check_vip(site, local):
    vip = site.cluster.vip
    try:
        here, peer, foreign = host_vip.view(vip, local.interface, local.peer.address)
    except OnsiteError as exc:
        return result("vip-holder", FAIL, messages.text("vf-vip-unknown", detail=messages.text(exc.reference)),
                      messages.hint("vf-vip-unknown"), "here")
    if foreign and not here:
        ref, side = "vf-vip-foreign", "both"
    elif here and (peer or foreign):
        ref, side = "vf-vip-both", "both"
    elif here:
        return result("vip-holder", PASS, messages.text("vf-vip-here", vip=vip, name=local.me.name))
    elif peer:
        return result("vip-holder", PASS, messages.text("vf-vip-peer", vip=vip, name=local.peer.name),
                      side="peer")
    else:
        ref, side = "vf-vip-none", "both"
    return result("vip-holder", FAIL, messages.text(ref, vip=vip, macs=", ".join(foreign) or local.peer.name),
                  messages.hint(ref), side)


def check_app(site, local):
    target = probes.app_target(site.app.health_url, site.app.port, site.cluster.vip)
    ok, answer = probes.probe(target)
    if ok:
        return result("app-via-vip", PASS, messages.text("vf-app-ok", target=target, answer=answer))
    return result("app-via-vip", FAIL, messages.text("vf-app-bad", target=target, detail=answer),
                  messages.hint("vf-app-bad"), "both")


def check_firewall(site, local):
    kind = firewall.backend()
    try:
        missing = firewall.missing(site, local, kind)
    except OnsiteError as exc:
        return checks.from_error("firewall", exc)
    if missing:
        text = "\n".join([messages.text("vf-fw-bad", name=local.me.name)] + ["  " + m for m in missing])
        return result("firewall", FAIL, text, messages.hint("vf-fw-bad", name=local.me.name), "here")
    return result("firewall", PASS, messages.text("vf-fw-ok", kind=kind, peer=local.peer.address,
                                                  db_port=site.database.port, app_port=site.app.port))


def _replication(name, logins, conn, source, target, side):
    try:
        status = db_pairing.replica_status(logins.facts, conn)
    except DbError as exc:
        detail = exc.message.strip().splitlines()[-1][:160] if exc.message.strip() else "?"
        if side == "peer":
            return result(name, FAIL, messages.text("vf-peer-db-down", name=target, where=conn.describe(),
                                                    detail=detail),
                          messages.hint("vf-peer-db-down", name=target, port=logins.plan["port"]), "peer")
        return result(name, FAIL, messages.text("vf-local-db-down", where=conn.describe(), detail=detail),
                      messages.hint("vf-local-db-down"), "here")
    problems = db_pairing.health(logins.facts, status)
    if problems:
        # a stopped or connecting thread may be the other node still starting: worth waiting
        return result(name, FAIL, messages.text("vf-repl-bad", source=source, target=target,
                                                detail="; ".join(problems)),
                      messages.hint("vf-repl-bad", target=target), "both")
    return result(name, PASS, messages.text("vf-repl-ok", source=source, target=target,
                                            lag=status.get(logins.facts.col_lag)), side=side)


def check_peer_canary(logins, me, peer, fresh):
    try:
        found = db_canary.recent(logins.local, peer, fresh)
    except DbError as exc:
        return result("canary-from-peer", FAIL, messages.text("vf-local-db-down", where=logins.local.describe(),
                                                              detail=exc.message.strip()[:160]),
                      messages.hint("vf-local-db-down"), "here")
    if found.get("n") not in (None, "0"):
        return result("canary-from-peer", PASS, messages.text("vf-peer-canary-ok", source=peer, target=me,
                                                              when=found.get("newest")), side="peer")
    return result("canary-from-peer", FAIL, messages.text("vf-peer-canary-bad", source=peer, target=me, fresh=fresh),
                  messages.hint("vf-peer-canary-bad", source=peer, target=me), "peer")


def _peer_says(logins, what, call):
    """call() against the peer's database; (value, None) or (None, failing Result)."""
    try:
        return call(), None
    except DbError as exc:
        detail = exc.message.strip().splitlines()[-1][:160] if exc.message.strip() else "?"
        return None, result(what, FAIL, messages.text("vf-peer-db-down", name=logins.plan["peer_name"],
                                                        where=logins.peer.describe(), detail=detail),
                            messages.hint("vf-peer-db-down", name=logins.plan["peer_name"],
                                          port=logins.plan["port"]), "peer")


def check_pair_agrees(site, local, logins):
    """The peer's own installer recorded which site and bundle it runs, and whom it pairs
    with: they must be ours (same VIP, VRID, addresses, secrets, bundle)."""
    theirs, failed = _peer_says(logins, "pair-agrees", lambda: nodefacts.read(logins.peer, local.peer.name))
    if failed:
        return failed
    if theirs is None:
        return result("pair-agrees", FAIL, messages.text("vf-pair-unknown", peer=local.peer.name),
                      messages.hint("vf-pair-unknown", peer=local.peer.name), "peer")
    mine = handshake.installed_facts(site, local)
    lines = handshake.compare(mine, theirs, True, local)
    if lines and _upgrade_between(mine.get("lock_digest"), theirs.get("lock_digest")) \
            and not handshake.compare(dict(mine, lock_digest=theirs.get("lock_digest")), theirs, True, local):
        # only the bundles differ: a rolling upgrade is half done (upgrade finishes it)
        return result("pair-agrees", WARN, messages.text("vf-pair-upgrading", peer=local.peer.name,
                                                         mine=pair_facts.short(mine.get("lock_digest")),
                                                         theirs=pair_facts.short(theirs.get("lock_digest"))),
                      messages.hint("vf-pair-upgrading"), "both")
    if lines:
        text = "\n".join([messages.text("vf-pair-differs", peer=local.peer.name)] + ["  " + l for l in lines])
        return result("pair-agrees", FAIL, text, messages.hint("vf-pair-differs", first=site.nodes[0].name,
                                                               second=site.nodes[1].name), "both")
    return result("pair-agrees", PASS, messages.text("vf-pair-ok", peer=local.peer.name,
                                                     site=pair_facts.short(theirs.get("site_digest")),
                                                     bundle=pair_facts.short(theirs.get("lock_digest"))))


def _upgrade_between(mine, theirs):
    """True when the two bundles are the two ends of one update: the update bundle this runs
    from, or the upgrade this node's journal records (any other difference is a real one)."""
    ends = {mine, theirs}
    lock = None
    try:
        lock = payload.load_lock()
    except OnsiteError:
        pass
    update = (lock or {}).get("update") or {}
    if ends == {pair_facts.lock_digest(), (update.get("from") or {}).get("lock_sha256")}:
        return True
    journal = state.load()
    entry = journal.get("upgrade") or {}
    return entry.get("to_lock") in ends and (journal.get("installed_lock") or {}).get("sha256") in ends


def _writable(conn):
    return conn.value("SELECT @@GLOBAL.read_only") in ("0", "OFF")


def check_one_writer(local, logins):
    """At most one database takes writes: both writable is the split brain the runbook had."""
    try:
        here = _writable(logins.local)
    except DbError as exc:
        return result("one-writer", FAIL, messages.text("vf-local-db-down", where=logins.local.describe(),
                                                        detail=exc.message.strip()[:160]),
                      messages.hint("vf-local-db-down"), "here")
    there, failed = _peer_says(logins, "one-writer", lambda: _writable(logins.peer))
    if failed:
        return failed
    if here and there:
        return result("one-writer", FAIL, messages.text("vf-both-writable", me=local.me.name, peer=local.peer.name),
                      messages.hint("vf-both-writable"), "both")
    writer = local.me.name if here else (local.peer.name if there else "-")
    return result("one-writer", PASS, messages.text("vf-one-writer", writer=writer))


def check_peer_channel(local, logins):
    """The peer's replica channel reads from this node, as our replication user."""
    status, failed = _peer_says(logins, "peer-replicates-from-here",
                                lambda: db_pairing.replica_status(logins.facts, logins.peer))
    if failed:
        return failed
    host_col = logins.facts.col_source_host
    user_col = host_col[:-len("Host")] + "User"
    host, user = (status or {}).get(host_col), (status or {}).get(user_col)
    if host == local.me.address and user == db_render.REPL_USER:
        return result("peer-replicates-from-here", PASS, messages.text(
            "vf-peer-channel-ok", peer=local.peer.name, me=local.me.name, user=user), side="peer")
    return result("peer-replicates-from-here", FAIL, messages.text(
        "vf-peer-channel-bad", peer=local.peer.name, me=local.me.name, address=local.me.address,
        user=db_render.REPL_USER, host=host or "-", their_user=user or "-"),
        messages.hint("vf-peer-channel-bad", peer=local.peer.name), "both")


# --- the whole verify ------------------------------------------------------------------------

def _database_results(site, local, root, fresh, canary):
    """Replication results; canary is a dict carrying the token/outcome across rounds."""
    me, peer = local.me.name, local.peer.name
    logins = db_status.logins(root)
    if logins is None:
        return [result("replication-here", FAIL, messages.text("vf-db-none", name=me),
                       messages.hint("vf-db-none", name=me), "here")]
    out = [check_pair_agrees(site, local, logins), check_one_writer(local, logins),
           _replication("replication-here", logins, logins.local, peer, me, "here"),
           _replication("replication-peer", logins, logins.peer, me, peer, "peer"),
           check_peer_channel(local, logins)]
    if "result" not in canary:
        if "token" not in canary:
            try:
                canary["token"] = db_canary.write(logins.facts, logins.local, me, "verify")
                canary["written"] = time.time()
            except DbError as exc:
                canary["result"] = result("canary-to-peer", FAIL, messages.text(
                    "vf-canary-write", source=me, target=peer, detail=exc.message.strip()[:160]),
                    messages.hint("vf-canary-write", source=me), "here")
        if "token" in canary and db_canary.seen(logins.peer, canary["token"]):
            canary["result"] = result("canary-to-peer", PASS, messages.text(
                "vf-canary-ok", source=me, target=peer, seconds="%.1f" % (time.time() - canary["written"])),
                side="peer")
    if "result" in canary:
        out.append(canary["result"])
    else:
        waited = int(time.time() - canary.get("written", time.time()))
        out.append(result("canary-to-peer", FAIL, messages.text("vf-canary-bad", source=me, target=peer, seconds=waited),
                          messages.hint("vf-canary-bad", target=peer), "peer"))
    out.append(check_peer_canary(logins, me, peer, fresh))
    return out


def _file_results(site, local):
    """File sync (when the bundle's app keeps data): the agent runs, a canary file written in
    the holder's data directory is served by the *other* node's rsync daemon, no conflict copy
    waits for a decision."""
    cfg = fs_probe.load_config()
    if cfg is None:
        return []
    out = []
    data = fs_probe.agent_status()
    receiver = services.is_active(fs_render.RSYNCD_SERVICE)
    if data is None or data["age"] > fs_probe.STALE or not receiver:
        out.append(result("file-sync", FAIL, messages.text("vf-fs-down", name=local.me.name),
                          messages.hint("vf-fs-down"), "here"))
    else:
        out.append(result("file-sync", PASS, messages.text("vf-fs-ok", role=data.get("role") or "?",
                                                           backlog=data.get("backlog", 0))))
    holder_here = addresses.holds(site.cluster.vip)
    ok, seconds, detail = fs_probe.canary(cfg, holder_here)
    source, target = (local.me.name, local.peer.name) if holder_here else (local.peer.name, local.me.name)
    if ok:
        out.append(result("files-reach-peer", PASS, messages.text("vf-fs-canary-ok", source=source, target=target,
                                                                  seconds=round(seconds, 2))))
    else:
        out.append(result("files-reach-peer", FAIL, messages.text("vf-fs-canary-bad", source=source, target=target,
                                                                  detail=detail[-200:]),
                          messages.hint("vf-fs-canary-bad", peer=local.peer.name), "peer"))
    conflicts = fs_probe.live_conflicts(data)
    if conflicts:
        out.append(result("file-conflicts", WARN, messages.text("vf-fs-conflicts", count=len(conflicts),
                                                                first=conflicts[0]["kept_as"]),
                          messages.hint("vf-fs-conflicts", path=conflicts[0]["path"], copy=conflicts[0]["kept_as"])))
    else:
        out.append(result("file-conflicts", PASS, messages.text("vf-fs-no-conflicts")))
    return out


def run_checks(site, local, timeout=60, fresh=300, root="/", out=None):
    """Every verify check, as a list of checks.Result (name, status, text, fix, side).

    Waits up to timeout seconds while the only failures are on the peer's side or shared
    (VIP, app, replication, canaries): the peer may still be configuring. A failure only this
    node can fix (keepalived stopped, firewall rules missing) ends the wait at once.
    out: callable(str) for progress lines (None: silent). Writes one canary row, nothing else.
    """
    deadline = time.time() + max(0, timeout)
    canary = {}
    while True:
        results = [check_keepalived(local, root), check_vip(site, local), check_app(site, local),
                   check_firewall(site, local)]
        results += _database_results(site, local, root, fresh, canary)
        results += _file_results(site, local)
        bad = checks.failed(results)
        left = int(deadline - time.time())
        if not bad or left <= 0 or any(r.side == "here" for r in bad):
            return results
        if out is not None:
            out(messages.text("vf-waiting", what=", ".join(r.name for r in bad), left=left))
        time.sleep(min(2, max(0.2, deadline - time.time())))
