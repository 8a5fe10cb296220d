"""``collect``: one tar.gz for the build team: our logs, the configs we wrote or read, status,
and what the network and firewall look like. Changes nothing except writing the archive.

Secrets never leave the host: every value we know is secret (secrets.toml, the site's
[secrets], db-admin.cnf, keepalived auth_pass) is replaced wherever it appears, and every line
that sets a password-like key is masked too. Before the archive is kept it is read back and
searched for each secret; if one is found the archive is deleted and collect fails.
"""

import io
import json
import os
import re
import socket
import subprocess
import tarfile
import time

from onsite.core import checks
from onsite.core.errors import BAD_INPUT, OnsiteError
from onsite.db import secrets as db_secrets
from onsite.filesync import render as fs_render
from onsite.host import vrrp
from onsite.ops import preflight, status
from onsite.site import sitefile as site_mod

MASK = "***MASKED***"
MAX_BYTES = 4 << 20        # per file: the tail of bigger logs is enough
# key = value / key value lines whose value is a secret (my.cnf, keepalived.conf, TOML)
SECRET_KEY = re.compile(r"(?i)^(\s*(?:[\w.-]*(?:password|passwd|secret|token|_pass)\s*[=:]|auth_pass\s)\s*)(.+)$")
FILES = [
    # (path or directory, what) - directories: every regular file directly inside
    ("/var/lib/ha-installer/state.json", "state"),
    ("/var/lib/ha-installer/vrrp-state", "state"),
    ("/var/log/ha-installer", "log"),
    ("/etc/keepalived/keepalived.conf", "config"),
    ("/etc/keepalived/ha-bundle", "config"),
    ("/etc/keepalived/ha-bundle/notify.d", "config"),
    ("/etc/my.cnf", "config"),
    ("/etc/my.cnf.d", "config"),
    ("/etc/mysql/my.cnf", "config"),
    ("/etc/ha-installer", "config"),
    ("/var/lib/ha-installer/filesync", "state"),       # the sync agent's status and conflicts
    ("/etc/nftables/ha_bundle.nft", "config"),
    ("/etc/sysconfig/nftables.conf", "config"),
    ("/etc/firewalld/zones", "config"),
    ("/etc/os-release", "config"),
    ("/var/log/mariadb/mariadb.log", "log"),
    ("/var/log/mysqld.log", "log"),
    ("/var/log/messages", "log"),
]
COMMANDS = [
    ("ip-addr.txt", ["ip", "-o", "addr"]),
    ("ip-route.txt", ["ip", "route"]),
    ("nft-ruleset.txt", ["nft", "list", "ruleset"]),
    ("firewalld.txt", ["firewall-cmd", "--list-all-zones"]),
    ("keepalived-version.txt", ["keepalived", "--version"]),
    ("uname.txt", ["uname", "-a"]),
    ("rpm-qa.txt", ["rpm", "-qa"]),
    ("ps.txt", ["ps", "-eo", "pid,user,etime,args"]),
]


# --- secrets ---------------------------------------------------------------------------------

def known_secrets(args):
    """Every secret value we can find on this host (and in the site file, when given)."""
    values = set()
    try:
        for table in db_secrets.load().values():
            values.update(v for v in table.values() if v)
    except (OSError, ValueError):
        pass
    for path in ("/etc/ha-installer/db-admin.cnf", vrrp.CONF_PATH, "/etc/my.cnf", "/etc/mysql/my.cnf"):
        for line in (_read(path) or b"").decode("utf-8", "replace").splitlines():
            match = SECRET_KEY.match(line)
            if match:
                values.add(match.group(2).strip().strip('"').strip("'"))
    # the file-sync secret: its own file, and the rsync daemon's 'user:secret' line
    values.add((_read(fs_render.PASSWORD_FILE) or b"").decode("utf-8", "replace").strip())
    for line in (_read(fs_render.RSYNCD_SECRETS) or b"").decode("utf-8", "replace").splitlines():
        values.add(line.partition(":")[2].strip())
    site_path = getattr(args, "site", None)
    if site_path:
        try:
            site = site_mod.load_file(site_path)
            values.update(v for v in (site.get("secrets") or {}).values() if isinstance(v, str) and v)
        except OnsiteError:
            pass
    return sorted((v for v in values if len(v) >= 4 and v != MASK), key=len, reverse=True)


