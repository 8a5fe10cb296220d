"""``preflight``: can this site work? Read-only checks before anything is installed or changed.

Each check is a function ctx -> checks.Result (or None when it does not apply) in CHECKS; add a
check by appending a function. Output: a table PASS/WARN/FAIL with the fix for each FAIL (or
``--json``); exit 1 when anything FAILs. Nothing here writes a file, a rule, an address or a
package: the only traffic is ARP (arping), ICMP timestamps (clockdiff) and, when clockdiff is
missing, one HTTP request to the peer's app port.

Checks that need the site (node, interface, VIP, peer, time skew) run when --site or the site
flags are given, or when configure recorded a site on this host; without any, preflight says
so and checks the host and the bundle only.
"""

import collections
import ipaddress
import os
import re
import subprocess
import sys
import time

from onsite.core import appspec, checks, messages, payload
from onsite.core.checks import FAIL, PASS, WARN, result
from onsite.core.errors import OnsiteError
from onsite.db import paths as db_paths
from onsite.failover import keepalived_step
from onsite.host import addresses, ports, rpmdb, services, target, tools, vrrp
from onsite.host import arp as arpcheck
from onsite.host.programs import which
from onsite.site import sitefile as site_mod

# a database port is "held by the expected service" when one of these listens on it
DB_DAEMONS = ("mysqld", "mariadbd", "mysqld_safe")
SYSTEM_SCHEMAS = ("mysql", "performance_schema", "sys", "information_schema", "ha_bundle",
                  "lost+found", "test")
DB_SPACE_MIB = 1024            # free space the database needs besides a copy of existing data
SKEW_WARN, SKEW_FAIL = 2.0, 120.0


def _err(name, exc, status=FAIL, side="here"):
    return checks.from_error(name, exc, side=side, status=status)


# --- host and bundle -------------------------------------------------------------------------

def check_root(ctx):
    if os.geteuid() == 0:
        return result("root", PASS, messages.text("pf-root"))
    return result("root", FAIL, messages.text("pf-not-root", uid=os.geteuid()), messages.hint("pf-not-root"))


def check_python(ctx):
    version = "{}.{}.{}".format(*sys.version_info[:3])
    ok = sys.version_info >= (3, 6)
    return result("python", PASS if ok else FAIL, messages.text("pf-python", version=version),
                  "" if ok else messages.hint("pf-python"))


def check_target(ctx):
    if ctx.lock is None:
        return _err("os-arch", ctx.lock_error)
    try:
        desc = target.check(ctx.lock, ctx.root)
    except OnsiteError as exc:
        return _err("os-arch", exc)
    return result("os-arch", PASS, messages.text("install-target-ok", desc=desc,
                                                 want=target.describe_want(ctx.lock["target"])))


def check_rpm(ctx):
    if which("rpm") is not None:
        return result("rpm", PASS, messages.text("pf-rpm"))
    return result("rpm", FAIL, messages.text("rpm-missing"), messages.hint("pf-rpm"))


def check_payload(ctx):
    if ctx.lock is None:
        return None
    pkgs = payload.locked_packages(ctx.lock)
    missing = [p["filename"] for p in pkgs if not os.path.isfile(os.path.join(ctx.dir, p["filename"]))]
    if missing:
        return result("bundle", FAIL, messages.text("payload-rpm-missing", count=len(missing)),
                      messages.hint("payload-rpm-missing", count=len(missing)))
    return result("bundle", PASS, messages.text("pf-payload", count=len(pkgs)))


def _free_mib(path):
    while not os.path.exists(path):
        path = os.path.dirname(path)
    stat = os.statvfs(path)
    return path, stat.f_bavail * stat.f_frsize // (1 << 20)


def check_space(ctx):
    if ctx.lock is None:
        return None
    pkgs = payload.locked_packages(ctx.lock)
    # installed size is unknown without reading headers; three times the RPM size is generous
    need = 3 * sum(int(p.get("size") or 0) for p in pkgs) // (1 << 20) + 64
    path, free = _free_mib(os.path.join(ctx.root, "usr"))
    ok = free >= need
    return result("disk-packages", PASS if ok else FAIL, messages.text("pf-space", path=path, free=free, need=need),
                  "" if ok else messages.hint("pf-space", path=path))


