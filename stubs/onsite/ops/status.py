"""status: one screen on how this node and the pair stand. Read-only.

Sections (SECTIONS, in order): bundle version, packages, node and role, VIP holder, keepalived,
app health, database replication (onsite.db.status), last failover (keepalived notify log),
installer steps. Each section function takes the Context and what the sections before it found
and returns (data, text): ``--json`` prints the data, the screen prints the text. A section that
does not apply returns (None, None); one that fails to read something says so in its own line
and never stops the others.
"""

import collections
import hashlib
import json
import os
import time

from onsite import __version__
from onsite.core import messages, payload, state
from onsite.core.errors import OnsiteError
from onsite.db import nodefacts
from onsite.db import status as db_status
from onsite.db.client import DbError
from onsite.pair import facts as pair_facts
from onsite.filesync import probe as fs_probe
from onsite.filesync import render as fs_render
from onsite.host import probes, rpmdb, services, vrrp
from onsite.host import vip as host_vip
from onsite.site import sitefile as site_mod

Context = collections.namedtuple("Context", "root lock show_secrets site local site_error")


def _lock_digest(lock):
    """The same digest the builder prints (builder/lock.py lock_digest)."""
    return hashlib.sha256(json.dumps(lock, sort_keys=True).encode("utf-8")).hexdigest()


def sec_bundle(ctx, found):
    lock = ctx.lock
    if lock is None:
        return {"onsite": __version__}, messages.text("st-bundle-none", version=__version__)
    created = lock.get("created")
    built = time.strftime("%Y-%m-%d", time.gmtime(created)) if isinstance(created, int) else "?"
    data = {"onsite": __version__, "target": (lock.get("target") or {}).get("name", "?"),
            "packages": len(payload.locked_packages(lock)), "lock_sha256": _lock_digest(lock), "built": built}
    return data, messages.text("st-bundle", target=data["target"], total=data["packages"],
                               digest=data["lock_sha256"][:12], built=built, version=__version__)


def sec_installed(ctx, found):
    """Which bundle lock this host runs (install or upgrade recorded it) and any upgrade under way."""
    journal = state.load(ctx.root)
    have = journal.get("installed_lock") or {}
    entry = journal.get("upgrade") or {}
    if not have and not entry:
        return None, None
    data = {"lock_sha256": have.get("sha256"), "app_version": have.get("app_version"),
            "upgrade": {k: entry.get(k) for k in ("to_lock", "status", "phase")} if entry else None}
    text = messages.text("st-installed", digest=(have.get("sha256") or "?")[:12], app=have.get("app_version") or "-")
    if entry and entry.get("status") != "done":
        text += "\n" + messages.text("st-upgrade", digest=(entry.get("to_lock") or "?")[:12],
                                      status=entry.get("status") or "?", phase=entry.get("phase") or "?")
    return data, text


def sec_packages(ctx, found):
    lock = ctx.lock
    if lock is None:
        return None, None
    pkgs = payload.locked_packages(lock)
    try:
        have = rpmdb.installed(ctx.root)
    except OnsiteError as exc:
        return {"error": exc.reference}, messages.text(exc.reference, **exc.params)
    count = sum(1 for p in pkgs if rpmdb.satisfied(p, have))
    return {"installed": count, "total": len(pkgs)}, messages.text("st-packages", have=count, total=len(pkgs))


def sec_node(ctx, found):
    local = ctx.local
    if local is None:
        return None, messages.text("st-no-site") if ctx.site_error is None else \
            messages.text(ctx.site_error.reference, **ctx.site_error.params)
    state_now, _since = vrrp.read_state(ctx.root)
    role = {"MASTER": "active", "BACKUP": "standby", "FAULT": "fault"}.get(state_now, "unknown")
    data = {"name": local.me.name, "address": local.me.address, "peer": local.peer.name,
            "peer_address": local.peer.address, "role": role}
    return data, messages.text("st-node", name=local.me.name, address=local.me.address,
                               role=messages.text("st-role-" + role), peer_name=local.peer.name,
                               peer=local.peer.address)


