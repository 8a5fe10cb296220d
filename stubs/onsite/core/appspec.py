"""The app the bundle carries (the lock's "app" section), read and checked before any use.

The lock came in a file: every name, path and number is validated here again (the build side
checked it too, but a file can be edited), so later code can join paths without fear.
"""

import collections
import re

from onsite.core import payload
from onsite.core.errors import BAD_INPUT, OnsiteError

AppSpec = collections.namedtuple("AppSpec", [
    "name", "version", "user", "start", "port", "health_path", "data_dirs", "runtime",
    "files",          # [(relative path, sha256, size, mode)]
    "tree_sha256",
])

NAME_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,30}$")
VERSION_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
PART_RE = re.compile(r"^[^\x00-\x1f\x7f/\\]{1,255}$")
DIR_RE = re.compile(r"^/[A-Za-z0-9_./-]{1,250}$")
SHA_RE = re.compile(r"^[0-9a-f]{64}$")
RESERVED_DIRS = ("", "/etc", "/usr", "/var", "/var/lib", "/opt", "/root", "/home", "/tmp", "/run",
                 "/boot", "/dev", "/proc", "/sys", "/bin", "/sbin", "/lib", "/lib64")


def _bad(what):
    return OnsiteError("app-lock-bad", {"what": what}, exit_code=BAD_INPUT)


def safe_relative(path):
    """A release-relative path: no absolute, '..', '.', empty or control-character parts."""
    if not isinstance(path, str) or not path or len(path) > 4096 or path.startswith("/"):
        return False
    return all(p not in ("", ".", "..") and PART_RE.match(p) for p in path.split("/"))


def safe_data_dir(path):
    return (isinstance(path, str) and DIR_RE.match(path) is not None and "/../" not in path + "/"
            and "/./" not in path + "/" and "//" not in path and path.rstrip("/") not in RESERVED_DIRS)


def from_lock(lock):
    """AppSpec of the lock's app section; None when the bundle carries no app."""
    raw = lock.get("app")
    if not raw:
        return None
    if not isinstance(raw, dict):
        raise _bad("app")
    name, user, version = raw.get("name"), raw.get("user") or raw.get("name"), raw.get("version")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise _bad("app.name")
    if not isinstance(user, str) or not NAME_RE.match(user) or user == "root":
        raise _bad("app.user")
    if not isinstance(version, str) or not VERSION_RE.match(version):
        raise _bad("app.version")
    start = raw.get("start")
    if not isinstance(start, str) or not start.strip() or "\n" in start:
        raise _bad("app.start")
    port = raw.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise _bad("app.port")
    health = raw.get("health_path") or "/"
    if not isinstance(health, str) or not health.startswith("/") or re.search(r"[\s'\"\\]", health):
        raise _bad("app.health_path")
    dirs = raw.get("data_dirs") or []
    if not isinstance(dirs, list) or not all(safe_data_dir(d) for d in dirs):
        raise _bad("app.data_dirs")
    files = []
    for entry in raw.get("files") or []:
        try:
            path, sha, size, mode = entry["path"], entry["sha256"], entry["size"], entry["mode"]
        except (TypeError, KeyError):
            raise _bad("app.files")
        if not safe_relative(path) or not isinstance(sha, str) or not SHA_RE.match(sha) \
                or isinstance(size, bool) or not isinstance(size, int) or size < 0 or mode not in (0o644, 0o755):
            raise _bad("app.files: " + repr(path)[:80])
        files.append((path, sha, size, mode))
    if not files:
        raise _bad("app.files")
    tree = raw.get("tree_sha256")
    if not isinstance(tree, str) or not SHA_RE.match(tree):
        raise _bad("app.tree_sha256")
    return AppSpec(name, version, user, start.strip(), port, health,
                   tuple(d.rstrip("/") for d in dirs), tuple(raw.get("runtime") or ()), tuple(files), tree)


def bundled(directory=None):
    """The AppSpec of the extracted bundle; None without a bundle lock or without an app."""
    try:
        lock = payload.load_lock(directory)
    except OnsiteError:
        return None
    return from_lock(lock)


def health_url(spec):
    return "http://127.0.0.1:{}{}".format(spec.port, spec.health_path)


def install_prefix(spec, prefix_setting=None):
    """Where the app's releases live: the site's app.prefix, else /opt/<name>."""
    return prefix_setting or "/opt/" + spec.name


def health_dir(prefix):
    """Written by the app's account (its unit's hooks), read by keepalived."""
    return prefix + "/health"


def down_file(prefix):
    """1 while the app's process is gone (its unit's ExecStopPost), 0 once started again."""
    return health_dir(prefix) + "/down"
