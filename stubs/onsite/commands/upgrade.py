"""``upgrade``: apply an update bundle to the pair, one node at a time (see onsite.ops.upgrade)."""

from onsite.core.errors import require_root
from onsite.ops import configure, upgrade


def add_arguments(parser):
    parser.add_argument("--root", "--rpm-root", dest="root", default="/",
                        help="upgrade the packages in this rpm root (tests, chroots); default /")
    configure.add_step_arguments(parser)


def run(args):
    require_root()
    return upgrade.upgrade(args)