def check_rpm_test(ctx):
    if ctx.lock is None or which("rpm") is None:
        return None
    try:
        pkgs = payload.locked_packages(ctx.lock)
        todo = rpmdb.needed(pkgs, ctx.installed())
        if not todo:
            return result("rpm-test", PASS, messages.text("pf-rpm-test-none"))
        files = [os.path.join(ctx.dir, p["filename"]) for p in todo]
        code, output = rpmdb.run(["-U", "--test"] + files, ctx.root)
    except OnsiteError as exc:
        return _err("rpm-test", exc)
    if code == 0:
        return result("rpm-test", PASS, messages.text("pf-rpm-test", todo=len(todo)))
    lines = [messages.text("pf-rpm-test-bad")] + ["  - " + line for line in rpmdb.explain(output)]
    missing, unexpected = rpmdb.baseline_differences(ctx.lock, ctx.installed(), output)
    if missing or unexpected:
        lines += ["  - " + line for line in rpmdb.difference_lines(missing, unexpected)]
        return result("rpm-test", FAIL, "\n".join(lines), messages.hint("install-baseline-differs", log="-"))
    return result("rpm-test", FAIL, "\n".join(lines), messages.hint("pf-rpm-test-bad"))


def check_baseline(ctx):
    """The bundle was resolved against a modelled host (the lock's baseline): say what differs."""
    if ctx.lock is None or not ctx.lock.get("baseline") or which("rpm") is None:
        return None
    try:
        missing, _ = rpmdb.baseline_differences(ctx.lock, ctx.installed())
    except OnsiteError as exc:
        return _err("baseline", exc)
    if not missing:
        return result("baseline", PASS, messages.text("pf-baseline", count=len(ctx.lock["baseline"])))
    names = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
    return result("baseline", WARN, messages.text("pf-baseline-missing", count=len(missing), names=names),
                  messages.hint("pf-baseline-missing"))


def bundle_flavour(lock):
    names = set(p["name"] for p in payload.locked_packages(lock or {}))
    if any(n.startswith("mysql-community-server") for n in names):
        return "mysql-community", names
    if any(n.startswith("mariadb-server") or n == "mariadb" for n in names):
        return "mariadb", names
    return None, names


def check_conflicts(ctx):
    """mariadb vs mysql-community: the old runbook's el7 hosts come with mariadb-libs."""
    flavour, names = bundle_flavour(ctx.lock)
    if flavour is None or which("rpm") is None:
        return None
    try:
        have = set(name for name, _arch in ctx.installed())
    except OnsiteError as exc:
        return _err("packages", exc)
    if flavour == "mysql-community":
        for other in ("mariadb-server", "mariadb-galera-server", "MariaDB-server"):
            if other in have:
                return result("packages", FAIL, messages.text("pf-conflict", have=other, want="mysql-community-server"),
                              messages.hint("pf-conflict", have=other))
        if "mariadb-libs" in have:
            compat = "mysql-community-libs-compat" in names
            return result("packages", PASS if compat else WARN, messages.text(
                "pf-conflict-libs", compat=messages.text("pf-with-compat") if compat else ""),
                "" if compat else messages.hint("pf-conflict-libs"))
    else:
        for other in ("mysql-community-server", "mysql-server", "mysql-community-libs"):
            if other in have:
                return result("packages", FAIL, messages.text("pf-conflict", have=other, want="mariadb-server"),
                              messages.hint("pf-conflict", have=other))
    return result("packages", PASS, messages.text("pf-conflict-none", flavour=flavour))


def check_ports(ctx):
    site = ctx.site
    db_port = site.database.port if site else 3306
    app_port = site.app.port if site else 8081
    bundled = appspec.bundled()
    out = []
    for port, what, expected in ((db_port, "database", DB_DAEMONS),
                                 (app_port, "application", (site.app.process,) if site and site.app.process else None)):
        procs = ports.listeners(port)
        names = ", ".join("{} (pid {})".format(c, p) if p else c for p, c in procs)
        name = "port-{}".format(port)
        if what == "application" and bundled is not None:
            # the bundle runs the app itself: the port must be free, or be its own service's
            if not procs:
                out.append(result(name, PASS, messages.text("pf-port-free", port=port, what=what)))
            elif services.is_active(bundled.name):
                out.append(result(name, PASS, messages.text("pf-port-expected", port=port, what=what, procs=names)))
            else:
                out.append(result(name, FAIL, messages.text("pf-port-other", port=port, what=what, procs=names),
                                  messages.hint("pf-port-other", port=port, what=what)))
            continue
        if not procs:
            if what == "application":
                out.append(result(name, WARN, messages.text("pf-app-down", port=port), messages.hint("pf-app-down")))
            else:
                out.append(result(name, PASS, messages.text("pf-port-free", port=port, what=what)))
        elif expected is None or all(c in expected for _p, c in procs):
            out.append(result(name, PASS, messages.text("pf-port-expected", port=port, what=what, procs=names)))
        else:
            out.append(result(name, FAIL, messages.text("pf-port-other", port=port, what=what, procs=names),
                              messages.hint("pf-port-other", port=port, what=what)))
    return out


