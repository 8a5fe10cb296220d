"""``status``: one screen on how this node and the pair stand. Read-only.

Sections (SECTIONS, in order): bundle version, packages, node and role, VIP holder, keepalived,
app health, database replication (onsite.db_status), last failover (keepalived notify log),
installer steps. Each section function returns (data, text): ``--json`` prints the data, the
screen prints the text. A section that does not apply returns (None, None); one that fails to
read something says so in its own line and never stops the others.
"""

import collections
import hashlib
import json
import os
import sys

from onsite.db import status as db_status
from onsite.failover import keepalived
from onsite.core import messages
from onsite.core import payload
from onsite.host import rpmdb
from onsite.site import sitefile as site_mod
from onsite.core import state
from onsite import __version__
from onsite.core.errors import OnsiteError

messages.register({
    "st-bundle": {"en": ("bundle: {target}, {total} packages, lock {digest}, built {built} (onsite {version})", ""),
                  "zh_CN": ("安装包: {target}, {total} 个软件包, lock {digest}, 构建于 {built} (onsite {version})", "")},
    "st-bundle-none": {"en": ("bundle: not at hand (onsite {version}); run status from the installer file for its version", ""),
                       "zh_CN": ("安装包: 不在本机 (onsite {version}); 请用安装文件运行 status 查看其版本", "")},
    "st-packages": {"en": ("packages: {have} of {total} installed (same or newer version)", ""),
                    "zh_CN": ("软件包: 已安装 {have}/{total} 个 (相同或更新版本)", "")},
    "st-no-state": {"en": ("nothing recorded yet: the installer has not run on this host", ""),
                    "zh_CN": ("尚无记录: 本机尚未运行过安装程序", "")},
    "st-step": {"en": ("step {step}: {status} at {time}", ""),
                "zh_CN": ("步骤 {step}: {status}, 时间 {time}", "")},
    "st-no-site": {"en": ("cluster: not configured on this host yet (run configure, or give --site)", ""),
                   "zh_CN": ("集群: 本机尚未配置 (请运行 configure, 或指定 --site)", "")},
    "st-node": {"en": ("node: {name} ({address}), role {role}; peer {peer_name} ({peer})", ""),
                "zh_CN": ("节点: {name} ({address}), 角色 {role}; 对端 {peer_name} ({peer})", "")},
    "st-role-active": {"en": ("active", ""), "zh_CN": ("主用", "")},
    "st-role-standby": {"en": ("standby", ""), "zh_CN": ("备用", "")},
    "st-role-fault": {"en": ("FAULT (gave up the VIP: its app check fails)", ""),
                      "zh_CN": ("故障 (已让出 VIP: 应用检查失败)", "")},
    "st-role-unknown": {"en": ("unknown", ""), "zh_CN": ("未知", "")},
    "st-vip": {"en": ("VIP {vip}: {holder}", ""), "zh_CN": ("VIP {vip}: {holder}", "")},
    "st-vip-here": {"en": ("held by this node ({name})", ""), "zh_CN": ("由本节点 ({name}) 持有", "")},
    "st-vip-peer": {"en": ("held by the peer ({name})", ""), "zh_CN": ("由对端 ({name}) 持有", "")},
    "st-vip-none": {"en": ("held by NO node: the service is down", ""), "zh_CN": ("没有节点持有: 服务中断", "")},
    "st-vip-split": {"en": ("held by MORE than one node ({detail}): split brain", ""),
                     "zh_CN": ("被多个节点持有 ({detail}): 脑裂", "")},
    "st-vip-unknown": {"en": ("unknown ({detail})", ""), "zh_CN": ("未知 ({detail})", "")},
    "st-keepalived": {"en": ("keepalived: {running}, VRRP state {state} since {since}", ""),
                      "zh_CN": ("keepalived: {running}, VRRP 状态 {state}, 自 {since}", "")},
    "st-running": {"en": ("running", ""), "zh_CN": ("运行中", "")},
    "st-stopped": {"en": ("NOT running", ""), "zh_CN": ("未运行", "")},
    "st-app": {"en": ("app: here {here}; through the VIP {via}", ""),
               "zh_CN": ("应用: 本机 {here}; 经 VIP {via}", "")},
    "st-failover": {"en": ("last failover: this node became {state} at {time} (log {log})", ""),
                    "zh_CN": ("最近一次切换: 本节点于 {time} 变为 {state} (日志 {log})", "")},
    "st-failover-none": {"en": ("last failover: none recorded in {log}", ""),
                         "zh_CN": ("最近一次切换: {log} 中没有记录", "")},
})


