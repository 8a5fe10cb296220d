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

from onsite.core import checks, messages
from onsite.core.checks import FAIL, PASS, result
from onsite.core.errors import OnsiteError
from onsite.db import canary as db_canary
from onsite.db import pairing as db_pairing
from onsite.db import status as db_status
from onsite.db.client import DbError
from onsite.failover import firewall
from onsite.host import probes, services, vrrp
from onsite.host import vip as host_vip


NAMES = ("keepalived", "vip-holder", "app-via-vip", "firewall", "replication-here",
         "replication-peer", "canary-to-peer", "canary-from-peer")


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
        return result("firewall", FAIL, text, messages.hint("vf-fw-bad"), "here")
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


# --- the whole verify ------------------------------------------------------------------------

def _database_results(local, root, fresh, canary):
    """Replication results; canary is a dict carrying the token/outcome across rounds."""
    me, peer = local.me.name, local.peer.name
    logins = db_status.logins(root)
    if logins is None:
        return [result("replication-here", FAIL, messages.text("vf-db-none", name=me),
                       messages.hint("vf-db-none", name=me), "here")]
    out = [_replication("replication-here", logins, logins.local, peer, me, "here"),
           _replication("replication-peer", logins, logins.peer, me, peer, "peer")]
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
        results += _database_results(local, root, fresh, canary)
        bad = checks.failed(results)
        left = int(deadline - time.time())
        if not bad or left <= 0 or any(r.side == "here" for r in bad):
            return results
        if out is not None:
            out(messages.text("vf-waiting", what=", ".join(r.name for r in bad), left=left))
        time.sleep(min(2, max(0.2, deadline - time.time())))
