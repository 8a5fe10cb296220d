"""Node-local secrets in /etc/ha-installer/secrets.toml (0600, root): generated, never printed.

Only a flat subset of TOML is read and written here ([table] headers and key = "string"):
that is all this file ever holds. Tables written by other modules are kept as they are.
"""

import hashlib
import hmac
import os
import random
import re
import string

from onsite.core import state

SECRETS_REL = "etc/ha-installer/secrets.toml"
TABLE = "database"

_rng = random.SystemRandom()
_HEADER = re.compile(r'^\[([A-Za-z0-9_.-]+)\]\s*$')
_PAIR = re.compile(r'^([A-Za-z0-9_-]+)\s*=\s*"((?:[^"\\]|\\.)*)"\s*$')


def secrets_path(root="/"):
    return os.path.join(root, SECRETS_REL)


def generate(length=32):
    """Letters and digits only: safe in SQL, option files and shell without quoting surprises."""
    alphabet = string.ascii_letters + string.digits
    return "".join(_rng.choice(alphabet) for _ in range(length))


def _unquote(text):
    return re.sub(r'\\(.)', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def _quote(text):
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def load(root="/"):
    """{table: {key: value}}; an absent file is empty."""
    tables = {}
    current = tables.setdefault("", {})
    try:
        with open(secrets_path(root)) as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return {}
    for number, line in enumerate(lines, 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _HEADER.match(stripped)
        if header:
            current = tables.setdefault(header.group(1), {})
            continue
        pair = _PAIR.match(stripped)
        if not pair:
            raise ValueError("{}:{}: not a key = \"value\" line".format(secrets_path(root), number))
        current[pair.group(1)] = _unquote(pair.group(2))
    if not tables[""]:
        del tables[""]
    return tables


def save(tables, root="/"):
    lines = ["# ha-bundle secrets for this node. Keep this file 0600 root. Never share it in tickets."]
    for name in sorted(tables):
        lines.append("")
        if name:
            lines.append("[{}]".format(name))
        for key in sorted(tables[name]):
            lines.append("{} = {}".format(key, _quote(tables[name][key])))
    path = secrets_path(root)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    state.atomic_write(path, "\n".join(lines) + "\n", mode=0o600)


def get(key, root="/"):
    return load(root).get(TABLE, {}).get(key)


def put(key, value, root="/"):
    tables = load(root)
    tables.setdefault(TABLE, {})[key] = value
    save(tables, root)


def derive_password(secret, purpose):
    """Per-purpose passwords from one shared secret (--peer-secret), so a leak of one
    account's password (e.g. from a replica's connection metadata) does not give the other."""
    digest = hmac.new(secret.encode("utf-8"), purpose.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:40]