def add_arguments(parser):
    parser.add_argument("--root", default="/", help="report on this rpm root instead of / (tests, chroots)")
    parser.add_argument("--show-secrets", action="store_true",
                        help="also print the generated passwords (never paste them into tickets)")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    site_mod.add_arguments(parser)


def _lock_digest(lock):
    """The same digest the builder prints (builder/lock.py lock_digest)."""
    return hashlib.sha256(json.dumps(lock, sort_keys=True).encode("utf-8")).hexdigest()


def sec_bundle(ctx):
    lock = ctx["lock"]
    if lock is None:
        return {"onsite": __version__}, messages.text("st-bundle-none", version=__version__)
    import time
    created = lock.get("created")
    built = time.strftime("%Y-%m-%d", time.gmtime(created)) if isinstance(created, int) else "?"
    data = {"onsite": __version__, "target": (lock.get("target") or {}).get("name", "?"),
            "packages": len(payload.locked_packages(lock)), "lock_sha256": _lock_digest(lock), "built": built}
    return data, messages.text("st-bundle", target=data["target"], total=data["packages"],
                               digest=data["lock_sha256"][:12], built=built, version=__version__)


def sec_packages(ctx):
    lock = ctx["lock"]
    if lock is None:
        return None, None
    pkgs = payload.locked_packages(lock)
    try:
        have = rpmdb.installed(ctx["root"])
    except OnsiteError as exc:
        return {"error": exc.reference}, messages.text(exc.reference, **exc.params)
    count = sum(1 for p in pkgs if rpmdb.satisfied(p, have))
    return {"installed": count, "total": len(pkgs)}, messages.text("st-packages", have=count, total=len(pkgs))


def _vrrp_state(root):
    try:
        with open(os.path.join(root, keepalived.STATE_FILE.lstrip("/"))) as handle:
            fields = handle.read().split()
        return fields[0], (fields[1] if len(fields) > 1 else "?")
    except (OSError, IndexError):
        return None, None


def sec_node(ctx):
    local = ctx["local"]
    if local is None:
        return None, messages.text("st-no-site") if ctx["site_error"] is None else \
            messages.text(ctx["site_error"].reference, **ctx["site_error"].params)
    vrrp, _since = _vrrp_state(ctx["root"])
    role = {"MASTER": "active", "BACKUP": "standby", "FAULT": "fault"}.get(vrrp, "unknown")
    data = {"name": local.me.name, "address": local.me.address, "peer": local.peer.name,
            "peer_address": local.peer.address, "role": role}
    return data, messages.text("st-node", name=local.me.name, address=local.me.address,
                               role=messages.text("st-role-" + role), peer_name=local.peer.name,
                               peer=local.peer.address)


def vip_holder(site, local):
    """'here', 'peer', 'none', 'split' or 'unknown', with a detail string."""
    from onsite.host import arp as arpcheck
    vip = site.cluster.vip
    here = vip in [a[1] for a in site_mod.host_addresses()]
    try:
        here, peer, foreign = arpcheck.vip_view(local.interface, vip, local.peer.address, here)
    except OnsiteError as exc:
        return "unknown", messages.text(exc.reference)
    holders = (["this node"] if here else []) + (["peer"] if peer else []) + foreign
    if len(holders) > 1:
        return "split", ", ".join(holders)
    if here:
        return "here", local.me.name
    if peer:
        return "peer", local.peer.name
    if foreign:
        return "split", ", ".join(foreign)
    return "none", ""


def sec_vip(ctx):
    if ctx["local"] is None:
        return None, None
    site, local = ctx["site"], ctx["local"]
    holder, detail = vip_holder(site, local)
    ctx["vip_holder"] = holder
    text = {"here": lambda: messages.text("st-vip-here", name=local.me.name),
            "peer": lambda: messages.text("st-vip-peer", name=local.peer.name),
            "none": lambda: messages.text("st-vip-none"),
            "split": lambda: messages.text("st-vip-split", detail=detail),
            "unknown": lambda: messages.text("st-vip-unknown", detail=detail)}[holder]()
    name = {"here": local.me.name, "peer": local.peer.name}.get(holder)
    return ({"address": site.cluster.vip, "holder": holder, "holder_name": name, "detail": detail},
            messages.text("st-vip", vip=site.cluster.vip, holder=text))


