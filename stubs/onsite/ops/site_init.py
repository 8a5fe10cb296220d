"""``site init``: write site.toml from flags, with generated secrets, mode 0600.

Node 1 runs it once; the engineer copies the one file to node 2 (scp/USB), so both nodes share
the replication and seeding passwords without anyone typing or choosing them.
"""

import argparse
import os
import secrets
import string

from onsite.site import sitefile as site
from onsite.core import state
from onsite.core.errors import BAD_INPUT, OnsiteError

PASSWORD_CHARS = string.ascii_letters + string.digits
VRRP_AUTH_MAX = 8  # keepalived: VRRPv2 auth_pass is at most 8 characters


def password(length=24):
    return "".join(secrets.choice(PASSWORD_CHARS) for _ in range(length))


def _toml_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return '"' + text + '"'


def render(data):
    """site-file text from to_dict() form plus [secrets]; pure, so it round-trips through site.validate."""
    lines = ["# ha-bundle site file v1, written by 'site init'. Same file on both nodes; keep it 0600.",
             "version = {}".format(data["version"]), ""]
    for table in ("cluster", "app", "database", "secrets"):
        if data.get(table):
            lines.append("[{}]".format(table))
            lines += ["{} = {}".format(k, _toml_value(v)) for k, v in sorted(data[table].items())]
            lines.append("")
    for node in data["node"]:
        lines.append("[[node]]")
        lines += ["{} = {}".format(k, _toml_value(v)) for k, v in sorted(node.items()) if v is not None]
        lines.append("")
    return "\n".join(lines)


def write_site_file(args):
    """Validate the flags, generate the secrets, write args.out (0600); returns the Site as
    written (secrets included).
    Nothing is written when a flag is bad or the file exists (without --force)."""
    if not args.vip or not args.node or len(args.node) != 2:
        raise OnsiteError("site-init-needs", exit_code=BAD_INPUT)
    out = args.out
    if os.path.exists(out) and not args.force:
        raise OnsiteError("site-init-exists", {"path": out}, exit_code=BAD_INPUT)
    flags_only = argparse.Namespace(**dict(vars(args), site=None))  # init never reads a file
    facts = site.from_args(flags_only)  # validates every flag, names the bad one
    data = site.to_dict(facts)
    data["secrets"] = {"replication_password": password(), "seed_password": password(),
                       "sync_password": password()}
    if facts.cluster.vrrp_version == 2:
        data["secrets"]["vrrp_password"] = password(VRRP_AUTH_MAX)
    text = render(data)
    written = site.validate(site.tomli.loads(text), out)  # what we wrote reads back as the same site
    state.atomic_write(os.path.abspath(out), text, mode=0o600)
    return written
