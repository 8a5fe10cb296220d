"""``preflight``: can this site work? Read-only checks before anything is installed or changed."""

from onsite.core import checks, errors, messages, tty
from onsite.core.checks import WARN
from onsite.ops import preflight
from onsite.site import sitefile


def add_arguments(parser):
    parser.add_argument("--root", default="/", help="check this rpm root instead of / (tests, chroots)")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    sitefile.add_arguments(parser)


def run(args):
    ctx = preflight.context(args)
    results = preflight.run_checks(ctx)
    bad = checks.failed(results)
    code = errors.CHECKS_FAILED if bad else errors.OK
    if args.json:
        extra = {"command": "preflight"}
        if ctx.local is not None:
            extra.update(node=ctx.local.me.name, peer=ctx.local.peer.name)
        tty.say(checks.render_json(results, **extra))
        return code
    tty.say(checks.render_table(results))
    warnings = [r for r in results if r.status == WARN]
    if bad:
        tty.say(messages.text("pf-summary-bad", count=len(bad)))
    elif warnings:
        tty.say(messages.text("pf-summary-warn", count=len(warnings)))
    else:
        tty.say(messages.text("pf-summary-ok"))
    tty.say(messages.text("pf-unchanged"))
    return code
