"""``drill``: a planned failover test for handover, run on the node that holds the VIP.

Stops keepalived here (it sends a priority-0 advert and drops the VIP; the app and the database
keep running, so no data path is killed), measures the time until the VIP answers from the
peer, checks that replication is healthy both ways and that the peer became writable, then
starts keepalived again: this node rejoins as the standby. The VIP stays on the peer (no second
outage); run drill there to move it back. The result goes to the state journal.
"""

import collections
import json
import os
import socket
import threading
import time

from onsite.host import arp as arpcheck
from onsite.db import render as db_render
from onsite.db import setup as db_setup
from onsite.db import status as db_status
from onsite.failover import keepalived
from onsite.core import messages
from onsite.host import services
from onsite.core import state
from onsite.site import sitefile as site_mod
from onsite.core.errors import OnsiteError

SERVICE = "keepalived"
_CanaryCtx = collections.namedtuple("_CanaryCtx", "plan")   # what canary_roundtrip reads

messages.register({
    "drill-not-holder": {
        "en": ("this node ({name}) does not hold the VIP {vip}; {holder} does",
               "run drill on the node that holds the VIP ({holder})"),
        "zh_CN": ("本节点 ({name}) 未持有 VIP {vip}; 持有者是 {holder}",
                  "请在持有 VIP 的节点 ({holder}) 上运行 drill"),
    },
    "drill-no-holder": {
        "en": ("no node holds the VIP {vip}; there is nothing to fail over", "run status and fix keepalived first"),
        "zh_CN": ("没有节点持有 VIP {vip}; 无法进行切换演练", "请先运行 status 并修复 keepalived"),
    },
    "drill-peer-app-down": {
        "en": ("the peer's application does not answer on {address}:{port}; a drill now would cause an outage; nothing was changed",
               "start the application on {peer}, then run drill again"),
        "zh_CN": ("对端应用在 {address}:{port} 无应答; 现在演练会导致中断; 未做任何更改",
                  "请先在 {peer} 上启动应用, 然后重新运行 drill"),
    },
    "drill-keepalived-down": {
        "en": ("keepalived is not running on this node; nothing was changed", "run install (or configure) again"),
        "zh_CN": ("本节点 keepalived 未运行; 未做任何更改", "请重新运行 install (或 configure)"),
    },
    "drill-replication-unhealthy": {
        "en": ("replication is not healthy ({detail}); a failover now could lose writes; nothing was changed",
               "run status, fix replication, then run drill again"),
        "zh_CN": ("数据库复制不正常 ({detail}); 现在切换可能丢失写入; 未做任何更改",
                  "请运行 status 并修复复制, 然后重新运行 drill"),
    },
    "drill-no-takeover": {
        "en": ("the VIP did not answer from {peer} within {seconds} s; keepalived was started again here",
               "check keepalived and the firewall on {peer} (status, collect), then run drill again"),
        "zh_CN": ("{seconds} 秒内 VIP 未由 {peer} 应答; 已在本节点重新启动 keepalived",
                  "请检查 {peer} 上的 keepalived 和防火墙 (status, collect), 然后重新运行 drill"),
    },
    "drill-not-restored": {
        "en": ("keepalived on this node did not come back as standby within {seconds} s (state: {state})",
               "run status; if needed restart keepalived on this node"),
        "zh_CN": ("本节点 keepalived 在 {seconds} 秒内未恢复为备用 (状态: {state})",
                  "请运行 status; 必要时重启本节点的 keepalived"),
    },
    "drill-start": {"en": ("drill: {name} gives up the VIP {vip} to {peer} (keepalived stops here; the app keeps running)", ""),
                    "zh_CN": ("演练: {name} 将 VIP {vip} 交给 {peer} (本节点停止 keepalived; 应用继续运行)", "")},
    "drill-outage": {"en": ("outage: {seconds:.2f} s until the VIP answered from {peer} ({mac})", ""),
                     "zh_CN": ("中断时间: {seconds:.2f} 秒后 VIP 由 {peer} ({mac}) 应答", "")},
    "drill-repl-ok": {"en": ("replication healthy both ways; {peer} is writable, {name} is read-only; a test row reached {peer} in {seconds:.1f} s", ""),
                      "zh_CN": ("双向复制正常; {peer} 可写, {name} 只读; 测试行 {seconds:.1f} 秒到达 {peer}", "")},
    "drill-repl-none": {"en": ("database: not configured on this node, replication not checked", ""),
                        "zh_CN": ("数据库: 本节点未配置, 未检查复制", "")},
    "drill-restored": {"en": ("restored: keepalived runs again on {name} as standby; the VIP stays on {peer} (no second outage)",
                              "to move the VIP back, run drill on {peer}"),
                       "zh_CN": ("已恢复: {name} 上的 keepalived 重新运行, 作为备用; VIP 留在 {peer} (不会再次中断)",
                                 "如需将 VIP 切回, 请在 {peer} 上运行 drill")},
})


