"""The database step of configure: master-master replication with the peer (issue 6).

check: a supported server is installed, the shared secrets are there, the server's include
dir is known, --seed-from names a node (changes nothing). apply: onsite.db.pairing.configure
(drop-in cnf, root password, users, initial data, channel, verify), then the keepalived role
hook and its 0600 login file. A second run with the same site changes nothing.
"""

import collections
import os
import subprocess

from onsite.db import paths as db_paths
from onsite.db import render as db_render
from onsite.db import secrets as db_secrets
from onsite.db import pairing as db_pairing
from onsite.db import server as db_server
from onsite.db import versions as db_versions
from onsite.core import fileops, messages
from onsite.pair import facts as pair_facts
from onsite.host import services, vrrp
from onsite.core import state
from onsite.db.client import find_program
from onsite.db.render import NodePlan, render_admin_defaults, render_role_hook
from onsite.core.errors import BAD_INPUT, OnsiteError

ADMIN_DEFAULTS = "/etc/ha-installer/db-admin.cnf"
ROLE_HOOK = os.path.join(vrrp.hook_dir(), "50-database")


# this step's own flags, frozen (configure and install build them once from the arguments)
# one_way: the peer's channel from here is paused on purpose (a rolling upgrade that changes
# the server: no replication from the newer to the older), so only the channel into here is proven
Options = collections.namedtuple("Options", "seed_from peer_secret peer_timeout verify_timeout rejoin one_way")
DEFAULTS = Options(seed_from=None, peer_secret=None, peer_timeout=600, verify_timeout=30, rejoin=False,
                   one_way=False)


def add_arguments(parser):
    group = parser.add_argument_group("database step")
    group.add_argument("--seed-from", metavar="NODE",
                       help="copy the app schemas from NODE to the other node (the other node's data is backed up, then replaced)")
    group.add_argument("--peer-secret", metavar="TEXT",
                       help="shared secret for the replication accounts when the site file has no [secrets]")
    group.add_argument("--peer-timeout", type=int, default=600, metavar="SECONDS",
                       help="how long to wait for the other node (default 600)")
    group.add_argument("--verify-timeout", type=int, default=30, metavar="SECONDS",
                       help="how long replication may take to prove itself (default 30)")
    group.add_argument("--rejoin", action="store_true",
                       help="rebuild this node against a healthy, paired peer: copy the peer's data here"
                            " (this node's is backed up first), the peer keeps serving")


def options(args):
    """Options from parsed arguments (a flag not given keeps its default)."""
    values = [getattr(args, key, None) for key in Options._fields]
    return Options(*[d if v is None else v for v, d in zip(values, DEFAULTS)])


def passwords(site, opts=DEFAULTS):
    """(replication, seed) passwords shared by both nodes: from the site file's [secrets]
    (written by node 1's 'site init'), else derived from --peer-secret."""
    secrets = site.secrets
    repl = secrets.replication_password if secrets else None
    seed = secrets.seed_password if secrets else None
    if opts.peer_secret:
        repl = repl or db_secrets.derive_password(opts.peer_secret, "replication")
        seed = seed or db_secrets.derive_password(opts.peer_secret, "seed")
    return repl, seed


def plan_for(site, local):
    nodes = list(site.nodes)
    index = nodes.index(local.me)
    # the node with the lower keepalived priority starts as the passive (read-only) one
    passive = local.me.priority < local.peer.priority
    return NodePlan(index=index, name=local.me.name, address=local.me.address,
                    peer_name=local.peer.name, peer_address=local.peer.address,
                    port=site.database.port, schemas=tuple(site.database.schemas),
                    passive=passive)