def _user_schemas(datadir):
    try:
        entries = sorted(os.listdir(datadir))
    except OSError:
        return []
    return [e for e in entries if os.path.isdir(os.path.join(datadir, e)) and e not in SYSTEM_SCHEMAS
            and not e.startswith("#")]


def _size_mib(path):
    total = 0
    for top, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.lstat(os.path.join(top, name)).st_size
            except OSError:
                pass
    return total // (1 << 20)


def check_db_space(ctx):
    datadir = ctx.datadir
    existing = sum(_size_mib(os.path.join(datadir, s)) for s in _user_schemas(datadir))
    need = DB_SPACE_MIB + existing          # a backup copy before any seeding
    path, free = _free_mib(datadir)
    ok = free >= need
    return result("disk-database", PASS if ok else FAIL, messages.text("pf-db-space", path=path, free=free, need=need),
                  "" if ok else messages.hint("pf-db-space", path=path))


def check_existing_data(ctx):
    datadir = ctx.datadir
    schemas = _user_schemas(datadir)
    if not schemas:
        return result("existing-data", PASS, messages.text("pf-data-none", datadir=datadir))
    size = sum(_size_mib(os.path.join(datadir, s)) for s in schemas)
    return result("existing-data", WARN, messages.text("pf-data", datadir=datadir, schemas=", ".join(schemas),
                                                       size=size), messages.hint("pf-data"))


def _read(path):
    try:
        with open(path) as handle:
            return handle.read().strip()
    except OSError:
        return None


SCRIPT_TYPE = "keepalived_unconfined_script_exec_t"


def _script_label(directory):
    """SELinux type of our keepalived check script (None: not there or no label)."""
    try:
        raw = os.getxattr(os.path.join(directory, "check_app"), "security.selinux")
    except (OSError, AttributeError):
        return None
    parts = raw.decode("ascii", "replace").rstrip("\0").split(":")
    return parts[2] if len(parts) > 2 else None


def check_selinux(ctx):
    fs = ctx.selinuxfs
    enforce = _read(os.path.join(fs, "enforce"))
    if enforce is None:
        return [result("selinux", PASS, messages.text("pf-selinux-none"))]
    mode = "enforcing" if enforce == "1" else "permissive"
    out = []
    site = ctx.site
    app_port = site.app.port if site else 8081
    db_port = site.database.port if site else 3306
    status = FAIL if mode == "enforcing" else WARN
    boolean = _read(os.path.join(fs, "booleans", "keepalived_connect_any"))
    if boolean is not None and boolean.split()[0] == "0":
        out.append(result("selinux", status, messages.text("pf-selinux-bool", mode=mode, name="keepalived_connect_any",
                                                           port=app_port),
                          messages.hint("pf-selinux-bool", name="keepalived_connect_any")))
    if db_port != 3306:
        semanage = which("semanage")
        if semanage is None:
            out.append(result("selinux", WARN, messages.text("pf-selinux-noseman", mode=mode, port=db_port),
                              messages.hint("pf-selinux-noseman")))
        else:
            listing = tools.run([semanage, "port", "-l"], stderr=subprocess.DEVNULL).stdout
            labelled = any(line.startswith("mysqld_port_t") and str(db_port) in re.split(r"[\s,]+", line)
                           for line in listing.splitlines())
            if not labelled:
                out.append(result("selinux", status, messages.text("pf-selinux-port", mode=mode, port=db_port),
                                  messages.hint("pf-selinux-port", port=db_port)))
    label = _script_label(ctx.script_dir)
    if mode == "enforcing" and label not in (None, SCRIPT_TYPE):
        # keepalived runs check/notify scripts in keepalived_unconfined_script_t only when they
        # carry this type; under /etc/keepalived they get keepalived_etc_t (unverified on a real
        # RHEL host here, hence a warning and not a failure)
        out.append(result("selinux", WARN, messages.text("pf-selinux-label", mode=mode, label=label, want=SCRIPT_TYPE),
                          messages.hint("pf-selinux-label", want=SCRIPT_TYPE)))
    if not out:
        extra = "" if boolean is None else ", keepalived_connect_any on"
        out.append(result("selinux", PASS, messages.text("pf-selinux", mode=mode, extra=extra)))
    return out


