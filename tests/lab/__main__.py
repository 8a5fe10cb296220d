"""By hand: ``python -m tests.lab up [--keepalived 2.0.20] | down | shell NODE | status``.

The lab stays up after ``up`` returns; ``down`` kills it (by its nodes' PID 1s).
"""

from __future__ import annotations

import argparse
import glob
import os
import sys

from tests.conftest import find_python36
from tests.lab.core import Lab, STUBS, _alive

MARKER = "cli"


def _cli_labs() -> list[Lab]:
    labs = []
    for state in sorted(glob.glob("/tmp/hb-lab-*/lab.json")):
        base = os.path.dirname(state)
        if os.path.exists(os.path.join(base, MARKER)):
            labs.append(Lab.attach(base))
    return labs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.lab")
    sub = parser.add_subparsers(dest="cmd", required=True)
    up = sub.add_parser("up", help="start a lab (ha1, ha2, client)")
    up.add_argument("--keepalived", help='"2.0.20" or a path (default: Debian\'s)')
    up.add_argument("--no-firewalld", action="store_true")
    up.add_argument("--app", action="store_true", help="also start the HTTP app on both nodes")
    sub.add_parser("down", help="tear down labs started with 'up'")
    sub.add_parser("status", help="list labs started with 'up'")
    sub.add_parser("reap", help="tear down labs left by test runs that died (their owner process is gone)")
    shell = sub.add_parser("shell", help="a shell inside a node (or client)")
    shell.add_argument("node")
    args = parser.parse_args(argv)

    if args.cmd == "up":
        lab = Lab(lab_id="cli%d" % os.getpid(), keepalived=args.keepalived,
                  firewalld=not args.no_firewalld)
        lab.up()
        open(os.path.join(str(lab.base), MARKER), "w").close()
        if args.app:
            for node in lab.nodes:
                lab.start_app(node)
        print("lab %s up: nodes %s, client 192.0.2.50; files under %s"
              % (lab.id, ", ".join("%s=%s" % kv for kv in lab.nodes.items()), lab.base))
        print("  python -m tests.lab shell ha1      # then e.g. python3.6 -m onsite --help")
        return 0
    if args.cmd == "reap":
        for state in sorted(glob.glob("/tmp/hb-lab-*/lab.json")):
            base = os.path.dirname(state)
            if os.path.exists(os.path.join(base, MARKER)):
                continue                      # CLI labs: use 'down'
            lab = Lab.attach(base)
            if lab.owner_pid and not _alive(lab.owner_pid):
                lab.down()
                print("reaped lab %s (owner pid %d is gone)" % (lab.id, lab.owner_pid))
        return 0
    labs = _cli_labs()
    if args.cmd == "status":
        for lab in labs:
            print(lab.id, lab.base, lab.init_pids)
        return 0
    if args.cmd == "down":
        for lab in labs:
            lab.down()
            print("lab %s down" % lab.id)
        return 0
    if args.cmd == "shell":
        if not labs:
            print("no lab is up: python -m tests.lab up", file=sys.stderr)
            return 1
        lab = labs[-1]
        argv = lab.node_argv(args.node, ["bash", "--norc", "-i"])
        env = lab.node_env({"PYTHONPATH": str(STUBS), "PS1": "[%s] \\w# " % args.node})
        py36 = find_python36()
        if py36:   # python3.6 -m onsite works in the shell, as on the target
            env["PATH"] = os.path.dirname(py36) + ":" + env["PATH"]
        os.execvpe(argv[0], argv, env)
    return 1


if __name__ == "__main__":
    sys.exit(main())
