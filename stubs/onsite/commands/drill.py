"""``drill``: a planned failover test, run on the node that holds the VIP (see onsite.ops.drill)."""

import json

from onsite.core import messages, tty
from onsite.core.errors import require_root
from onsite.ops import drill
from onsite.site import sitefile


def add_arguments(parser):
    sitefile.add_arguments(parser)
    parser.add_argument("--timeout", type=float, default=30, metavar="SECONDS",
                        help="how long the peer may take to answer on the VIP (default 30)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def run(args):
    require_root()
    site = sitefile.from_args_or_state(args)
    local = sitefile.locate(site)
    say = (lambda text: None) if args.json else tty.say
    result = drill.drill(site, local, args.timeout, say)
    if args.json:
        tty.say(json.dumps(result, indent=2, sort_keys=True))
    else:
        tty.say(messages.text("drill-restored", name=local.me.name, peer=local.peer.name))
        tty.say_next("drill-restored", peer=local.peer.name)
    return 0
