"""Site file v1 (site.toml, or the same facts as flags): load, validate, freeze.

Everything later steps know about the site comes from here as immutable namedtuples, so
rendering code (keepalived.conf, my.cnf) is a pure function of them. Validation collects every
problem first and reports them together (a field engineer fixes the file once, not five times);
each message names the key (``cluster.vip``) or the flag (``--vip``). Nothing is changed on the
host by anything in this module.
"""

import collections
import ipaddress
import os
import re

from onsite.core import appspec, messages, state
from onsite._vendor import tomli
from onsite.core.errors import BAD_INPUT, OnsiteError
from onsite.host import addresses as host_addresses

SITE_VERSION = 1

Cluster = collections.namedtuple(
    "Cluster", "vip prefix network interface vrid vrrp_version advert_int pair_port sync_port")
Node = collections.namedtuple("Node", "name address priority")
App = collections.namedtuple("App", "port health_url fall rise process prefix")
Database = collections.namedtuple("Database", "schemas port flavour")
Secrets = collections.namedtuple("Secrets", "replication_password seed_password vrrp_password sync_password")
Site = collections.namedtuple("Site", "cluster nodes app database secrets source")
# Where this host stands: which node it is, its peer, and the interface holding its address
Local = collections.namedtuple("Local", "me peer interface")

# key -> (type check, default); None default with required=True means "must be given"
_REQUIRED = object()
SCHEMA = {
    "cluster": {
        "vip": _REQUIRED, "interface": None, "vrid": 51, "vrrp_version": 2, "advert_int": 1,
        "pair_port": 18081, "sync_port": 18873,
    },
    "node": {"name": _REQUIRED, "address": _REQUIRED, "priority": None},
    "app": {"port": 8081, "health_url": None, "fall": 1, "rise": 2, "process": None, "prefix": None},
    "database": {"schemas": ["itv"], "port": 3306, "flavour": None},
    "secrets": {"replication_password": None, "seed_password": None, "vrrp_password": None,
                "sync_password": None},
}
TOP_LEVEL = ("version", "cluster", "node", "app", "database", "secrets")
FLAVOURS = ("mariadb", "mysql-community")
DEFAULT_PRIORITIES = (150, 100)

# flag that sets each key (so errors about flags name the flag the engineer typed)
FLAGS = {
    "cluster.vip": "--vip", "cluster.interface": "--interface", "cluster.vrid": "--vrid",
    "cluster.vrrp_version": "--vrrp-version", "cluster.advert_int": "--advert-int",
    "cluster.pair_port": "--pair-port",
    "node": "--node", "app.port": "--app-port", "app.health_url": "--health-url",
    "app.process": "--app-process",
    "database.port": "--db-port", "database.schemas": "--db-schema",
    "database.flavour": "--db-flavour",
}


def _key_name(key):
    """A key as the engineer would type it in TOML: each part bare when it can be, else quoted
    (an empty or odd key in the file must still be recognisable in the message)."""
    parts = key.split(".", 1)
    out = []
    for part in parts:
        if re.match(r"^[A-Za-z0-9_-]+(\[\d+\])?$", part):
            out.append(part)
        else:
            out.append('"{}"'.format(part.replace("\\", "\\\\").replace('"', '\\"')))
    return ".".join(out)


class Problems(object):
    """Collects validation problems; raises one OnsiteError listing them all."""

    def __init__(self, source):
        self.source = source
        self.lines = []

    def add(self, key, reference, **params):
        """One problem with key: the message reference (site/catalog.py) and its values."""
        key = _key_name(key)
        flag = FLAGS.get(key) if self.source == "flags" else None
        text = messages.text(reference, **params)
        self.lines.append("{}: {}".format("{} ({})".format(key, flag) if flag else key, text))

    def raise_if_any(self):
        if self.lines:
            raise OnsiteError("site-invalid", {"count": len(self.lines), "path": self.source},
                              context=self.lines, exit_code=BAD_INPUT)


# --- loading ---------------------------------------------------------------------------------

