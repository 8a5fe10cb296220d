"""``verify``: prove from this node, end to end, that the pair works (see onsite.ops.verify)."""

from onsite.core import checks, errors, messages, tty
from onsite.core.errors import require_root
from onsite.ops import verify
from onsite.site import sitefile


def add_arguments(parser):
    sitefile.add_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--timeout", type=int, default=60, metavar="SECONDS",
                        help="how long to wait for the peer (default 60)")
    parser.add_argument("--fresh", type=int, default=300, metavar="SECONDS",
                        help="a canary row from the peer counts when newer than this (default 300)")


def run(args):
    require_root()
    site = sitefile.from_args_or_state(args)
    local = sitefile.locate(site)
    if not args.json:
        tty.say(messages.text("vf-title", name=local.me.name, address=local.me.address,
                              peer_name=local.peer.name, peer=local.peer.address, vip=site.cluster.vip))
    results = verify.run_checks(site, local, timeout=args.timeout, fresh=args.fresh, out=tty.progress)
    bad = checks.failed(results)
    if args.json:
        tty.say(checks.render_json(results, command="verify", node=local.me.name, peer=local.peer.name,
                                   vip=site.cluster.vip))
    else:
        tty.say(checks.render_table(results))
        tty.say(messages.text("vf-bad", count=len(bad)) if bad else messages.text("vf-ok"))
    return errors.CHECKS_FAILED if bad else errors.OK