def sec_pair(ctx, found):
    """Which site and bundle each node runs (site digests), the peer asked through its
    database; an unreachable peer is said, and the rest of status goes on."""
    if ctx.local is None:
        return None, None
    agreed = state.load(ctx.root).get("steps", {}).get("pair") or {}
    here = {"site_digest": agreed.get("site_digest"), "lock_digest": agreed.get("lock_digest")}
    data = {ctx.local.me.name: here}
    logins = db_status.logins(ctx.root)
    peer_name = ctx.local.peer.name
    if logins is None:
        theirs, error = None, messages.text("st-pair-peer-unasked")
    else:
        try:
            theirs, error = nodefacts.read(logins.peer, peer_name), None
        except DbError as exc:
            theirs = None
            error = messages.text("st-pair-peer-unreachable", detail=exc.message.strip().splitlines()[-1][:120]
                                  if exc.message.strip() else "?")
    if theirs is not None:
        data[peer_name] = {"site_digest": theirs.get("site_digest"), "lock_digest": theirs.get("lock_digest")}
        if here["site_digest"] is None:      # configured without install's handshake
            data["agree"] = None
            verdict = messages.text("st-pair-unknown-here")
        else:
            data["agree"] = data[peer_name] == here
            verdict = messages.text("st-pair-same" if data["agree"] else "st-pair-different")
    else:
        data[peer_name] = {"error": error or messages.text("st-pair-peer-none")}
        data["agree"] = None
        verdict = data[peer_name]["error"]
    return data, messages.text("st-pair", me=ctx.local.me.name, site=pair_facts.short(here["site_digest"]),
                               bundle=pair_facts.short(here["lock_digest"]), peer=peer_name,
                               peer_site=pair_facts.short((theirs or {}).get("site_digest")),
                               peer_bundle=pair_facts.short((theirs or {}).get("lock_digest")), verdict=verdict)


def vip_holder(site, local):
    """'here', 'peer', 'none', 'split' or 'unknown', with a detail string."""
    try:
        seen = host_vip.view(site.cluster.vip, local.interface, local.peer.address)
    except OnsiteError as exc:
        return "unknown", messages.text(exc.reference)
    holder = host_vip.holder(seen)
    if holder == "split":
        return holder, ", ".join(([messages.text("st-holder-this-node")] if seen.here else [])
                                 + ([messages.text("st-holder-peer")] if seen.peer else [])
                                 + seen.foreign)
    return holder, {"here": local.me.name, "peer": local.peer.name}.get(holder, "")


def sec_vip(ctx, found):
    if ctx.local is None:
        return None, None
    site, local = ctx.site, ctx.local
    holder, detail = vip_holder(site, local)
    text = {"here": lambda: messages.text("st-vip-here", name=local.me.name),
            "peer": lambda: messages.text("st-vip-peer", name=local.peer.name),
            "none": lambda: messages.text("st-vip-none"),
            "split": lambda: messages.text("st-vip-split", detail=detail),
            "unknown": lambda: messages.text("st-vip-unknown", detail=detail)}[holder]()
    name = {"here": local.me.name, "peer": local.peer.name}.get(holder)
    return ({"address": site.cluster.vip, "holder": holder, "holder_name": name, "detail": detail},
            messages.text("st-vip", vip=site.cluster.vip, holder=text))


def sec_keepalived(ctx, found):
    if ctx.local is None:
        return None, None
    running = services.is_active("keepalived")
    state_now, since = vrrp.read_state(ctx.root)
    return ({"running": running, "state": state_now, "since": since},
            messages.text("st-keepalived", running=messages.text("st-running" if running else "st-stopped"),
                          state=state_now or "?", since=since or "?"))


def sec_app(ctx, found):
    if ctx.local is None:
        return None, None
    site = ctx.site
    local_target = probes.app_target(site.app.health_url, site.app.port)
    ok_here, here = probes.probe(local_target, timeout=2.0)
    via_target = probes.app_target(site.app.health_url, site.app.port, site.cluster.vip)
    ok_via, via = probes.probe(via_target, timeout=2.0)
    fmt = lambda ok, what, target: "{} ({}: {})".format("OK" if ok else "FAILED", target, what)  # noqa: E731
    return ({"here": {"ok": ok_here, "target": local_target, "answer": here},
             "via_vip": {"ok": ok_via, "target": via_target, "answer": via}},
            messages.text("st-app", here=fmt(ok_here, here, local_target), via=fmt(ok_via, via, via_target)))