def mask(text, secrets):
    """Mask password-like assignments, then every known secret value anywhere."""
    lines = []
    for line in text.splitlines(True):
        match = SECRET_KEY.match(line.rstrip("\n"))
        if match:
            line = match.group(1) + MASK + ("\n" if line.endswith("\n") else "")
        lines.append(line)
    text = "".join(lines)
    for value in secrets:
        text = text.replace(value, MASK)
    return text


# --- gathering -------------------------------------------------------------------------------

def _read(path):
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            if size > MAX_BYTES:
                handle.seek(size - MAX_BYTES)
            return handle.read()
    except OSError:
        return None


def _files():
    seen = []
    for path, _what in FILES:
        if os.path.isdir(path):
            for name in sorted(os.listdir(path)):
                full = os.path.join(path, name)
                if os.path.isfile(full) and not os.path.islink(full) and full not in seen:
                    seen.append(full)
        elif os.path.isfile(path) and path not in seen:
            seen.append(path)
    return seen


def _command(argv):
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              universal_newlines=True, timeout=30)
        return "$ {}\n{}exit {}\n".format(" ".join(argv), proc.stdout, proc.returncode)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return "$ {}\n{}\n".format(" ".join(argv), exc)


def _status(args):
    """The status screen and its JSON (secrets never shown: show_secrets is off)."""
    try:
        sections = status.gather(status.context(args))
    except Exception as exc:       # a broken status must not stop the support bundle
        return "status failed: {}\n".format(exc), "{}"
    text = "\n".join(t for _n, _d, t in sections if t) + "\n"
    doc = dict((n, d) for n, d, _t in sections if d is not None)
    return text, json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def _preflight(args):
    """preflight's table and JSON (read-only; site checks with the recorded or given site)."""
    try:
        results = preflight.run_checks(preflight.context(args))
    except Exception as exc:       # e.g. a bad site file: say so, keep collecting
        return "preflight failed: {}\n".format(exc), "{}"
    return checks.render_table(results) + "\n", checks.render_json(results, command="preflight") + "\n"


def members(args):
    """[(archive name, text)] before masking."""
    out = []
    text, doc = _status(args)
    out += [("status.txt", text), ("status.json", doc)]
    text, doc = _preflight(args)
    out += [("preflight.txt", text), ("preflight.json", doc)]
    for name, argv in COMMANDS:
        out.append(("commands/" + name, _command(argv)))
    for path in _files():
        data = _read(path)
        if data is not None:
            out.append(("files" + path, data.decode("utf-8", "replace")))
    if getattr(args, "site", None):
        data = _read(args.site)
        if data is not None:
            out.append(("site/" + os.path.basename(args.site), data.decode("utf-8", "replace")))
    return out


def write_archive(path, items, secrets):
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    top = "ha-bundle-support-{}-{}".format(socket.gethostname(), stamp)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as raw:
        with tarfile.open(fileobj=raw, mode="w:gz") as tar:
            for name, text in items:
                data = mask(text, secrets).encode("utf-8")
                info = tarfile.TarInfo("{}/{}".format(top, name))
                info.size = len(data)
                info.mtime = int(time.time())
                info.mode = 0o600
                tar.addfile(info, io.BytesIO(data))


def find_leak(path, secrets):
    """The first member holding a secret value, or None (the archive read back)."""
    with tarfile.open(path, "r:gz") as tar:
        for member in tar.getmembers():
            data = tar.extractfile(member).read().decode("utf-8", "replace")
            for value in secrets:
                if value in data:
                    return member.name
    return None


def default_path():
    return "/var/tmp/ha-bundle-support-{}-{}.tar.gz".format(
        socket.gethostname(), time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))


def write_bundle(args, path):
    """Gather, mask, write path (0600) and read it back for leaks; returns (files, secrets
    masked). OnsiteError when path cannot be written or a secret is found (archive deleted)."""
    secrets = known_secrets(args)
    items = members(args)
    try:
        write_archive(path, items, secrets)
    except OSError as exc:
        raise OnsiteError("collect-out", {"path": path, "detail": exc.strerror or str(exc)}, exit_code=BAD_INPUT)
    leak = find_leak(path, secrets)
    if leak:
        os.unlink(path)
        raise OnsiteError("collect-leak", {"member": leak})
    return len(items), len(secrets)
