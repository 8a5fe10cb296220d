"""Database part of ``status``: one row per node (role, VIP holder, replica threads, lag, last
error). Read-only. The peer is asked through the read-only seeding account.

``collect(root)`` returns the rows (for tests and other callers); ``status_line(ctx)`` is the
hook the generic status command calls (cmd_status.STATUS_LINES).
"""

import collections
import os
import subprocess

from onsite.db import render as db_render
from onsite.db import secrets as db_secrets
from onsite.db import versions as db_versions
from onsite.core import messages
from onsite.core import state
from onsite.db.client import Connection, DbError

COLUMNS = ("node", "role", "vip", "io_thread", "sql_thread", "lag", "last_error")

messages.register({
    "db-st-title": {"en": ("database replication:", ""), "zh_CN": ("数据库复制:", "")},
    "db-st-header": {
        "en": ("node|role|VIP|IO thread|SQL thread|lag (s)|last error", ""),
        "zh_CN": ("节点|角色|VIP|IO 线程|SQL 线程|延迟 (秒)|最近错误", ""),
    },
    "db-st-active": {"en": ("active (writable)", ""), "zh_CN": ("主用 (可写)", "")},
    "db-st-passive": {"en": ("passive (read-only)", ""), "zh_CN": ("备用 (只读)", "")},
    "db-st-unreachable": {"en": ("unreachable", ""), "zh_CN": ("无法连接", "")},
    "db-st-not-configured": {
        "en": ("database: not configured yet (run configure)", ""),
        "zh_CN": ("数据库: 尚未配置 (请运行 configure)", ""),
    },
    "db-st-secrets": {
        "en": ("secrets (shown because of --show-secrets; do not paste them into tickets):", ""),
        "zh_CN": ("密码 (因使用 --show-secrets 而显示; 请勿粘贴到工单中):", ""),
    },
})


def _vip_here(vip):
    try:
        out = subprocess.run(["ip", "-o", "-4", "addr", "show"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, universal_newlines=True).stdout
    except OSError:
        return False
    return any(field.split("/")[0] == vip for line in out.splitlines() for field in line.split())


def _peer_holds_vip(vip, peer_address):
    """The VIP answers ARP from the peer's MAC (arping; False when unknown)."""
    try:
        from onsite.host import arp as arpcheck
        out = subprocess.run(["ip", "-o", "-4", "route", "get", peer_address],
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True).stdout.split()
        interface = out[out.index("dev") + 1]
        vip_macs = arpcheck.who_has(interface, vip, count=1, wait=1)
        return bool(vip_macs) and set(vip_macs) <= set(arpcheck.who_has(interface, peer_address,
                                                                        count=1, wait=1))
    except Exception:   # status must print even when arping is missing or fails
        return False


def _row(name, conn, facts, vip_text):
    row = dict.fromkeys(COLUMNS, "-")
    row["node"] = name
    row["vip"] = vip_text
    try:
        ro = conn.value("SELECT @@GLOBAL.read_only")
    except DbError:
        row["role"] = messages.text("db-st-unreachable")
        return row
    row["role"] = messages.text("db-st-passive" if ro in ("1", "ON") else "db-st-active")
    try:
        rows = conn.query(facts.show_replica_status)
    except DbError as exc:
        row["last_error"] = exc.message.splitlines()[-1][:80]
        return row
    if not rows:
        row["last_error"] = "no replica channel"
        return row
    status = rows[0]
    row["io_thread"] = status.get(facts.col_io_running) or "-"
    row["sql_thread"] = status.get(facts.col_sql_running) or "-"
    lag = status.get(facts.col_lag)
    row["lag"] = "NULL" if lag is None else lag
    row["last_error"] = (status.get(facts.col_last_io_error) or status.get(facts.col_last_sql_error)
                         or "-")
    return row


Logins = collections.namedtuple("Logins", "info plan facts local peer")


def logins(root="/"):
    """What the database step recorded, and how to log in here (root) and on the peer
    (read-only seeding account); None when the database step never ran here."""
    info = state.load(root).get("steps", {}).get("database")
    if not info:
        return None
    plan = info["plan"]
    facts = db_versions.lookup(info["flavour"], tuple(info["version"]))
    local = Connection("root", db_secrets.get("root_password", root), socket=info.get("socket"),
                       client=facts.client)
    peer = Connection(db_render.SEED_USER, db_secrets.get("seed_password", root),
                      host=plan["peer_address"], port=plan.get("peer_port") or plan["port"],
                      client=facts.client, connect_timeout=3)
    return Logins(info, plan, facts, local, peer)


def collect(root="/", vip_holder=None):
    """Rows for this node and its peer, or None when the database step never ran here.
    vip_holder: 'here', 'peer' or 'none' when the caller already knows (saves two arpings)."""
    found = logins(root)
    if found is None:
        return None
    info, plan, facts, local, peer = found
    vip = info.get("vip")
    if vip_holder is not None:
        here, there = vip_holder == "here", vip_holder == "peer"
    else:
        here = _vip_here(vip) if vip else False
        there = bool(vip) and not here and _peer_holds_vip(vip, plan["peer_address"])
    rows = [_row(plan["name"], local, facts, "holds VIP" if here else "-"),
            _row(plan["peer_name"], peer, facts, "holds VIP" if there else "-")]
    return rows


def render(rows):
    header = messages.text("db-st-header").split("|")
    table = [header] + [[str(r[c]) for c in COLUMNS] for r in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    lines = [messages.text("db-st-title")]
    for line in table:
        lines.append("  " + "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip())
    return "\n".join(lines)


def render_secrets(root="/"):
    values = db_secrets.load(root).get(db_secrets.TABLE, {})
    lines = [messages.text("db-st-secrets")]
    for key in sorted(values):
        lines.append("  {} = {}".format(key, values[key]))
    return "\n".join(lines)


def status_line(ctx):
    """Hook for cmd_status.STATUS_LINES: ctx has 'root' (and 'show_secrets' when asked)."""
    root = ctx.get("root", "/")
    rows = collect(root)
    if rows is None:
        return messages.text("db-st-not-configured") if os.path.exists(
            db_secrets.secrets_path(root)) else None
    text = render(rows)
    if ctx.get("show_secrets"):
        text += "\n" + render_secrets(root)
    return text
