"""``collect``: one tar.gz for the build team, secrets masked (see onsite.ops.collect)."""

import argparse
import os

from onsite.core import messages, tty
from onsite.core.errors import require_root
from onsite.ops import collect
from onsite.site import sitefile


def add_arguments(parser):
    parser.add_argument("--out", metavar="FILE", help="archive path (default /var/tmp/ha-bundle-support-<host>-<UTC>.tar.gz)")
    parser.add_argument("--root", default="/", help=argparse.SUPPRESS)
    sitefile.add_arguments(parser)


def run(args):
    require_root()
    path = args.out or collect.default_path()
    count, masked = collect.write_bundle(args, path)
    size = os.path.getsize(path) // 1024
    tty.say(messages.text("collect-done", path=path, size=size, count=count, masked=masked))
    tty.say_next("collect-done")
    return 0
