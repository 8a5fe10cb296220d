"""``site init``: write site.toml from flags, with generated secrets, mode 0600."""

from onsite.core import messages, tty
from onsite.ops import site_init
from onsite.pair import facts as pair_facts
from onsite.site import sitefile


def add_arguments(parser):
    parser.add_argument("action", choices=["init"], help="init: write a new site.toml with generated secrets")
    parser.add_argument("--out", default="site.toml", help="file to write (default: site.toml)")
    parser.add_argument("--force", action="store_true", help="replace an existing file (its secrets are lost)")
    sitefile.add_arguments(parser)


def run(args):
    facts = site_init.write_site_file(args)
    peers = ", ".join("{} {}".format(n.name, n.address) for n in facts.nodes)
    tty.say(messages.text("site-init-done", path=args.out))
    tty.say(messages.text("site-digest", digest=pair_facts.short(pair_facts.site_digest(facts))))
    tty.say_next("site-init-done", path=args.out, peers=peers)
    return 0