def sec_files(ctx, found):
    """File sync: this node's agent (role, backlog, lag, last push, conflict copies)."""
    if ctx.local is None or fs_probe.load_config() is None:
        return None, None
    data = fs_probe.agent_status()
    if data is None or data["age"] > fs_probe.STALE:
        age = "?" if data is None else data["age"]
        return {"running": False, "age": age}, messages.text("st-files-down", age=age, log=fs_render.LOG_PATH)
    conflicts = fs_probe.live_conflicts(data)
    last = data.get("last_push")
    out = {"running": True, "role": data.get("role"), "backlog": data.get("backlog", 0),
           "lag_seconds": data.get("lag_seconds", 0.0), "last_push": last,
           "last_push_seconds": data.get("last_push_seconds"), "last_error": data.get("last_error"),
           "conflicts": conflicts}
    return out, messages.text("st-files", role=data.get("role") or "?", backlog=out["backlog"],
                              lag=out["lag_seconds"],
                              last="-" if not last else "{:.0f} s ago".format(time.time() - last),
                              conflicts=len(conflicts), log=fs_render.LOG_PATH)


def sec_database(ctx, found):
    holder = (found.get("vip") or {}).get("holder")
    try:
        rows = db_status.collect(ctx.root, vip_holder=holder if holder in ("here", "peer", "none") else None)
    except Exception as exc:     # status must print the rest even when the database is odd
        return {"error": str(exc)}, "database: " + str(exc)
    if rows is None:
        return None, db_status.not_configured_line(ctx.root)
    text = db_status.render(rows)
    if ctx.show_secrets:
        text += "\n" + db_status.render_secrets(ctx.root)
    return rows, text


def sec_failover(ctx, found):
    if ctx.local is None:
        return None, None
    last = vrrp.last_change(ctx.root)
    log = vrrp.NOTIFY_LOG
    if last is None:
        return {"log": log}, messages.text("st-failover-none", log=log)
    last["log"] = log
    return last, messages.text("st-failover", state=last["state"], time=last["time"], log=log)


def sec_steps(ctx, found):
    steps = state.load(ctx.root).get("steps") or {}
    if not steps:
        return {}, messages.text("st-no-state")
    data = dict((name, {"status": e.get("status"), "time": e.get("time")}) for name, e in steps.items())
    return data, "\n".join(messages.text("st-step", step=name, status=entry.get("status"), time=entry.get("time"))
                           for name, entry in sorted(steps.items()))


SECTIONS = [("bundle", sec_bundle), ("installed", sec_installed), ("packages", sec_packages), ("node", sec_node), ("pair", sec_pair),
            ("vip", sec_vip),
            ("keepalived", sec_keepalived), ("app", sec_app), ("files", sec_files), ("replication", sec_database),
            ("last_failover", sec_failover), ("steps", sec_steps)]


def context(args):
    """The Context: where to look, the bundle's lock and the site (each may be missing)."""
    root = os.path.abspath(getattr(args, "root", "/") or "/")
    try:
        lock = payload.load_lock()
    except OnsiteError:
        lock = None  # status also works from an installed host without the payload
    site = local = site_error = None
    try:
        site = site_mod.from_args_or_state(args, root)
        local = site_mod.locate(site)
    except OnsiteError as exc:
        if exc.reference != "site-needed":
            site_error = exc
    return Context(root, lock, bool(getattr(args, "show_secrets", False)), site, local, site_error)


def gather(ctx):
    """[(name, data, text)] for every section, in screen order."""
    out = []
    found = {}
    for name, make in SECTIONS:
        data, text = make(ctx, found)
        found[name] = data
        out.append((name, data, text))
    return out


def as_json(sections):
    return json.dumps(collections.OrderedDict((name, data) for name, data, _text in sections
                                              if data is not None), indent=2, ensure_ascii=False)
