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

import os
import socket
import sys
import time

from onsite.host import arp as arpcheck
from onsite.core import checks
from onsite.db import render as db_render
from onsite.db import secrets as db_secrets
from onsite.db import status as db_status
from onsite.failover import firewall
from onsite.failover import keepalived
from onsite.core import messages
from onsite.host import services
from onsite.site import sitefile as site_mod
from onsite.core.checks import FAIL, PASS, result
from onsite.db.client import DbError
from onsite.core.errors import OnsiteError

from urllib import request as urlrequest
from urllib.parse import urlsplit, urlunsplit

messages.register({
    "vf-title": {"en": ("verify on {name} ({address}); peer {peer_name} ({peer}); VIP {vip}", ""),
                 "zh_CN": ("在 {name} ({address}) 上验证; 对端 {peer_name} ({peer}); VIP {vip}", "")},
    "vf-waiting": {"en": ("waiting for {what} ({left} s left)", ""),
                   "zh_CN": ("正在等待: {what} (剩余 {left} 秒)", "")},
    "vf-ok": {"en": ("verify passed: the pair works end to end", ""),
              "zh_CN": ("验证通过: 双机工作正常", "")},
    "vf-bad": {"en": ("verify found {count} problem(s); fix them (see 'fix'), then run verify again", ""),
               "zh_CN": ("验证发现 {count} 个问题; 请按 '处理' 一栏修复, 然后重新运行 verify", "")},
    "vf-ka-ok": {"en": ("keepalived runs here (VRRP state {state})", ""),
                 "zh_CN": ("本机 keepalived 正在运行 (VRRP 状态 {state})", "")},
    "vf-ka-bad": {"en": ("keepalived is not running on {name}", "start it: systemctl start keepalived; then look at its log if it stops again"),
                  "zh_CN": ("{name} 上的 keepalived 未运行", "请启动: systemctl start keepalived; 若再次停止请查看其日志")},
    "vf-vip-here": {"en": ("the VIP {vip} is held by this node ({name}) only", ""),
                    "zh_CN": ("VIP {vip} 仅由本节点 ({name}) 持有", "")},
    "vf-vip-peer": {"en": ("the VIP {vip} is held by the peer ({name}) only", ""),
                    "zh_CN": ("VIP {vip} 仅由对端 ({name}) 持有", "")},
    "vf-vip-none": {"en": ("no node holds the VIP {vip}", "check keepalived and the app on both nodes: run status on each; keepalived puts a node whose app fails in FAULT"),
                    "zh_CN": ("没有任何节点持有 VIP {vip}", "请检查两个节点上的 keepalived 和应用: 在每个节点运行 status; 应用故障时 keepalived 会进入 FAULT")},
    "vf-vip-both": {"en": ("split brain: the VIP {vip} is on this node and also answers from {macs}", "check that VRRP (protocol 112) passes between the nodes (firewall), then restart keepalived on the node that should give up the VIP"),
                    "zh_CN": ("脑裂: VIP {vip} 在本节点上, 同时 {macs} 也在应答", "请检查两节点之间的 VRRP (协议 112) 是否被防火墙放行, 然后在应让出 VIP 的节点上重启 keepalived")},
    "vf-vip-foreign": {"en": ("the VIP {vip} answers from {macs}, which is neither node", "another device uses the VIP address: switch it off or choose another cluster.vip"),
                       "zh_CN": ("VIP {vip} 由 {macs} 应答, 它不是任何一个节点", "有其他设备占用了 VIP 地址: 请关闭该设备或更换 cluster.vip")},
    "vf-vip-unknown": {"en": ("cannot tell who holds the VIP: {detail}", "install arping (iputils), then run verify again"),
                       "zh_CN": ("无法判断 VIP 持有者: {detail}", "请安装 arping (iputils) 后重新运行 verify")},
    "vf-app-ok": {"en": ("the app answers through the VIP: {target} -> {answer}", ""),
                  "zh_CN": ("应用可通过 VIP 访问: {target} -> {answer}", "")},
    "vf-app-bad": {"en": ("the app does not answer through the VIP: {target}: {detail}", "check the app on the VIP holder (status shows which node); keepalived moves the VIP when the app check fails"),
                   "zh_CN": ("无法通过 VIP 访问应用: {target}: {detail}", "请检查 VIP 持有节点上的应用 (status 会显示是哪个节点); 应用检查失败时 keepalived 会切换 VIP")},
    "vf-fw-ok": {"en": ("firewall ({kind}): VRRP and port {db_port} open to {peer}, app port {app_port} open", ""),
                 "zh_CN": ("防火墙 ({kind}): 已向 {peer} 放行 VRRP 和端口 {db_port}, 已放行应用端口 {app_port}", "")},
    "vf-fw-bad": {"en": ("firewall rules missing on {name}:", "run: configure --site site.toml --only firewall"),
                  "zh_CN": ("{name} 上缺少防火墙规则:", "请运行: configure --site site.toml --only firewall")},
    "vf-db-none": {"en": ("the database step has not run on {name}", "run configure (or install) on {name} first"),
                   "zh_CN": ("{name} 上尚未执行数据库步骤", "请先在 {name} 上运行 configure (或 install)")},
    "vf-repl-ok": {"en": ("{source} -> {target}: replica threads on {target} running, lag {lag} s", ""),
                   "zh_CN": ("{source} -> {target}: {target} 上的复制线程正常, 延迟 {lag} 秒", "")},
    "vf-repl-bad": {"en": ("{source} -> {target}: replication on {target} is not healthy: {detail}", "run status on {target}; fix the error it shows, then run verify again"),
                    "zh_CN": ("{source} -> {target}: {target} 上的复制不正常: {detail}", "请在 {target} 上运行 status, 修复所示错误后重新运行 verify")},
    "vf-peer-db-down": {"en": ("cannot log in to the database on {name} ({where}): {detail}", "start the database on {name} and run configure there; check port {port}/tcp between the nodes"),
                        "zh_CN": ("无法登录 {name} 上的数据库 ({where}): {detail}", "请在 {name} 上启动数据库并运行 configure; 检查两节点之间的 {port}/tcp 端口")},
    "vf-local-db-down": {"en": ("cannot log in to the database here ({where}): {detail}", "start it: systemctl start mariadb (or mysqld); then run verify again"),
                         "zh_CN": ("无法登录本机数据库 ({where}): {detail}", "请启动数据库: systemctl start mariadb (或 mysqld), 然后重新运行 verify")},
    "vf-canary-ok": {"en": ("{source} -> {target}: a canary row written on {source} reached {target} in {seconds} s", ""),
                     "zh_CN": ("{source} -> {target}: {source} 写入的测试行在 {seconds} 秒内到达 {target}", "")},
    "vf-canary-bad": {"en": ("{source} -> {target}: a canary row written on {source} did not reach {target} within {seconds} s", "run status on {target}: its replica threads show the cause"),
                      "zh_CN": ("{source} -> {target}: {source} 写入的测试行在 {seconds} 秒内未到达 {target}", "请在 {target} 上运行 status: 复制线程会显示原因")},
    "vf-canary-write": {"en": ("{source} -> {target}: cannot write the canary row on {source}: {detail}", "run status on {source}; the database may be down"),
                        "zh_CN": ("{source} -> {target}: 无法在 {source} 上写入测试行: {detail}", "请在 {source} 上运行 status; 数据库可能未运行")},
    "vf-peer-canary-ok": {"en": ("{source} -> {target}: a canary row from {source} arrived here ({when})", ""),
                          "zh_CN": ("{source} -> {target}: 来自 {source} 的测试行已到达本机 ({when})", "")},
    "vf-peer-canary-bad": {"en": ("{source} -> {target}: no canary row from {source} in the last {fresh} s: {source} has not run verify, or its rows do not arrive", "run verify on {source} now (it writes the row that proves {source} -> {target}); if it passes there, run status here"),
                           "zh_CN": ("{source} -> {target}: 最近 {fresh} 秒内没有来自 {source} 的测试行: {source} 未运行 verify, 或数据未到达", "请立即在 {source} 上运行 verify (它写入证明 {source} -> {target} 的测试行); 若那边通过, 请在本机运行 status")},
})