def check(site, local, opts=DEFAULTS):
    installed = db_server.detect_installed()
    if installed is None:
        raise OnsiteError("db-not-installed", exit_code=BAD_INPUT)
    try:
        db_versions.lookup(*installed)
    except db_versions.UnsupportedVersion:
        raise OnsiteError("db-unsupported", {"server": "{} {}".format(*installed)}, exit_code=BAD_INPUT)
    wanted = {"mariadb": db_versions.MARIADB, "mysql-community": db_versions.MYSQL}.get(
        site.database.flavour)
    if wanted and wanted != installed[0]:
        raise OnsiteError("db-flavour-mismatch", {"wanted": site.database.flavour,
                                                  "installed": "{} {}".format(
                                                      installed[0], ".".join(map(str, installed[1])))},
                          exit_code=BAD_INPUT)
    repl, seed = passwords(site, opts)
    if not repl:
        raise OnsiteError("db-no-peer-secret", {"key": "replication_password"}, exit_code=BAD_INPUT)
    if not seed:
        raise OnsiteError("db-no-peer-secret", {"key": "seed_password"}, exit_code=BAD_INPUT)
    names = [n.name for n in site.nodes]
    if opts.seed_from is not None and opts.seed_from not in names:
        raise OnsiteError("db-seed-from-unknown", {"value": opts.seed_from,
                                                   "nodes": ", ".join(names)}, exit_code=BAD_INPUT)
    directory = db_paths.cnf_dir()
    if directory is None:
        raise OnsiteError("db-no-includedir", exit_code=BAD_INPUT)
    bad = db_paths.dangerous_options(own_file=os.path.join(directory, "ha-replication.cnf"))
    if bad:
        raise OnsiteError("db-dangerous-option", context=bad, exit_code=BAD_INPUT)


def apply(site, local, opts=DEFAULTS, out=print):
    repl, seed = passwords(site, opts)
    socket = db_paths.socket()
    plan = plan_for(site, local)
    installed = db_server.detect_installed()
    facts_hint = db_versions.lookup(*installed)
    services.remember(facts_hint.service)
    cnf = os.path.join(db_paths.cnf_dir(), db_render.CNF_NAME)
    if not os.path.exists(cnf):
        state.append("created", cnf)          # our drop-in: uninstall removes it
    # what uninstall needs even when configure stops halfway
    state.remember("database", {"peer_address": plan.peer_address, "socket": socket,
                                "service": facts_hint.service, "cnf": cnf})
    ctx = db_pairing.DbContext(plan=plan, root="/", cnf_dir=db_paths.cnf_dir(), socket=socket,
                             repl_password=repl, seed_password=seed,
                             seed_from=opts.seed_from, peer_timeout=opts.peer_timeout,
                             verify_timeout=opts.verify_timeout, service=services, out=out,
                             node_facts=pair_facts.of_this_node(site, local), rejoin=bool(opts.rejoin),
                             one_way=bool(opts.one_way))
    summary = db_pairing.configure(ctx)
    facts = summary["facts"]
    changes = list(summary["changed"])
    if not services.is_enabled(facts.service):
        services.enable(facts.service)
        changes.append(messages.text("db-ch-enabled", service=facts.service))
    # kept on the node for status and the role hook (site.toml may leave the host)
    for key, value in (("replication_password", repl), ("seed_password", seed)):
        if db_secrets.get(key) != value:
            db_secrets.put(key, value)
    root_pw = db_secrets.get("root_password")
    changed, _ = fileops.install(ADMIN_DEFAULTS, render_admin_defaults(root_pw, socket), 0o600)
    if changed:
        changes.append(messages.text("ch-wrote", path=ADMIN_DEFAULTS))
    fileops.ensure_dir(os.path.dirname(ROLE_HOOK), 0o700)
    client = find_program(facts.client) or facts.client[0]
    changed, _ = fileops.install(ROLE_HOOK, render_role_hook(facts, client, ADMIN_DEFAULTS), 0o700)
    if changed:
        changes.append(messages.text("ch-wrote", path=ROLE_HOOK))
    role = align_role(facts, socket)
    if role:
        changes.append(role)
    # what 'status' needs later without the site file
    state.mark("database", "done", plan=dict(plan._asdict(), schemas=list(plan.schemas)),
               vip=site.cluster.vip, socket=socket, flavour=facts.flavour,
               version=list(facts.version))
    return changes


def align_role(facts, socket):
    """keepalived may have changed state before the hook existed (its step runs first): apply
    the current VRRP state once, through the hook so the change is logged like any other."""
    vrrp_state, _since = vrrp.read_state()
    if vrrp_state is None:
        return None
    from onsite.db.client import Connection
    admin = Connection("root", db_secrets.get("root_password"), socket=socket, client=facts.client)
    read_only = admin.value("SELECT @@GLOBAL.read_only") in ("1", "ON")
    want = vrrp_state != "MASTER"
    if vrrp_state not in vrrp.STATES or read_only == want:
        return None
    proc = subprocess.run([ROLE_HOOK, "INSTANCE", "ha-bundle", vrrp_state, "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    if proc.returncode != 0:
        raise OnsiteError("db-sql-failed", {"where": "role hook", "detail": proc.stdout.strip()})
    return messages.text("db-ch-read-only", value="ON" if want else "OFF", state=vrrp_state)

