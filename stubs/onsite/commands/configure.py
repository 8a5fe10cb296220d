"""``configure [--only STEP]``: make this node's configuration match the site file."""

from onsite.core import messages, tty
from onsite.core.errors import require_root
from onsite.ops import configure
from onsite.site import sitefile


def add_arguments(parser):
    parser.add_argument("--only", action="append", choices=list(configure.STEPS), metavar="STEP",
                        help="run only this step (repeatable): " + ", ".join(configure.STEPS))
    configure.add_step_arguments(parser)


def run(args):
    require_root()
    plan = configure.prepare(args, args.only)
    site, local = plan.site, plan.local
    tty.say(messages.text("configure-this-node", name=local.me.name, address=local.me.address,
                          peer=local.peer.address, vip=site.cluster.vip, interface=local.interface))
    configure.check_all(plan)
    sitefile.remember(site)               # status/verify/collect without the site file later
    for step in plan.steps:
        changes = configure.apply_step(step, plan)
        ref = "configure-step-changed" if changes else "configure-step-unchanged"
        tty.say(messages.text(ref, step=step.name))
        for line in changes:
            tty.say("  " + line)
    tty.say(messages.text("configure-done", name=local.me.name))
    tty.say_next("configure-done", peer=local.peer.address)
    return 0
