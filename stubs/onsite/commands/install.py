"""``install``: preflight -> packages -> configure -> verify, resumable (see onsite.ops.install)."""

from onsite.core.errors import require_root
from onsite.ops import configure, install


def add_arguments(parser):
    parser.add_argument("--root", "--rpm-root", dest="root", default="/",
                        help="install the packages into this rpm root (tests, chroots); default /."
                             " Configuration still applies to this host")
    parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    configure.add_step_arguments(parser)


def run(args):
    require_root()
    return install.install(args)
