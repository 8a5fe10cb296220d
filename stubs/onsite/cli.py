"""Command dispatch for ``python3 -m onsite``.

Each command lives in its own module ``onsite.commands.<name>`` exposing
``add_arguments(parser)`` and ``run(args) -> int``. Add a command by adding one line to
COMMANDS. Every failure ends here: an OnsiteError prints its message (exit code from the table
in onsite.core.errors); anything else is a bug and prints ``internal-error`` with the log that
holds the traceback and the command that collects a support bundle, never a traceback.
"""

import argparse
import importlib
import io
import os
import sys
import tempfile
import time
import traceback

from onsite import __version__
from onsite.core import argtext, errors, lock, messages, tty
from onsite.core.errors import OnsiteError
from onsite.core.logfile import LOG_REL

# name -> (module, one-line help)
COMMANDS = {
    "collect": ("onsite.commands.collect", "support bundle (tar.gz of logs, configs with secrets masked, status)"),
    "configure": ("onsite.commands.configure", "configure the firewall, keepalived and the database (--only STEP)"),
    "drill": ("onsite.commands.drill", "planned failover test: hand the VIP to the peer, measure the outage, restore"),
    "install": ("onsite.commands.install", "preflight, packages, configure (firewall, keepalived, database), verify; resumable"),
    "preflight": ("onsite.commands.preflight", "read-only checks: OS, bundle, node, VIP, peer, ports, disk, SELinux, clock"),
    "rollback": ("onsite.commands.uninstall", "same as uninstall: undo ha-bundle's changes from the journal (data kept)"),
    "site": ("onsite.commands.site", "site init: write site.toml with generated secrets (node 1; copy it to node 2)"),
    "status": ("onsite.commands.status", "what the installer did and what is installed"),
    "uninstall": ("onsite.commands.uninstall", "undo ha-bundle's changes from the journal; databases are never deleted"),
    "upgrade": ("onsite.commands.upgrade", "apply an update bundle to the pair, one node at a time; resumable, rolls back"),
    "verify": ("onsite.commands.verify", "prove the pair works: VIP, app via VIP, replication both ways, firewall"),
}

# commands that change the host: one at a time (onsite.core.lock); read-only ones run freely
EXCLUSIVE = ("configure", "drill", "install", "rollback", "uninstall", "upgrade")


class Parser(argparse.ArgumentParser):
    """argparse, but a bad flag exits with our BAD_INPUT code (argparse's 2 is the header's
    'unusable --target' and the shell's syntax error)."""

    def error(self, message):
        self.print_usage(sys.stderr)
        self.exit(errors.BAD_INPUT, argtext.translate("%(prog)s: error: %(message)s\n")
                  % {"prog": self.prog, "message": argtext.error_text(message)})


def build_parser():
    parser = Parser(prog="ha-installer", description="ha-bundle onsite installer")
    parser.add_argument("--version", action="version", version="ha-bundle onsite " + __version__)
    parser.add_argument("--lang", help="message language: en or zh_CN (default: from LANG)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
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


def write_crash_log(command, root="/"):
    """The traceback into <root>/var/log/ha-installer/internal-error.log (or a temp file when
    that cannot be written); returns the path."""
    text = "{} ha-installer {} (onsite {})\n{}".format(
        time.strftime("%Y-%m-%d %H:%M:%S"), command or "-", __version__, traceback.format_exc())
    directory = os.path.join(root, LOG_REL)
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
        path = os.path.join(directory, "internal-error.log")
        with open(path, "a") as handle:
            handle.write(text)
        return path
    except OSError:
        fd, path = tempfile.mkstemp(prefix="ha-installer-internal-error-", suffix=".log")
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        return path


def collect_command():
    """How field staff run collect on this host: through the .run when there is one."""
    run_file = os.environ.get("HA_INSTALLER_RUN")
    if run_file:
        return "sh {} -- collect".format(run_file)
    return "python3 -m onsite collect"


def run_command(args):
    """The command's run(), under the installer lock when it changes the host."""
    if args.command not in EXCLUSIVE:
        return int(args._module.run(args) or 0)
    errors.require_root()
    with lock.held(args.command, say=tty.say):
        return int(args._module.run(args) or 0)


def _lang_from_argv(argv):
    """--lang given anywhere on the command line, before argparse runs (its own errors and
    usage are printed in that language too)."""
    for index, word in enumerate(argv):
        if word == "--lang" and index + 1 < len(argv):
            return argv[index + 1]
        if word.startswith("--lang="):
            return word.split("=", 1)[1]
    return None


def main(argv=None):
    utf8_stdio()
    early = _lang_from_argv(sys.argv[1:] if argv is None else argv)
    if early:
        os.environ[messages.LANG_VARIABLE] = messages.normalise(early)
    argtext.install()
    parser = build_parser()
    args = parser.parse_args(argv)
    lang = getattr(args, "cmd_lang", None) or args.lang
    if lang:
        os.environ[messages.LANG_VARIABLE] = messages.normalise(lang)
    if not getattr(args, "_module", None):
        parser.print_help()
        return errors.BAD_INPUT
    try:
        return run_command(args)
    except OnsiteError as exc:
        sys.stderr.write(exc.render() + "\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write(messages.text("interrupted") + "\n")
        return errors.INTERRUPTED
    except Exception as exc:       # a bug: say where the details are, never a traceback
        log = write_crash_log(args.command, os.path.abspath(getattr(args, "root", None) or "/"))
        detail = "{}: {}".format(type(exc).__name__, exc)
        sys.stderr.write(OnsiteError("internal-error", {"detail": detail[:200], "log": log,
                                                        "collect": collect_command()},
                                     exit_code=errors.INTERNAL_ERROR).render() + "\n")
        return errors.INTERNAL_ERROR
