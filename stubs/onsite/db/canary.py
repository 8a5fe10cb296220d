"""The canary row: a row written on one node that must show up on the other proves replication
end to end. The one implementation for configure, verify and drill.

Rows go to our own ``ha_bundle.canary`` table (insert-only, replicated like the app schemas).
"""

import time

from onsite.core.errors import OnsiteError
from onsite.db import render, secrets
from onsite.db.client import DbError


def write(facts, admin, node, purpose):
    """Insert one row written by node; returns its token. On MySQL a passive node has
    super_read_only, which stops even root, so it is lifted for this one statement."""
    token = "{}-{}-{}-{}".format(purpose, node, int(time.time()), secrets.generate(8))
    stmts = render.sql_canary_insert(token, node)
    if facts.super_read_only and admin.value("SELECT @@GLOBAL.super_read_only") in ("1", "ON"):
        stmts = ["SET GLOBAL super_read_only = OFF"] + stmts + ["SET GLOBAL super_read_only = ON"]
    admin.execute(stmts)
    return token


def seen(conn, token):
    """True when the row arrived where conn logs in (False also when it cannot be asked)."""
    try:
        return conn.value(render.sql_canary_seen(token)) == "1"
    except DbError:
        return False


def recent(conn, node, seconds):
    """{'n', 'newest'}: rows written by node in the last seconds, as seen where conn logs in.
    Raises DbError."""
    rows = conn.query(render.sql_canary_recent(node, seconds))
    return rows[0] if rows else {}


def roundtrip(facts, admin, peer, node, peer_name, seconds, purpose="configure"):
    """Write a row here and wait for it on the peer; returns the travel time in seconds.
    OnsiteError (db-canary-timeout) when it does not arrive in time."""
    token = write(facts, admin, node, purpose)
    started = time.time()
    while time.time() - started < seconds:
        if seen(peer, token):
            return time.time() - started
        time.sleep(0.2)
    raise OnsiteError("db-canary-timeout", {"peer": peer_name, "seconds": seconds})