def load_file(path):
    """Read and parse site.toml into a plain dict (no validation yet)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except (FileNotFoundError, IsADirectoryError):
        raise OnsiteError("site-not-found", {"path": path}, exit_code=BAD_INPUT)
    try:
        return tomli.loads(raw.decode("utf-8"))
    except (tomli.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise OnsiteError("site-syntax", {"path": path, "detail": str(exc)}, exit_code=BAD_INPUT)


def check_file_mode(path, data):
    """A site file with a [secrets] table must not be readable by group or others."""
    if not data.get("secrets"):
        return
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        raise OnsiteError("site-secrets-readable", {"path": path, "mode": "%04o" % mode}, exit_code=BAD_INPUT)


def add_arguments(parser):
    """The site facts as flags (same names as the file, see docs/lab.md / site.example.toml)."""
    group = parser.add_argument_group("site (site.toml or these flags; flags win)")
    group.add_argument("--site", metavar="FILE", help="site file (site.toml)")
    group.add_argument("--vip", help="virtual IP with prefix, e.g. 192.0.2.100/24")
    group.add_argument("--interface", help="interface for the VIP (default: the one holding this node's address)")
    group.add_argument("--vrid", type=_int_flag("--vrid"), help="VRRP router id 1-255 (default 51)")
    group.add_argument("--vrrp-version", type=_int_flag("--vrrp-version"), help="2 (default) or 3")
    group.add_argument("--advert-int", type=_number_flag("--advert-int"),
                       help="seconds between adverts (v2: whole seconds; v3: 0.01-40.95)")
    group.add_argument("--node", action="append", metavar="NAME=ADDRESS[,PRIORITY]",
                       help="a node; give it twice")
    group.add_argument("--pair-port", type=_int_flag("--pair-port"),
                       help="TCP port the two installers meet on before any change (default 18081)")
    group.add_argument("--app-port", type=_int_flag("--app-port"), help="application port (default 8081)")
    group.add_argument("--health-url", help="HTTP health URL (default: TCP connect to the app port)")
    group.add_argument("--app-process", help="app process name for keepalived track_process (real hosts only)")
    group.add_argument("--db-port", type=_int_flag("--db-port"), help="database port (default 3306)")
    group.add_argument("--db-schema", action="append", help="database schema to replicate (repeatable)")
    group.add_argument("--db-flavour", help="mariadb or mysql-community (default: what is installed)")


def _int_flag(flag):
    def convert(text):
        try:
            return int(text)
        except ValueError:
            raise _argparse_error(messages.text("sp-flag-int", flag=flag, got=text))
    return convert


def _number_flag(flag):
    def convert(text):
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                raise _argparse_error(messages.text("sp-flag-number", flag=flag, got=text))
    return convert


def _argparse_error(text):
    import argparse
    return argparse.ArgumentTypeError(text)


def from_args(args):
    """Site from --site and/or flags (flags override the file), validated and frozen."""
    data = {}
    source = "flags"
    if getattr(args, "site", None):
        source = args.site
        data = load_file(args.site)
        check_file_mode(args.site, data)
    overrides = {
        ("cluster", "vip"): args.vip, ("cluster", "interface"): args.interface,
        ("cluster", "vrid"): args.vrid, ("cluster", "vrrp_version"): args.vrrp_version,
        ("cluster", "advert_int"): args.advert_int, ("cluster", "pair_port"): getattr(args, "pair_port", None),
        ("app", "port"): args.app_port,
        ("app", "health_url"): args.health_url, ("app", "process"): args.app_process,
        ("database", "port"): args.db_port,
        ("database", "schemas"): args.db_schema, ("database", "flavour"): args.db_flavour,
    }
    for (table, key), value in overrides.items():
        if value is not None:
            data.setdefault(table, {})[key] = value
    if args.node:
        problems = Problems("flags")
        data["node"] = [_node_flag(text, problems) for text in args.node]
        problems.raise_if_any()
    return with_bundled_app(validate(data, source))


def with_bundled_app(site, spec=None):
    """The site as this bundle runs it: a bundle that carries the app decides the app's port,
    and its health path is the check's default. (The app listens where its release says.)"""
    spec = spec or appspec.bundled()
    if spec is None:
        return site
    url = site.app.health_url or appspec.health_url(spec)
    return site._replace(app=site.app._replace(port=spec.port, health_url=url))


def _node_flag(text, problems):
    name, sep, rest = text.partition("=")
    address, _, priority = rest.partition(",")
    node = {"name": name.strip(), "address": address.strip()}
    if not sep or not name or not address:
        problems.add("node", "sp-node-flag", text=text)
    if priority:
        try:
            node["priority"] = int(priority)
        except ValueError:
            problems.add("node", "sp-node-priority", text=text)
    return node