NAMES = ("keepalived", "vip-holder", "app-via-vip", "firewall", "replication-here",
         "replication-peer", "canary-to-peer", "canary-from-peer")


def add_arguments(parser):
    site_mod.add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--timeout", type=int, default=60, metavar="SECONDS",
                        help="how long to wait for the peer (default 60)")
    parser.add_argument("--fresh", type=int, default=300, metavar="SECONDS",
                        help="a canary row from the peer counts when newer than this (default 300)")


# --- single checks: each returns one Result and changes nothing (the canary excepted) -------

def check_keepalived(local, root):
    if not services.is_active("keepalived"):
        return result("keepalived", FAIL, messages.text("vf-ka-bad", name=local.me.name),
                      messages.hint("vf-ka-bad"), "here")
    try:
        with open(os.path.join(root, keepalived.STATE_FILE.lstrip("/"))) as handle:
            vrrp = handle.read().split()[0]
    except (OSError, IndexError):
        vrrp = "?"
    return result("keepalived", PASS, messages.text("vf-ka-ok", state=vrrp))


def check_vip(site, local):
    vip = site.cluster.vip
    here = vip in [a[1] for a in site_mod.host_addresses()]
    try:
        here, peer, foreign = arpcheck.vip_view(local.interface, vip, local.peer.address, here)
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


