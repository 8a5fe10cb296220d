"""``status``: one screen on how this node and the pair stand. Read-only."""

from onsite.core import tty
from onsite.ops import status
from onsite.site import sitefile


def add_arguments(parser):
    parser.add_argument("--root", default="/", help="report on this rpm root instead of / (tests, chroots)")
    parser.add_argument("--show-secrets", action="store_true",
                        help="also print the generated passwords (never paste them into tickets)")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    sitefile.add_arguments(parser)


def run(args):
    sections = status.gather(status.context(args))
    if args.json:
        tty.say(status.as_json(sections))
        return 0
    for _name, _data, text in sections:
        if text:
            tty.say(text)
    return 0
