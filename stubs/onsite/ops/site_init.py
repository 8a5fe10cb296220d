"""``site init``: write site.toml from flags, with generated secrets, mode 0600.

Node 1 runs it once; the engineer copies the one file to node 2 (scp/USB), so both nodes share
the replication and seeding passwords without anyone typing or choosing them.
"""

import os
import secrets
import string

from onsite.core import messages
from onsite.site import sitefile as site
from onsite.core import state
from onsite.core.errors import OnsiteError

PASSWORD_CHARS = string.ascii_letters + string.digits
VRRP_AUTH_MAX = 8  # keepalived: VRRPv2 auth_pass is at most 8 characters

messages.register({
    "site-init-exists": {
        "en": ("{path} already exists; nothing was changed",
               "keep it (it holds the secrets both nodes share), or pass --force to replace it"),
        "zh_CN": ("{path} 已存在; 未做任何更改",
                  "请保留它 (其中有两个节点共用的密码), 或使用 --force 覆盖"),
    },
    "site-init-needs": {
        "en": ("site init needs --vip and two --node NAME=ADDRESS", "example: site init --vip 192.0.2.100/24 "
               "--node ha1=192.0.2.11 --node ha2=192.0.2.12"),
        "zh_CN": ("site init 需要 --vip 和两个 --node 名称=地址", "例如: site init --vip 192.0.2.100/24 "
                  "--node ha1=192.0.2.11 --node ha2=192.0.2.12"),
    },
    "site-init-done": {
        "en": ("wrote {path} (mode 0600) with generated secrets",
               "copy this same file to each node ({peers}) over scp or USB, then run install "
               "--site {path} on both, in any order"),
        "zh_CN": ("已写入 {path} (权限 0600), 其中含自动生成的密码",
                  "请通过 scp 或 U 盘把同一个文件复制到每个节点 ({peers}), 然后在两个节点上 (顺序不限) 运行 "
                  "install --site {path}"),
    },
})


def add_arguments(parser):
    parser.add_argument("action", choices=["init"], help="init: write a new site.toml with generated secrets")
    parser.add_argument("--out", default="site.toml", help="file to write (default: site.toml)")
    parser.add_argument("--force", action="store_true", help="replace an existing file (its secrets are lost)")
    site.add_arguments(parser)


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


def run(args):
    if not args.vip or not args.node or len(args.node) != 2:
        raise OnsiteError("site-init-needs", exit_code=2)
    out = args.out
    if os.path.exists(out) and not args.force:
        raise OnsiteError("site-init-exists", {"path": out}, exit_code=2)
    args.site = None  # init never reads an existing file
    facts = site.from_args(args)  # validates every flag, names the bad one
    data = site.to_dict(facts)
    data["secrets"] = {"replication_password": password(), "seed_password": password()}
    if facts.cluster.vrrp_version == 2:
        data["secrets"]["vrrp_password"] = password(VRRP_AUTH_MAX)
    text = render(data)
    site.validate(site.tomli.loads(text), out)  # what we wrote reads back as the same site
    state.atomic_write(os.path.abspath(out), text, mode=0o600)
    peers = ", ".join("{} {}".format(n.name, n.address) for n in facts.nodes)
    print(messages.text("site-init-done", path=out))
    print(messages.text("word-next") + ": " + messages.hint("site-init-done", path=out, peers=peers))
    return 0
