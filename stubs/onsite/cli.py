"""Command dispatch for ``python3 -m onsite``.

Each command lives in its own module ``onsite.cmd_<name>`` exposing ``add_arguments(parser)``
and ``run(args) -> int``. Add a command by adding one line to COMMANDS.
"""

import argparse
import importlib
import io
import sys

from onsite import __version__
from onsite.core import messages
from onsite.core.errors import OnsiteError

# name -> (module, one-line help)
COMMANDS = {
    "collect": ("onsite.ops.collect", "support bundle (tar.gz of logs, configs with secrets masked, status)"),
    "configure": ("onsite.ops.configure", "configure the firewall, keepalived and the database (--only STEP)"),
    "drill": ("onsite.ops.drill", "planned failover test: hand the VIP to the peer, measure the outage, restore"),
    "install": ("onsite.ops.install", "preflight, packages, configure (firewall, keepalived, database), verify; resumable"),
    "preflight": ("onsite.ops.preflight", "read-only checks: OS, bundle, node, VIP, peer, ports, disk, SELinux, clock"),
    "rollback": ("onsite.ops.uninstall", "same as uninstall: undo ha-bundle's changes from the journal (data kept)"),
    "site": ("onsite.ops.site_init", "site init: write site.toml with generated secrets (node 1; copy it to node 2)"),
    "status": ("onsite.ops.status", "what the installer did and what is installed"),
    "uninstall": ("onsite.ops.uninstall", "undo ha-bundle's changes from the journal; databases are never deleted"),
    "verify": ("onsite.ops.verify", "prove the pair works: VIP, app via VIP, replication both ways, firewall"),
}


def build_parser():
    parser = argparse.ArgumentParser(prog="ha-installer", description="ha-bundle onsite installer")
    parser.add_argument("--version", action="version", version="ha-bundle onsite " + __version__)
    parser.add_argument("--lang", help="message language: en or zh_CN (default: from LANG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in sorted(COMMANDS):
        module_name, help_text = COMMANDS[name]
        module = importlib.import_module(module_name)
        cmd_parser = sub.add_parser(name, help=help_text)
        cmd_parser.add_argument("--lang", help=argparse.SUPPRESS, dest="cmd_lang")
        module.add_arguments(cmd_parser)
        cmd_parser.set_defaults(_module=module)
    return parser


def utf8_stdio():
    """Python 3.6 (no UTF-8 mode) writes Chinese as \\u escapes when the host lacks the locale
    named by LANG (a minimal el8 has no zh_CN langpack): write UTF-8 to the terminal anyway."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        encoding = (getattr(stream, "encoding", "") or "").lower().replace("-", "")
        if encoding != "utf8" and hasattr(stream, "buffer"):
            setattr(sys, name, io.TextIOWrapper(stream.buffer, encoding="utf-8", errors="replace",
                                                line_buffering=True))


def main(argv=None):
    utf8_stdio()
    parser = build_parser()
    args = parser.parse_args(argv)
    lang = getattr(args, "cmd_lang", None) or args.lang
    messages.set_lang(lang)
    if not getattr(args, "_module", None):
        parser.print_help()
        return 1
    try:
        return int(args._module.run(args) or 0)
    except OnsiteError as exc:
        sys.stderr.write(exc.render() + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
