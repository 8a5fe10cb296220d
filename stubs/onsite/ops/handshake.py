"""The pair handshake: before install changes anything, the two nodes prove to each other that
they run the same bundle and the same site, or both stop and say what differs.

Where the peer is asked:
- its database, when it already runs one we can log in to (the peer was installed before):
  the facts its own installer recorded there (onsite.db.nodefacts), through the peer-only
  database port and the seeding account, whose password is the site's shared secret;
- otherwise live: both installers meet on cluster.pair_port (onsite.pair.channel), each
  proving with an HMAC over a fresh nonce that it holds the same secrets. This node waits
  (with a countdown) up to --peer-timeout for the peer's install to start.

Any difference stops here with the differing keys named for both nodes (secrets by name only),
exit 14; a peer that never came, exit 13. Nothing was changed in either case: the only thing
touched is a runtime-only firewall opening of the pair port for the peer, removed at once.
"""

import json
import os
import time

from onsite.core import messages, state
from onsite.core.errors import PEER_NOT_READY, REFUSED, BAD_INPUT, OnsiteError
from onsite.db import nodefacts
from onsite.db import pairing as db_pairing
from onsite.db import paths as db_paths
from onsite.db import render as db_render
from onsite.db import status as db_status
from onsite.db import step as db_step
from onsite.db.client import Connection, DbError, find_program
from onsite.failover import firewall
from onsite.pair import channel
from onsite.pair import facts as pair_facts

STEP = "pair"
HOW = {"database": "pair-how-database", "live": "pair-how-live"}
WAIT_REPORT_EVERY = 10.0


def secret_values(site, opts):
    repl, seed = db_step.passwords(site, opts)
    return [repl, seed, site.secrets.vrrp_password if site.secrets else None]


def compare(mine, theirs, authentic, local):
    """Lines naming every difference between this node's facts and the peer's (empty: agreed)."""
    me, peer = local.me.name, local.peer.name
    lines = []
    if theirs.get("version") != pair_facts.FACTS_VERSION:
        return [messages.text("pair-old-peer", peer=peer, version=theirs.get("version"))]
    if theirs.get("node") != peer or theirs.get("address") != local.peer.address:
        lines.append(messages.text("pair-wrong-peer", peer=peer, address=local.peer.address,
                                   node=theirs.get("node"), their_address=theirs.get("address")))
    if theirs.get("peer") not in (None, local.me.address):
        lines.append(messages.text("pair-not-my-peer", peer=peer, me=me, address=local.me.address,
                                   other=theirs.get("peer")))
    if theirs.get("lock_digest") != mine.get("lock_digest"):
        lines.append(messages.text("pair-bundle-differs", me=me, peer=peer,
                                   mine=pair_facts.short(mine.get("lock_digest")),
                                   theirs=pair_facts.short(theirs.get("lock_digest"))))
    secret_named = False
    for key, a, b in pair_facts.differences(mine, theirs):
        if key.startswith("secrets."):
            secret_named = True
            lines.append(messages.text("pair-secret-differs", key=key, me=me, peer=peer))
        else:
            lines.append(messages.text("pair-key-differs", key=key, me=me, peer=peer,
                                       mine=pair_facts.show(a), theirs=pair_facts.show(b)))
    if not authentic and not secret_named:
        lines.append(messages.text("pair-secrets-unproven", me=me, peer=peer))
    return lines


def _from_peer_database(site, local, opts):
    """The facts the peer's installer recorded in its database, or None when it cannot be
    asked that way (no client here yet, the peer runs no database we can log in to)."""
    conn = _peer_login(site, local, opts)
    if conn is None:
        return None
    try:
        return nodefacts.read(conn, local.peer.name)
    except DbError:
        return None


def _peer_login(site, local, opts):
    """How to log in to the peer's database with the seeding account (None: no client here)."""
    client = find_program(("mariadb", "mysql"))
    _repl, seed = db_step.passwords(site, opts)
    if client is None or not seed:
        return None
    return Connection(db_render.SEED_USER, seed, host=local.peer.address, port=site.database.port,
                      connect_timeout=3)


def check_rejoin(site, local, opts):
    """Before any change: a node without a pairing of its own (new, or uninstalled) whose peer
    still replicates from it must be rebuilt with --rejoin, never re-paired in place."""
    if opts.rejoin or "database" in (state.load().get("steps") or {}):
        return
    conn = _peer_login(site, local, opts)
    if conn is not None and db_pairing.channel_source(conn) == local.me.address:
        raise OnsiteError("db-rejoin-needed", {"peer": local.peer.name}, exit_code=REFUSED)


def _live(site, local, mine, key, timeout, say, elsewhere):
    port = site.cluster.pair_port
    say(messages.text("pair-waiting", peer=local.peer.name, address=local.peer.address, port=port,
                      seconds=int(timeout)))
    last = {"at": time.monotonic()}

    def on_wait(left, why):
        if time.monotonic() - last["at"] >= WAIT_REPORT_EVERY:
            last["at"] = time.monotonic()
            say(messages.text("pair-still-waiting", peer=local.peer.name, seconds=int(left), why=why))

    close = firewall.open_for_meeting(local.peer.address, port, local.interface, firewall.backend())
    try:
        return channel.meet(local.me.address, local.peer.address, port, mine, key, timeout, on_wait, elsewhere)
    except OSError as exc:
        raise OnsiteError("pair-port-busy", {"address": local.me.address, "port": port,
                                             "detail": exc.strerror or str(exc)}, exit_code=BAD_INPUT)
    finally:
        close()


