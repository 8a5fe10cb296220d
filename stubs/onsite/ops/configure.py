"""``configure [--only STEP]``: make this node's configuration match the site file.

Every selected step is checked first (site file, VIP free, generated config valid) and only
then applied, so bad input changes nothing. Steps run in STEPS order; each step module has
``check(site, local)`` (no changes) and ``apply(site, local) -> [change descriptions]``.
To add a step (e.g. the database, issue 6) add one line to STEPS.
"""

import collections
import importlib
import os

from onsite.core import messages
from onsite.site import sitefile as site_mod
from onsite.core import state
from onsite.core.errors import OnsiteError

# name -> module with check() and apply(); firewall first so VRRP passes before keepalived runs
STEPS = collections.OrderedDict([
    ("firewall", "onsite.failover.firewall"),
    ("keepalived", "onsite.failover.keepalived_step"),
    ("database", "onsite.db.step"),
])

messages.register({
    "configure-this-node": {
        "en": ("this host is node {name} ({address}); peer {peer}; VIP {vip} on {interface}", ""),
        "zh_CN": ("本机是节点 {name} ({address}); 对端 {peer}; VIP {vip} 位于 {interface}", ""),
    },
    "configure-step-changed": {"en": ("{step}: changed", ""), "zh_CN": ("{step}: 已更改", "")},
    "configure-step-unchanged": {
        "en": ("{step}: already configured, nothing changed", ""),
        "zh_CN": ("{step}: 已是目标配置, 未做更改", ""),
    },
    "configure-done": {
        "en": ("configure finished on {name}", "run the same command on the other node ({peer}) if not done yet"),
        "zh_CN": ("{name} 上的 configure 已完成", "如尚未完成, 请在另一节点 ({peer}) 上运行同一命令"),
    },
})


def add_arguments(parser):
    parser.add_argument("--only", action="append", choices=list(STEPS), metavar="STEP",
                        help="run only this step (repeatable): " + ", ".join(STEPS))
    add_step_arguments(parser)


def add_step_arguments(parser):
    """The site flags and each step's own flags (install takes the same ones)."""
    site_mod.add_arguments(parser)
    for module_name in STEPS.values():      # a step may add its own flags (e.g. --seed-from)
        module = importlib.import_module(module_name)
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)


def prepare(args, only=None):
    """(site, local, [(name, module)]) for the selected steps; changes nothing."""
    site = site_mod.from_args(args)
    local = site_mod.locate(site)
    names = [n for n in STEPS if not only or n in only]
    modules = [(n, importlib.import_module(STEPS[n])) for n in names]
    for name, module in modules:
        if hasattr(module, "set_args"):
            module.set_args(args)
    return site, local, modules


def check_all(site, local, modules):
    """Every step's checks before any change: bad input stops here with nothing changed."""
    for name, module in modules:
        module.check(site, local)


def apply_step(name, module, site, local):
    """Apply one step, journalled before and after; returns its change lines."""
    step = "configure-" + name
    state.mark(step, "started")
    try:
        changes = module.apply(site, local)
    except BaseException:
        state.mark(step, "failed")
        raise
    state.mark(step, "done", changes=changes)
    return changes


def run(args):
    if os.geteuid() != 0:
        raise OnsiteError("not-root", exit_code=4)
    site, local, modules = prepare(args, args.only)
    print(messages.text("configure-this-node", name=local.me.name, address=local.me.address,
                        peer=local.peer.address, vip=site.cluster.vip, interface=local.interface))
    check_all(site, local, modules)
    site_mod.remember(site)               # status/verify/collect without the site file later
    for name, module in modules:
        changes = apply_step(name, module, site, local)
        ref = "configure-step-changed" if changes else "configure-step-unchanged"
        print(messages.text(ref, step=name))
        for line in changes:
            print("  " + line)
    print(messages.text("configure-done", name=local.me.name))
    hint = messages.hint("configure-done", peer=local.peer.address)
    print("{}: {}".format(messages.text("word-next"), hint))
    return 0
