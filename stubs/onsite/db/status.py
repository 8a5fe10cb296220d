"""Database part of ``status``: one row per node (role, VIP holder, replica threads, lag, last
error). Read-only. The peer is asked through the read-only seeding account.

``collect(root)`` returns the rows; ``render(rows)`` the table (onsite.ops.status shows it).
"""

import collections
import os

from onsite.db import render as db_render
from onsite.db import secrets as db_secrets
from onsite.db import versions as db_versions
from onsite.core import columns, messages
from onsite.core import state
from onsite.host import addresses
from onsite.host import vip as host_vip
from onsite.db.client import Connection, DbError

COLUMNS = ("node", "role", "vip", "io_thread", "sql_thread", "lag", "last_error")


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
        row["last_error"] = messages.text("db-st-no-channel")
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
    elif not vip:
        here = there = False
    else:
        here = addresses.holds(vip)
        seen = None if here else host_vip.view_from_route(vip, plan["peer_address"])
        there = seen is not None and seen.peer and not seen.foreign
    holds = messages.text("db-st-holds-vip")
    rows = [_row(plan["name"], local, facts, holds if here else "-"),
            _row(plan["peer_name"], peer, facts, holds if there else "-")]
    return rows


def render(rows):
    header = messages.text("db-st-header").split("|")
    cells = [header] + [[str(r[c]) for c in COLUMNS] for r in rows]
    return "\n".join([messages.text("db-st-title")] + columns.table(cells))


def render_secrets(root="/"):
    values = db_secrets.load(root).get(db_secrets.TABLE, {})
    lines = [messages.text("db-st-secrets")]
    for key in sorted(values):
        lines.append("  {} = {}".format(key, values[key]))
    return "\n".join(lines)


def not_configured_line(root="/"):
    """The line status prints when the database step never finished here (None: it never
    started, so there is nothing to say)."""
    if os.path.exists(db_secrets.secrets_path(root)):
        return messages.text("db-st-not-configured")
    return None
