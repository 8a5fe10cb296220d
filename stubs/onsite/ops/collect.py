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

from onsite.ops import status as cmd_status
from onsite.db import secrets as db_secrets
from onsite.failover import keepalived
from onsite.core import messages
from onsite.site import sitefile as site_mod
from onsite.core import state
from onsite.core.errors import OnsiteError

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

messages.register({
    "collect-done": {"en": ("support bundle written: {path} ({size} KiB, {count} files; {masked} secret value(s) masked)",
                            "send this file to the build team; no password is in it"),
                     "zh_CN": ("支持包已生成: {path} ({size} KiB, {count} 个文件; 已屏蔽 {masked} 个密码值)",
                               "请把此文件发给构建团队; 其中不含任何密码")},
    "collect-leak": {"en": ("a secret value was found in {member}; the archive was deleted",
                            "send the build team this message instead; it is a bug in collect"),
                     "zh_CN": ("在 {member} 中发现了密码值; 已删除该归档", "请把此消息发给构建团队; 这是 collect 的缺陷")},
    "collect-out": {"en": ("cannot write {path}: {detail}", "give a writable place with --out"),
                    "zh_CN": ("无法写入 {path}: {detail}", "请用 --out 指定可写的位置")},
})


def add_arguments(parser):
    parser.add_argument("--out", metavar="FILE", help="archive path (default /var/tmp/ha-bundle-support-<host>-<UTC>.tar.gz)")
    parser.add_argument("--root", default="/", help=argparse_suppress())
    site_mod.add_arguments(parser)


def argparse_suppress():
    import argparse
    return argparse.SUPPRESS


# --- secrets ---------------------------------------------------------------------------------

def known_secrets(args):
    """Every secret value we can find on this host (and in the site file, when given)."""
    values = set()
    try:
        for table in db_secrets.load().values():
            values.update(v for v in table.values() if v)
    except (OSError, ValueError):
        pass
    for path in ("/etc/ha-installer/db-admin.cnf", keepalived.CONF_PATH, "/etc/my.cnf", "/etc/mysql/my.cnf"):
        for line in (_read(path) or b"").decode("utf-8", "replace").splitlines():
            match = SECRET_KEY.match(line)
            if match:
                values.add(match.group(2).strip().strip('"').strip("'"))
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
    args.show_secrets = False
    try:
        sections = cmd_status.gather(cmd_status.context(args))
    except Exception as exc:       # a broken status must not stop the support bundle
        return "status failed: {}\n".format(exc), "{}"
    text = "\n".join(t for _n, _d, t in sections if t) + "\n"
    doc = dict((n, d) for n, d, _t in sections if d is not None)
    return text, json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def _preflight(args):
    """preflight's table and JSON (read-only; site checks with the recorded or given site)."""
    from onsite.core import checks
    from onsite.ops import preflight as cmd_preflight
    try:
        results = cmd_preflight.run_checks(cmd_preflight.context(args))
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


def run(args):
    if os.geteuid() != 0:
        raise OnsiteError("not-root", exit_code=4)
    path = args.out or "/var/tmp/ha-bundle-support-{}-{}.tar.gz".format(
        socket.gethostname(), time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
    secrets = known_secrets(args)
    items = members(args)
    try:
        write_archive(path, items, secrets)
    except OSError as exc:
        raise OnsiteError("collect-out", {"path": path, "detail": exc.strerror or str(exc)}, exit_code=2)
    leak = find_leak(path, secrets)
    if leak:
        os.unlink(path)
        raise OnsiteError("collect-leak", {"member": leak}, exit_code=3)
    size = os.path.getsize(path) // 1024
    print(messages.text("collect-done", path=path, size=size, count=len(items), masked=len(secrets)))
    print("{}: {}".format(messages.text("word-next"), messages.hint("collect-done")))
    return 0