def app_data_here(site, datadir=None):
    """True when one of the site's app schemas holds tables on this node's server (its files,
    read before any database runs: the handshake comes before the packages)."""
    directory = datadir or db_paths.datadir()
    for schema in site.database.schemas:
        try:
            names = os.listdir(os.path.join(directory, schema))
        except OSError:
            continue
        if any(name != "db.opt" for name in names):
            return True
    return False


def preferred_node(site, has_data):
    """The node that should be active after install: the higher priority one, unless it holds
    no app data and the other does (the empty one is seeded from it meanwhile). has_data:
    {node name: bool or None (unknown)}."""
    top, other = sorted(site.nodes, key=lambda n: -n.priority)
    if has_data.get(top.name) is False and has_data.get(other.name) is True:
        return other.name
    return top.name


def preferred_from_journal(site, root="/"):
    """The preferred node the handshake decided, or the higher priority one."""
    entry = state.load(root).get("steps", {}).get(STEP) or {}
    names = [n.name for n in site.nodes]
    return entry["preferred"] if entry.get("preferred") in names else preferred_node(site, {})


def agree(site, local, opts, say, timeout=None):
    """The handshake (see the module docstring); returns the peer's facts when both agree."""
    mine = dict(pair_facts.of_this_node(site, local), has_data=app_data_here(site))
    theirs, authentic, how = _from_peer_database(site, local, opts), True, "database"
    if theirs is None:
        def elsewhere():
            found = _from_peer_database(site, local, opts)
            return None if found is None else {"facts": found, "authentic": True, "how": "database"}
        key = pair_facts.pair_key(secret_values(site, opts))
        met = _live(site, local, mine, key, opts.peer_timeout if timeout is None else timeout, say, elsewhere)
        if met is None:
            raise OnsiteError("pair-no-answer", {"peer": local.peer.name, "address": local.peer.address,
                                                 "port": site.cluster.pair_port}, exit_code=PEER_NOT_READY)
        theirs, authentic, how = met["facts"], met["authentic"], met.get("how", "live")
    lines = compare(mine, theirs, authentic, local)
    if not lines and how == "database":
        check_rejoin(site, local, opts)
    if lines:
        state.mark(STEP, "failed", differences=lines)
        first, second = site.nodes[0].name, site.nodes[1].name
        raise OnsiteError("pair-differs", {"peer": local.peer.name, "first": first, "second": second},
                          context=lines, exit_code=REFUSED)
    preferred = preferred_node(site, {local.me.name: mine.get("has_data"), local.peer.name: theirs.get("has_data")})
    _keep_facts(mine)
    state.mark(STEP, "done", how=how, peer=local.peer.name, site_digest=mine["site_digest"],
               lock_digest=mine["lock_digest"], preferred=preferred)
    say(messages.text("pair-agreed", peer=local.peer.name, site=pair_facts.short(mine["site_digest"]),
                      bundle=pair_facts.short(mine["lock_digest"]), how=messages.text(HOW[how])))
    return theirs


FACTS_REL = "var/lib/ha-installer/pair-facts.json"


def _keep_facts(facts, root="/"):
    """The facts this node agreed on, 0600 (they hold the secrets' fingerprints; the journal
    is world-readable); uninstall removes the file."""
    path = os.path.join(root, FACTS_REL)
    if not os.path.exists(path):
        state.append("created", path, root)
    state.atomic_write(path, json.dumps(facts, sort_keys=True), mode=0o600)


def _kept_facts(root="/"):
    try:
        with open(os.path.join(root, FACTS_REL)) as handle:
            facts = json.load(handle)
    except (OSError, ValueError):
        return None
    return facts if isinstance(facts, dict) else None


def adopt_bundle(lock_sha, root="/"):
    """After an upgrade: the facts this node agreed on now name lock_sha (journal and kept file),
    so verify, status and the peer's questions see the bundle it runs."""
    journal = state.load(root)
    agreed = journal.get("steps", {}).get(STEP)
    if agreed is not None:
        agreed["lock_digest"] = lock_sha
        state.save(journal, root)
    kept = _kept_facts(root)
    if kept is not None:
        kept["lock_digest"] = lock_sha
        _keep_facts(kept, root)


def installed_facts(site, local, root="/"):
    """This node's facts as installed: the bundle install agreed on (journal), not whichever
    .run verify or status happens to run from; the payload's when install never agreed."""
    agreed = state.load(root).get("steps", {}).get(STEP) or {}
    kept = _kept_facts(root) if agreed.get("status") == "done" else None
    if kept is not None:
        return kept               # the site as installed, secrets by fingerprint
    facts = pair_facts.of_this_node(site, local, agreed.get("lock_digest"))
    if not site.secrets or not any(site.secrets):
        facts = pair_facts.without_secrets(facts)
    return facts


def record_here(site, local, root="/"):
    """Write this node's facts into its own database, for the peer's later questions (verify,
    status, a later install); nothing when the database step has not run here."""
    logins = db_status.logins(root)
    if logins is None:
        return False
    nodefacts.write(logins.local, local.me.name, installed_facts(site, local, root))
    return True