def app_target(site):
    """What 'the app answers through the VIP' means: the health URL with its host replaced by
    the VIP, or a TCP connect to VIP:port when the site has no health URL."""
    if site.app.health_url:
        parts = urlsplit(site.app.health_url)
        port = parts.port or site.app.port
        return urlunsplit((parts.scheme, "{}:{}".format(site.cluster.vip, port), parts.path or "/",
                           parts.query, ""))
    return "tcp://{}:{}".format(site.cluster.vip, site.app.port)


def probe_app(target, timeout=3.0):
    """(ok, answer or error text). No proxies: the VIP is on the local network."""
    if target.startswith("tcp://"):
        host, port = target[len("tcp://"):].rsplit(":", 1)
        try:
            socket.create_connection((host, int(port)), timeout).close()
            return True, "TCP connect ok"
        except (OSError, socket.timeout) as exc:
            return False, str(exc)
    opener = urlrequest.build_opener(urlrequest.ProxyHandler({}))
    try:
        resp = opener.open(target, timeout=timeout)
        try:
            return 200 <= resp.getcode() < 400, "HTTP {}".format(resp.getcode())
        finally:
            resp.close()
    except Exception as exc:         # URLError, HTTPError, timeouts, resets: all mean "no"
        return False, str(getattr(exc, "reason", None) or exc)


def check_app(site, local):
    target = app_target(site)
    ok, answer = probe_app(target)
    if ok:
        return result("app-via-vip", PASS, messages.text("vf-app-ok", target=target, answer=answer))
    return result("app-via-vip", FAIL, messages.text("vf-app-bad", target=target, detail=answer),
                  messages.hint("vf-app-bad"), "both")


def check_firewall(site, local):
    try:
        missing = firewall.missing(site, local)
    except OnsiteError as exc:
        return checks.from_error("firewall", exc)
    if missing:
        text = "\n".join([messages.text("vf-fw-bad", name=local.me.name)] + ["  " + m for m in missing])
        return result("firewall", FAIL, text, messages.hint("vf-fw-bad"), "here")
    return result("firewall", PASS, messages.text("vf-fw-ok", kind=firewall.backend(), peer=local.peer.address,
                                                  db_port=site.database.port, app_port=site.app.port))