# --- the site: which node, interface, VIP, peer, clocks -------------------------------------

def check_site(ctx):
    if ctx.site is None:
        return result("site", WARN, messages.text("pf-no-site"), messages.hint("pf-no-site"))
    if ctx.local is None:
        return _err("node", ctx.locate_error)
    local = ctx.local
    out = [result("node", PASS, messages.text("pf-node", name=local.me.name, address=local.me.address,
                                              peer_name=local.peer.name, peer=local.peer.address))]
    mine = [a for a in ctx.addresses if a[1] == local.me.address]
    iface, _addr, prefix = mine[0]
    if iface != local.interface:
        out.append(result("interface", FAIL, messages.text("pf-iface-other", interface=local.interface,
                                                           address=local.me.address, actual=iface),
                          messages.hint("pf-iface-other", actual=iface)))
    else:
        out.append(result("interface", PASS, messages.text("pf-iface", interface=iface, address=local.me.address,
                                                           prefix=prefix)))
    site = ctx.site
    network = ipaddress.IPv4Interface("{}/{}".format(local.me.address, prefix)).network
    vip = site.cluster.vip
    if ipaddress.IPv4Address(vip) not in network:
        out.append(result("vip-subnet", FAIL, messages.text("pf-subnet-bad", vip=vip, network=network, interface=iface),
                          messages.hint("pf-subnet-bad", network=network, interface=iface)))
    elif site.cluster.prefix != prefix:
        out.append(result("vip-subnet", WARN, messages.text("pf-subnet-prefix", vip_prefix=site.cluster.prefix,
                                                            prefix=prefix),
                          messages.hint("pf-subnet-prefix", vip=vip, prefix=prefix)))
    else:
        out.append(result("vip-subnet", PASS, messages.text("pf-subnet", vip=vip, network=network)))
    return out


def check_vip_free(ctx):
    if ctx.local is None:
        return None
    site, local = ctx.site, ctx.local
    try:
        where = keepalived_step.check_vip_free(site, local)
    except OnsiteError as exc:
        return _err("vip-free", exc)
    if where == keepalived_step.FREE:
        return result("vip-free", PASS, messages.text("pf-vip-free", vip=site.cluster.vip, interface=local.interface))
    return result("vip-free", PASS, messages.text("pf-vip-ours", vip=site.cluster.vip, where=where))