def sec_keepalived(ctx):
    if ctx["local"] is None:
        return None, None
    from onsite.host import services
    running = services.is_active("keepalived")
    vrrp, since = _vrrp_state(ctx["root"])
    return ({"running": running, "state": vrrp, "since": since},
            messages.text("st-keepalived", running=messages.text("st-running" if running else "st-stopped"),
                          state=vrrp or "?", since=since or "?"))


def sec_app(ctx):
    if ctx["local"] is None:
        return None, None
    from onsite.ops import verify as cmd_verify
    site = ctx["site"]
    local_target = site.app.health_url or "tcp://127.0.0.1:{}".format(site.app.port)
    ok_here, here = cmd_verify.probe_app(local_target, timeout=2.0)
    via_target = cmd_verify.app_target(site)
    ok_via, via = cmd_verify.probe_app(via_target, timeout=2.0)
    fmt = lambda ok, what, target: "{} ({}: {})".format("OK" if ok else "FAILED", target, what)  # noqa: E731
    return ({"here": {"ok": ok_here, "target": local_target, "answer": here},
             "via_vip": {"ok": ok_via, "target": via_target, "answer": via}},
            messages.text("st-app", here=fmt(ok_here, here, local_target), via=fmt(ok_via, via, via_target)))


def sec_database(ctx):
    holder = ctx.get("vip_holder")
    try:
        rows = db_status.collect(ctx["root"], vip_holder=holder if holder in ("here", "peer", "none") else None)
    except Exception as exc:     # status must print the rest even when the database is odd
        return {"error": str(exc)}, "database: " + str(exc)
    if rows is None:
        return None, db_status.status_line(ctx)
    text = db_status.render(rows)
    if ctx.get("show_secrets"):
        text += "\n" + db_status.render_secrets(ctx["root"])
    return rows, text


def last_failover(root):
    """(state, time) of the last line of the keepalived notify log, or None."""
    path = os.path.join(root, keepalived.NOTIFY_LOG.lstrip("/"))
    try:
        with open(path) as handle:
            lines = [l.split() for l in handle.read().splitlines() if l.strip()]
    except OSError:
        return None
    changes = [l for l in lines if len(l) >= 2 and l[1] in ("MASTER", "BACKUP", "FAULT", "STOP")]
    if not changes:
        return None
    last = changes[-1]
    return {"state": last[1], "time": last[0], "changes": len(changes)}


def sec_failover(ctx):
    if ctx["local"] is None:
        return None, None
    found = last_failover(ctx["root"])
    log = keepalived.NOTIFY_LOG
    if found is None:
        return {"log": log}, messages.text("st-failover-none", log=log)
    found["log"] = log
    return found, messages.text("st-failover", state=found["state"], time=found["time"], log=log)


def sec_steps(ctx):
    steps = state.load(ctx["root"]).get("steps") or {}
    if not steps:
        return {}, messages.text("st-no-state")
    data = dict((name, {"status": e.get("status"), "time": e.get("time")}) for name, e in steps.items())
    return data, "\n".join(messages.text("st-step", step=name, status=entry.get("status"), time=entry.get("time"))
                           for name, entry in sorted(steps.items()))


SECTIONS = [("bundle", sec_bundle), ("packages", sec_packages), ("node", sec_node), ("vip", sec_vip),
            ("keepalived", sec_keepalived), ("app", sec_app), ("replication", sec_database),
            ("last_failover", sec_failover), ("steps", sec_steps)]


def context(args):
    root = os.path.abspath(getattr(args, "root", "/") or "/")
    try:
        lock = payload.load_lock()
    except OnsiteError:
        lock = None  # status also works from an installed host without the payload
    ctx = {"root": root, "lock": lock, "show_secrets": getattr(args, "show_secrets", False),
           "site": None, "local": None, "site_error": None}
    try:
        ctx["site"] = site_mod.from_args_or_state(args, root)
        ctx["local"] = site_mod.locate(ctx["site"])
    except OnsiteError as exc:
        if exc.reference != "site-needed":
            ctx["site_error"] = exc
    return ctx


def gather(ctx):
    """[(name, data, text)] for every section, in screen order."""
    out = []
    for name, make in SECTIONS:
        data, text = make(ctx)
        out.append((name, data, text))
    return out


def run(args):
    ctx = context(args)
    sections = gather(ctx)
    if getattr(args, "json", False):
        doc = collections.OrderedDict((name, data) for name, data, _text in sections if data is not None)
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    for _name, _data, text in sections:
        if text:
            sys.stdout.write(text + "\n")
    return 0
