"""``uninstall`` / ``rollback``: undo ha-bundle's changes from the journal; data is kept."""

from onsite.core.errors import require_root
from onsite.ops import uninstall


def add_arguments(parser):
    parser.add_argument("--root", "--rpm-root", dest="root", default="/",
                        help="the rpm root install used (only for --remove-packages); default /")
    parser.add_argument("--remove-packages", action="store_true",
                        help="also erase the packages install added (never ones that were there before)")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def run(args):
    require_root()
    return uninstall.uninstall(args)