def _replication(name, logins, conn, source, target, side):
    from onsite.db import setup as db_setup
    try:
        status = db_setup.replica_status(logins.facts, conn)
    except DbError as exc:
        detail = exc.message.strip().splitlines()[-1][:160] if exc.message.strip() else "?"
        if side == "peer":
            return result(name, FAIL, messages.text("vf-peer-db-down", name=target, where=conn.describe(),
                                                    detail=detail),
                          messages.hint("vf-peer-db-down", name=target, port=logins.plan["port"]), "peer")
        return result(name, FAIL, messages.text("vf-local-db-down", where=conn.describe(), detail=detail),
                      messages.hint("vf-local-db-down"), "here")
    problems = db_setup.health(logins.facts, status)
    if problems:
        # a stopped or connecting thread may be the other node still starting: worth waiting
        return result(name, FAIL, messages.text("vf-repl-bad", source=source, target=target,
                                                detail="; ".join(problems)),
                      messages.hint("vf-repl-bad", target=target), "both")
    return result(name, PASS, messages.text("vf-repl-ok", source=source, target=target,
                                            lag=status.get(logins.facts.col_lag)), side=side)


def write_canary(logins, me):
    """Insert one canary row here (insert-only); on MySQL a passive node has super_read_only,
    which stops even root, so it is lifted for this one statement as configure does."""
    token = "verify-{}-{}-{}".format(me, int(time.time()), db_secrets.generate(8))
    stmts = db_render.sql_canary_insert(token, me)
    if logins.facts.super_read_only and logins.local.value("SELECT @@GLOBAL.super_read_only") in ("1", "ON"):
        stmts = ["SET GLOBAL super_read_only = OFF"] + stmts + ["SET GLOBAL super_read_only = ON"]
    logins.local.execute(stmts)
    return token


def canary_seen(logins, token):
    try:
        return logins.peer.value(db_render.sql_canary_seen(token)) == "1"
    except DbError:
        return False


def check_peer_canary(logins, me, peer, fresh):
    try:
        row = logins.local.query(db_render.sql_canary_recent(peer, fresh))
    except DbError as exc:
        return result("canary-from-peer", FAIL, messages.text("vf-local-db-down", where=logins.local.describe(),
                                                              detail=exc.message.strip()[:160]),
                      messages.hint("vf-local-db-down"), "here")
    found = row[0] if row else {}
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
                canary["token"] = write_canary(logins, me)
                canary["written"] = time.time()
            except DbError as exc:
                canary["result"] = result("canary-to-peer", FAIL, messages.text(
                    "vf-canary-write", source=me, target=peer, detail=exc.message.strip()[:160]),
                    messages.hint("vf-canary-write", source=me), "here")
        if "token" in canary and canary_seen(logins, canary["token"]):
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


def run(args):
    if os.geteuid() != 0:
        raise OnsiteError("not-root", exit_code=4)
    site = site_mod.from_args_or_state(args)
    local = site_mod.locate(site)
    if not args.json:
        print(messages.text("vf-title", name=local.me.name, address=local.me.address,
                            peer_name=local.peer.name, peer=local.peer.address, vip=site.cluster.vip))
        sys.stdout.flush()
    progress = lambda line: sys.stderr.write(line + "\n")   # noqa: E731
    results = run_checks(site, local, timeout=args.timeout, fresh=args.fresh, out=progress)
    bad = checks.failed(results)
    if args.json:
        print(checks.render_json(results, command="verify", node=local.me.name, peer=local.peer.name,
                                 vip=site.cluster.vip))
    else:
        print(checks.render_table(results))
        print(messages.text("vf-bad", count=len(bad)) if bad else messages.text("vf-ok"))
    return 1 if bad else 0
