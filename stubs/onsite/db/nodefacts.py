"""Each node's statement about itself (onsite.pair.facts), kept in its own database.

One row per node in ``ha_bundle.node_facts``, written with sql_log_bin = 0 so it never
replicates: what the peer reads there was written by the peer's own installer. Once both
databases run, this is how one node asks the other, through the peer-only database port and
the seeding account (the site's shared seed password), which site and bundle it runs.
"""

import json

from onsite.db import render as db_render
from onsite.db.client import DbError

TABLE = "`{}`.`node_facts`".format(db_render.OWN_SCHEMA)


def write(admin, node, facts):
    """Record this node's facts in its own database (local only)."""
    admin.execute([
        "SET SESSION sql_log_bin = 0",
        "CREATE TABLE IF NOT EXISTS {} (node VARCHAR(64) NOT NULL PRIMARY KEY, facts MEDIUMTEXT NOT NULL,"
        " updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP)"
        " ENGINE=InnoDB".format(TABLE),
        "REPLACE INTO {} (node, facts) VALUES ({}, {})".format(
            TABLE, db_render.quote(node), db_render.quote(json.dumps(facts, sort_keys=True))),
    ])


def read(conn, node):
    """The facts node recorded in the database conn reaches; None when there are none
    (never recorded, or an installer older than this one); DbError when it cannot be asked."""
    try:
        rows = conn.query("SELECT facts FROM {} WHERE node = {}".format(TABLE, db_render.quote(node)))
    except DbError as exc:
        if "doesn't exist" in exc.message or "1146" in exc.message:
            return None
        raise
    if not rows or not rows[0].get("facts"):
        return None
    try:
        facts = json.loads(rows[0]["facts"])
    except ValueError:
        return None
    return facts if isinstance(facts, dict) else None