def check_peer(ctx):
    local = ctx.local
    if local is None:
        return None
    try:
        macs = arpcheck.who_has(local.interface, local.peer.address)
    except OnsiteError:
        macs = []
    how = "ARP ({})".format(", ".join(macs)) if macs else None
    if how is None and which("ping"):
        proc = subprocess.run(["ping", "-c", "1", "-W", "2", local.peer.address], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
        how = "ping" if proc.returncode == 0 else None
    if how is None:
        return result("peer", FAIL, messages.text("pf-peer-bad", name=local.peer.name, address=local.peer.address,
                                                  interface=local.interface),
                      messages.hint("pf-peer-bad", name=local.peer.name), "peer")
    return result("peer", PASS, messages.text("pf-peer", name=local.peer.name, address=local.peer.address,
                                              how=how, interface=local.interface))


def measure_skew(local, app_port):
    """(seconds peer minus here, how) or (None, why). clockdiff (ICMP timestamps, iputils) is
    millisecond-exact; the HTTP Date header of the peer's app is the fallback (1 s steps)."""
    why = []
    path = which("clockdiff")
    if path:
        proc = tools.run([path, local.peer.address], timeout=20)
        fields = proc.stdout.split()
        # last line: "<epoch> <delta1 ms> <delta2 ms>"; delta = peer - here
        if proc.returncode == 0 and len(fields) >= 3 and all(re.match(r"^-?\d+$", f) for f in fields[-3:]):
            return int(fields[-2]) / 1000.0, "clockdiff"
        why.append("clockdiff: " + (proc.stdout.strip().splitlines() or ["exit %d" % proc.returncode])[-1])
    else:
        why.append(messages.text("pf-why-no-clockdiff"))
    try:
        from email.utils import parsedate_to_datetime
        from urllib import request as urlrequest
        opener = urlrequest.build_opener(urlrequest.ProxyHandler({}))
        before = time.time()
        resp = opener.open("http://{}:{}/".format(local.peer.address, app_port), timeout=3)
        after = time.time()
        date = resp.headers.get("Date")
        resp.close()
        if date:
            peer = parsedate_to_datetime(date).timestamp()
            return peer - (before + after) / 2.0, messages.text("pf-how-http-date")
        why.append(messages.text("pf-why-no-date"))
    except Exception as exc:
        why.append("HTTP {}:{}: {}".format(local.peer.address, app_port, getattr(exc, "reason", None) or exc))
    return None, "; ".join(why)


def check_time(ctx):
    local = ctx.local
    if local is None:
        return None
    skew, how = measure_skew(local, ctx.site.app.port)
    if skew is None:
        return result("clock", WARN, messages.text("pf-skew-unknown", name=local.peer.name, detail=how),
                      messages.hint("pf-skew-unknown"), "both")
    text_skew = "%+.1f" % skew
    if abs(skew) > SKEW_FAIL:
        return result("clock", FAIL, messages.text("pf-skew-bad", name=local.peer.name, skew=text_skew, how=how),
                      messages.hint("pf-skew-bad"), "both")
    if abs(skew) > SKEW_WARN:
        return result("clock", WARN, messages.text("pf-skew-bad", name=local.peer.name, skew=text_skew, how=how),
                      messages.hint("pf-skew-bad"), "both")
    return result("clock", PASS, messages.text("pf-skew", name=local.peer.name, skew=text_skew, how=how))


CHECKS = [check_root, check_python, check_target, check_rpm, check_payload, check_space, check_baseline,
          check_rpm_test,
          check_conflicts, check_site, check_vip_free, check_peer, check_time, check_ports,
          check_db_space, check_selinux, check_existing_data]


def _site_given(args):
    return any(getattr(args, k, None) for k in ("site", "vip", "node"))


# what the checks read, gathered once (installed: a function, rpm is asked at most once)
Context = collections.namedtuple("Context", "root dir lock lock_error site local locate_error "
                                            "addresses datadir selinuxfs script_dir installed")


def make_context(**values):
    """A Context with defaults for what values leaves out (tests build partial ones)."""
    base = dict(root="/", dir=None, lock=None, lock_error=None, site=None, local=None,
                locate_error=None, addresses=[], datadir="/var/lib/mysql",
                selinuxfs="/sys/fs/selinux", script_dir=vrrp.SCRIPT_DIR, installed=lambda: {})
    base.update(values)
    return Context(**base)


def _once(function):
    """function() the first time, the same value after (the rpm database is read once)."""
    cache = []

    def call():
        if not cache:
            cache.append(function())
        return cache[0]
    return call


def context(args):
    """Everything the checks read, gathered once. A bad site file raises here (exit 11, every
    problem named by key) before any check runs."""
    directory = payload.payload_dir()
    root = os.path.abspath(getattr(args, "root", "/") or "/")
    lock = lock_error = site = local = locate_error = None
    found = []
    try:
        lock = payload.load_lock(directory)
    except OnsiteError as exc:
        lock_error = exc
    if _site_given(args):
        site = site_mod.from_args(args)
    elif root == "/":        # a re-run after configure: the site it recorded
        site = site_mod.from_state()
    if site is not None:
        found = addresses.ipv4()
        try:
            local = site_mod.locate(site, found)
        except OnsiteError as exc:
            locate_error = exc
    return make_context(root=root, dir=directory, lock=lock, lock_error=lock_error, site=site,
                        local=local, locate_error=locate_error, addresses=found,
                        datadir=db_paths.datadir(),
                        installed=_once(lambda: rpmdb.installed(root)))


def run_checks(ctx):
    results = []
    for check in CHECKS:
        found = check(ctx)
        if found is None:
            continue
        results.extend(found if isinstance(found, list) else [found])
    return results
