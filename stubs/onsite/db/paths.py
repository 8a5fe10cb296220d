"""Where this host's server reads its options: the include dir for our drop-in, the socket.

We never rewrite the customer's my.cnf: we find the directory it already includes
(RHEL: /etc/my.cnf has '!includedir /etc/my.cnf.d') and put our own file there.
"""

import os
import re

MAIN_FILES = ("/etc/my.cnf", "/etc/mysql/my.cnf")
PREFERRED_DIR = "/etc/my.cnf.d"


def _lines(path, seen=None):
    """Lines of an option file with its !include/!includedir files expanded (order kept)."""
    seen = seen if seen is not None else set()
    if path in seen:
        return []
    seen.add(path)
    try:
        with open(path) as handle:
            raw = handle.read().splitlines()
    except (OSError, UnicodeDecodeError):
        return []
    out = []
    for line in raw:
        out.append((path, line))
        stripped = line.strip()
        if stripped.startswith("!includedir"):
            directory = stripped.split(None, 1)[1] if len(stripped.split(None, 1)) > 1 else ""
            try:
                names = sorted(n for n in os.listdir(directory) if n.endswith(".cnf"))
            except OSError:
                names = []
            for name in names:
                out += _lines(os.path.join(directory, name), seen)
        elif stripped.startswith("!include "):
            out += _lines(stripped.split(None, 1)[1], seen)
    return out


def include_dirs(main_files=MAIN_FILES):
    dirs = []
    for main in main_files:
        for _path, line in _lines(main):
            stripped = line.strip()
            if stripped.startswith("!includedir"):
                parts = stripped.split(None, 1)
                if len(parts) == 2 and parts[1] not in dirs:
                    dirs.append(parts[1])
    return dirs


def cnf_dir(main_files=MAIN_FILES):
    """/etc/my.cnf.d when the server includes it, else the first included dir, else None."""
    dirs = include_dirs(main_files)
    if PREFERRED_DIR in dirs:
        return PREFERRED_DIR
    return dirs[0] if dirs else None


def server_option(name, main_files=MAIN_FILES):
    """A [mysqld]/[mariadb]/[server] option's value (last one wins, like the server), or None."""
    found = None
    section = None
    for main in main_files:
        for _path, line in _lines(main):
            stripped = line.strip()
            match = re.match(r"^\[([^\]]+)\]$", stripped)
            if match:
                section = match.group(1).strip().lower()
                continue
            if section in ("mysqld", "mariadb", "server", "mariadbd", "client-server") \
                    and "=" in stripped:
                key, value = stripped.split("=", 1)
                if key.strip().replace("-", "_") == name:
                    found = value.strip().strip('"').strip("'")
    return found


def socket(main_files=MAIN_FILES):
    """The server's socket from [mysqld]/[mariadb]/[server] (last one wins, like the server)."""
    return server_option("socket", main_files)


def datadir(main_files=MAIN_FILES):
    """Where the server keeps its data (RHEL and both vendors default to /var/lib/mysql)."""
    return server_option("datadir", main_files) or "/var/lib/mysql"


# The old runbook's options: silent data loss (skip-errors) and filters that miss
# cross-database statements (do/ignore-db). Our drop-in sets replicate_wild_do_table instead.
DANGEROUS = ("slave_skip_errors", "replica_skip_errors", "replicate_do_db", "replicate_ignore_db")


def dangerous_options(main_files=MAIN_FILES, own_file=None):
    """['file: line'] for every dangerous option outside our own drop-in."""
    found = []
    for main in main_files:
        for path, line in _lines(main):
            if own_file and os.path.abspath(path) == os.path.abspath(own_file):
                continue
            stripped = line.strip()
            if not stripped or stripped[0] in "#;[!":
                continue
            key, _, value = stripped.partition("=")
            key = key.strip().replace("-", "_").lower()
            if key.startswith("loose_"):
                key = key[len("loose_"):]
            if key in DANGEROUS and value.strip().strip("'\"").upper() != "OFF":
                entry = "{}: {}".format(path, stripped)
                if entry not in found:
                    found.append(entry)
    return found