def add_arguments(parser):
    site_mod.add_arguments(parser)
    parser.add_argument("--timeout", type=float, default=30, metavar="SECONDS",
                        help="how long the peer may take to answer on the VIP (default 30)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def vip_here(vip):
    return vip in [a[1] for a in site_mod.host_addresses()]


def answers(address, port, path, timeout=0.2):
    """True when address:port accepts a connection (and answers HTTP when path is given)."""
    try:
        conn = socket.create_connection((address, port), timeout)
    except (OSError, socket.timeout):
        return False
    try:
        if path is None:
            return True
        conn.settimeout(1.0)
        conn.sendall("GET {} HTTP/1.0\r\nHost: {}\r\n\r\n".format(path, address).encode("ascii"))
        return conn.recv(16).startswith(b"HTTP/")
    except (OSError, socket.timeout):
        return False
    finally:
        conn.close()


def probe_path(site):
    """The health URL's path (HTTP check through the VIP), or None: a TCP connect is enough."""
    url = site.app.health_url
    if not url:
        return None
    rest = url.split("://", 1)[-1]
    return "/" + rest.split("/", 1)[1] if "/" in rest else "/"


def _vrrp_state():
    try:
        with open(keepalived.STATE_FILE) as handle:
            return handle.read().split()[0]
    except (OSError, IndexError):
        return "unknown"


def check_ready(site, local):
    """Everything that must hold before the drill; raises (nothing changed) otherwise."""
    vip = site.cluster.vip
    if not vip_here(vip):
        macs = arpcheck.who_has(local.interface, vip, count=1, wait=1)
        if not macs:
            raise OnsiteError("drill-no-holder", {"vip": vip}, exit_code=2)
        raise OnsiteError("drill-not-holder", {"name": local.me.name, "vip": vip,
                                               "holder": local.peer.name}, exit_code=2)
    if not services.is_active(SERVICE):
        raise OnsiteError("drill-keepalived-down", exit_code=2)
    if not answers(local.peer.address, site.app.port, probe_path(site), timeout=1.0):
        raise OnsiteError("drill-peer-app-down", {"address": local.peer.address, "port": site.app.port,
                                                  "peer": local.peer.name}, exit_code=2)
    found = db_status.logins()
    if found:
        facts, admin = found.facts, found.local
        problems = db_setup.health(facts, db_setup.replica_status(facts, admin))
        if problems:
            raise OnsiteError("drill-replication-unhealthy", {"detail": problems[0]}, exit_code=2)
    return found


def fail_over(site, local, timeout):
    """Stop keepalived here (in a thread, so the clock runs while it shuts down) and wait until
    the VIP answers from the peer. Returns (outage seconds, released seconds, peer MAC)."""
    vip = site.cluster.vip
    path = probe_path(site)
    errors = []

    def stop():
        try:
            services.stop(SERVICE)
        except OnsiteError as exc:
            errors.append(exc)

    started = time.time()
    worker = threading.Thread(target=stop)
    worker.start()
    released = None
    while time.time() - started < timeout:
        if released is None:
            if vip_here(vip):
                time.sleep(0.005)
                continue
            released = time.time() - started
        if answers(vip, site.app.port, path):
            outage = time.time() - started
            worker.join(60)
            macs = arpcheck.who_has(local.interface, vip, count=1, wait=1)
            return outage, released, ", ".join(macs) or "?"
        time.sleep(0.01)
    worker.join(60)
    if errors:
        raise errors[0]
    return None, released, None


def check_replication(local, found, timeout):
    """After the switch: the peer writable, this node read-only, both channels healthy, a row
    from here seen on the peer. Returns the canary's travel time."""
    info, facts, admin, peer = found.info, found.facts, found.local, found.peer
    deadline = time.time() + timeout
    while True:
        peer_ro = peer.value("SELECT @@GLOBAL.read_only")
        here_ro = admin.value("SELECT @@GLOBAL.read_only")
        if peer_ro in ("0", "OFF") and here_ro in ("1", "ON"):
            break
        if time.time() > deadline:
            raise OnsiteError("drill-replication-unhealthy", {
                "detail": "read_only is {} on {} and {} on {}".format(
                    peer_ro, local.peer.name, here_ro, local.me.name)})
        time.sleep(0.2)
    problems = db_setup.wait_healthy(facts, admin, timeout)
    if problems:
        raise OnsiteError("drill-replication-unhealthy", {"detail": problems[0]})
    plan = db_render.NodePlan(index=info["plan"]["index"], name=local.me.name,
                              address=local.me.address, peer_name=local.peer.name,
                              peer_address=local.peer.address, port=info["plan"]["port"],
                              schemas=tuple(info["plan"]["schemas"]), passive=True)
    return db_setup.canary_roundtrip(_CanaryCtx(plan), facts, admin, peer, timeout)


def restore(local, timeout):
    """keepalived back on here; it must settle as BACKUP while the peer keeps the VIP."""
    if not services.is_active(SERVICE):
        services.start(SERVICE)
    deadline = time.time() + timeout
    while _vrrp_state() != "BACKUP":
        if time.time() > deadline:
            raise OnsiteError("drill-not-restored", {"seconds": timeout, "state": _vrrp_state()})
        time.sleep(0.1)


def run(args):
    if os.geteuid() != 0:
        raise OnsiteError("not-root", exit_code=4)
    site = site_mod.from_args_or_state(args)
    local = site_mod.locate(site)
    found = check_ready(site, local)
    say = (lambda text: None) if args.json else print
    say(messages.text("drill-start", name=local.me.name, vip=site.cluster.vip, peer=local.peer.name))
    state.mark("drill", "started", node=local.me.name)
    result = {"node": local.me.name, "peer": local.peer.name, "vip": site.cluster.vip}
    try:
        outage, released, mac = fail_over(site, local, args.timeout)
        result["released_seconds"] = None if released is None else round(released, 3)
        if outage is None:
            restore(local, args.timeout)
            raise OnsiteError("drill-no-takeover", {"peer": local.peer.name, "seconds": args.timeout},
                              exit_code=3)
        result.update(outage_seconds=round(outage, 3), answered_from=mac)
        say(messages.text("drill-outage", seconds=outage, peer=local.peer.name, mac=mac))
        if found:
            seconds = check_replication(local, found, 30)
            result["replication"] = "healthy"
            result["canary_seconds"] = round(seconds, 3)
            say(messages.text("drill-repl-ok", peer=local.peer.name, name=local.me.name, seconds=seconds))
        else:
            result["replication"] = "not configured"
            say(messages.text("drill-repl-none"))
        restore(local, args.timeout)
        result["restored"] = True
    except BaseException:
        if not services.is_active(SERVICE):
            services.start(SERVICE)    # never leave this node without keepalived
        state.mark("drill", "failed", **result)
        raise
    state.mark("drill", "done", **result)
    if args.json:
        print(json.dumps(result, indent=2, sort_keys=True))
    else:
        print(messages.text("drill-restored", name=local.me.name, peer=local.peer.name))
        print("{}: {}".format(messages.text("word-next"), messages.hint("drill-restored", peer=local.peer.name)))
    return 0