# --- validation ------------------------------------------------------------------------------

def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _want_int(problems, key, value, low, high):
    if not _is_int(value) or not low <= value <= high:
        problems.add(key, "sp-int-range", low=low, high=high, got=repr(value))
        return False
    return True


def _want_str(problems, key, value):
    if not isinstance(value, str) or not value.strip():
        problems.add(key, "sp-string", got=repr(value))
        return False
    return True


def _table(problems, data, name, array=False):
    """Return the table's items with defaults filled; unknown keys are problems."""
    schema = SCHEMA[name]
    value = data.get(name, [] if array else {})
    rows = value if array else [value]
    if array and not isinstance(value, list) or not all(isinstance(r, dict) for r in rows):
        problems.add(name, "sp-table-array" if array else "sp-table", name=name)
        return []
    out = []
    for index, row in enumerate(rows):
        prefix = "{}[{}]".format(name, index) if array else name
        for key in sorted(row):
            if key not in schema:
                problems.add("{}.{}".format(prefix, key), "sp-unknown-key", known=", ".join(sorted(schema)))
        filled = {}
        for key, default in schema.items():
            if key in row:
                filled[key] = row[key]
            elif default is _REQUIRED:
                problems.add("{}.{}".format(prefix, key), "sp-required")
                filled[key] = None
            else:
                filled[key] = list(default) if isinstance(default, list) else default
        out.append((prefix, filled))
    return out


def validate(data, source="site.toml"):
    """Turn a parsed dict into a frozen Site, or raise OnsiteError listing every problem."""
    problems = Problems(source)
    for key in sorted(data):
        if key not in TOP_LEVEL:
            problems.add(key, "sp-unknown-top", known=", ".join(TOP_LEVEL))
    if "version" in data and data["version"] != SITE_VERSION:
        problems.add("version", "sp-version", version=SITE_VERSION, got=repr(data["version"]))

    cluster = _cluster(problems, _table(problems, data, "cluster"))
    nodes = _nodes(problems, _table(problems, data, "node", array=True), cluster)
    app = _app(problems, _table(problems, data, "app"))
    database = _database(problems, _table(problems, data, "database"))
    secrets = _secrets(problems, _table(problems, data, "secrets"), cluster, "secrets" in data)
    problems.raise_if_any()
    return Site(cluster, tuple(nodes), app, database, secrets, source)


def _cluster(problems, rows):
    if not rows:
        return None
    _, c = rows[0]
    vip = prefix = network = None
    if c["vip"] is not None and _want_str(problems, "cluster.vip", c["vip"]):
        if "/" not in c["vip"]:
            problems.add("cluster.vip", "sp-vip-prefix", vip=c["vip"])
        else:
            try:
                iface = ipaddress.IPv4Interface(c["vip"])
                vip, prefix, network = str(iface.ip), iface.network.prefixlen, iface.network
                if iface.ip in (network.network_address, network.broadcast_address) and prefix < 31:
                    problems.add("cluster.vip", "sp-vip-network", vip=vip, network=network)
            except ValueError:
                problems.add("cluster.vip", "sp-vip-invalid", got=repr(c["vip"]))
    interface = c["interface"]
    if interface is not None and (not isinstance(interface, str) or not re.match(r"^[A-Za-z0-9_.:-]{1,15}$", interface)):
        problems.add("cluster.interface", "sp-interface", got=repr(interface))
        interface = None
    _want_int(problems, "cluster.vrid", c["vrid"], 1, 255)
    _want_int(problems, "cluster.pair_port", c["pair_port"], 1, 65535)
    _want_int(problems, "cluster.sync_port", c["sync_port"], 1, 65535)
    version = c["vrrp_version"]
    if version not in (2, 3) or isinstance(version, bool):
        problems.add("cluster.vrrp_version", "sp-vrrp-version", got=repr(version))
    advert = c["advert_int"]
    if isinstance(advert, bool) or not isinstance(advert, (int, float)):
        problems.add("cluster.advert_int", "sp-advert-number", got=repr(advert))
    elif version == 3:
        # keepalived: VRRPv3 adverts are in centiseconds, 0.01-40.95 s
        if not 0.01 <= advert <= 40.95 or abs(advert * 100 - round(advert * 100)) > 1e-9:
            problems.add("cluster.advert_int", "sp-advert-v3", got=repr(advert))
    elif not _is_int(advert) or not 1 <= advert <= 255:
        # keepalived 2.0.20 rejects a fractional VRRPv2 advert_int ("must be an integer")
        problems.add("cluster.advert_int", "sp-advert-v2", got=repr(advert))
    return Cluster(vip, prefix, network, interface, c["vrid"], version, advert, c["pair_port"],
                   c["sync_port"])


def _nodes(problems, rows, cluster):
    if len(rows) != 2:
        problems.add("node", "sp-two-nodes", found=len(rows))
    nodes = []
    seen_names, seen_addresses = {}, {}
    for index, (prefix, n) in enumerate(rows):
        name, address, priority = n["name"], n["address"], n["priority"]
        if name is not None and _want_str(problems, prefix + ".name", name):
            if not re.match(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$", name):
                problems.add(prefix + ".name", "sp-node-name", got=repr(name))
            if name in seen_names:
                problems.add(prefix + ".name", "sp-node-name-twice", got=repr(name), other=seen_names[name])
            seen_names.setdefault(name, prefix)
        if address is not None and _want_str(problems, prefix + ".address", address):
            try:
                ip = ipaddress.IPv4Address(address)
            except ValueError:
                problems.add(prefix + ".address", "sp-node-address", got=repr(address))
                ip = None
            if ip is not None:
                if address in seen_addresses:
                    problems.add(prefix + ".address", "sp-address-twice", address=address, other=seen_addresses[address])
                seen_addresses.setdefault(address, prefix + ".address")
                if cluster is not None and cluster.vip:
                    if address == cluster.vip:
                        problems.add(prefix + ".address", "sp-address-is-vip", address=address)
                    elif ip not in cluster.network:
                        problems.add("cluster.vip", "sp-vip-subnet", vip=cluster.vip, prefix=cluster.prefix,
                                     field=prefix + ".address", address=address, network=cluster.network)
        if priority is None:
            priority = DEFAULT_PRIORITIES[index] if index < 2 else 100
        else:
            _want_int(problems, prefix + ".priority", priority, 1, 254)
        nodes.append(Node(name, address, priority))
    if len(nodes) == 2 and nodes[0].priority == nodes[1].priority and _is_int(nodes[0].priority):
        problems.add("node[1].priority", "sp-priority-same", priority=nodes[0].priority)
    return nodes


def _app(problems, rows):
    _, a = rows[0] if rows else ("app", SCHEMA["app"])
    _want_int(problems, "app.port", a["port"], 1, 65535)
    url = a["health_url"]
    if url is not None and (not isinstance(url, str) or not re.match(r"^https?://[^\s'\"]+$", url)):
        problems.add("app.health_url", "sp-health-url", got=repr(url))
    _want_int(problems, "app.fall", a["fall"], 1, 10)
    _want_int(problems, "app.rise", a["rise"], 1, 10)
    process = a["process"]
    if process is not None and (not isinstance(process, str) or not re.match(r"^[A-Za-z0-9_.:-]{1,15}$", process)):
        # keepalived matches the Name: of /proc/PID/status, at most 15 characters
        problems.add("app.process", "sp-process", got=repr(process))
    prefix = a["prefix"]
    if prefix is not None and (not isinstance(prefix, str) or not re.match(r"^/[A-Za-z0-9_./-]{1,200}$", prefix)
                               or "/../" in prefix + "/" or "/./" in prefix + "/"
                               or prefix.rstrip("/") in ("", "/etc", "/usr", "/var", "/opt", "/root", "/home")):
        # the app's releases live below it (<prefix>/releases/<version>, <prefix>/current)
        problems.add("app.prefix", "sp-app-prefix", got=repr(prefix))
    return App(a["port"], url, a["fall"], a["rise"], process, prefix.rstrip("/") if isinstance(prefix, str) else None)


def _database(problems, rows):
    _, d = rows[0] if rows else ("database", SCHEMA["database"])
    schemas = d["schemas"]
    if not isinstance(schemas, list) or not schemas or not all(
            isinstance(s, str) and re.match(r"^[A-Za-z0-9_$]{1,64}$", s) for s in schemas):
        problems.add("database.schemas", "sp-schemas", got=repr(schemas))
        schemas = []
    _want_int(problems, "database.port", d["port"], 1, 65535)
    flavour = d["flavour"]
    if flavour is not None and flavour not in FLAVOURS:
        problems.add("database.flavour", "sp-flavour", known=", ".join(FLAVOURS), got=repr(flavour))
    return Database(tuple(schemas), d["port"], flavour)


def _secrets(problems, rows, cluster, present):
    if not present or not rows:
        return None
    _, s = rows[0]
    for key in ("replication_password", "seed_password", "sync_password"):
        value = s[key]
        if value is not None and (not isinstance(value, str) or not re.match(r"^[\x21-\x7e]{12,128}$", value)
                                  or "'" in value or "\\" in value):
            problems.add("secrets." + key, "sp-secret")
    vrrp = s["vrrp_password"]
    if vrrp is not None:
        if not isinstance(vrrp, str) or not re.match(r"^[\x21-\x7e]{1,8}$", vrrp) or '"' in vrrp:
            # keepalived uses only the first 8 characters of auth_pass (VRRPv2 simple auth)
            problems.add("secrets.vrrp_password", "sp-vrrp-password")
        elif cluster is not None and cluster.vrrp_version == 3:
            problems.add("secrets.vrrp_password", "sp-vrrp-v3-auth")
    return Secrets(s["replication_password"], s["seed_password"], vrrp, s["sync_password"])


# --- where am I ------------------------------------------------------------------------------

def locate(site, addresses=None):
    """Which node this host is (by its addresses), its peer, and the VIP interface."""
    if addresses is None:
        addresses = host_addresses.ipv4()
    mine = [n for n in site.nodes if any(a[1] == n.address for a in addresses)]
    listed = ", ".join(n.address for n in site.nodes)
    if not mine:
        raise OnsiteError("site-not-this-host", {"addresses": listed}, exit_code=BAD_INPUT)
    if len(mine) > 1:
        raise OnsiteError("site-both-nodes-here", {"addresses": listed}, exit_code=BAD_INPUT)
    me = mine[0]
    peer = [n for n in site.nodes if n is not me][0]
    holder = [a[0] for a in addresses if a[1] == me.address][0]
    interface = site.cluster.interface or holder
    if interface not in set(a[0] for a in addresses) and not os.path.exists("/sys/class/net/" + interface):
        raise OnsiteError("site-no-interface", {"interface": interface, "address": me.address}, exit_code=BAD_INPUT)
    return Local(me, peer, interface)


# --- remembered site (no secrets) -----------------------------------------------------------

SNAPSHOT_STEP = "site"


def to_dict(site):
    """The site as a plain dict in site-file form, without [secrets] (state.json is 0644)."""
    c = site.cluster
    return {
        "version": SITE_VERSION,
        "cluster": dict((k, v) for k, v in (
            ("vip", "{}/{}".format(c.vip, c.prefix)), ("interface", c.interface), ("vrid", c.vrid),
            ("vrrp_version", c.vrrp_version), ("advert_int", c.advert_int),
            ("pair_port", c.pair_port), ("sync_port", c.sync_port)) if v is not None),
        "node": [{"name": n.name, "address": n.address, "priority": n.priority} for n in site.nodes],
        "app": dict((k, v) for k, v in site.app._asdict().items() if v is not None),
        "database": {"schemas": list(site.database.schemas), "port": site.database.port,
                     **({"flavour": site.database.flavour} if site.database.flavour else {})},
    }


def remember(site, root="/"):
    """Record the validated site in the state journal so status, verify and collect work after
    the site file has left the host."""
    state.mark(SNAPSHOT_STEP, "done", root=root, site=to_dict(site))


def from_state(root="/"):
    """The remembered site, or None."""
    entry = state.load(root).get("steps", {}).get(SNAPSHOT_STEP) or {}
    data = entry.get("site")
    if not data:
        return None
    return with_bundled_app(validate(data, state.state_path(root)))


def from_args_or_state(args, root="/"):
    """--site/flags when given, else the site configure recorded; OnsiteError when neither."""
    if any(getattr(args, k, None) for k in ("site", "vip", "node")):
        return from_args(args)
    site = from_state(root)
    if site is None:
        raise OnsiteError("site-needed", exit_code=BAD_INPUT)
    return site
