"""configure: make this node's configuration match the site file.

Every selected step is checked first (site file, VIP free, generated config valid) and only
then applied, so bad input changes nothing. Steps run in STEPS order; each step module has
``check(site, local, opts)`` (no changes) and ``apply(site, local, opts) -> [change lines]``,
where opts is the step's own frozen options (``options(args)``, or None when it has none).
To add a step add one line to STEPS.
"""

import collections

from onsite.core import state
from onsite.app import step as app_step
from onsite.db import step as database_step
from onsite.filesync import step as filesync_step
from onsite.failover import firewall, keepalived_step
from onsite.site import sitefile

# firewall first so VRRP passes before keepalived runs; the app before keepalived, whose
# config tracks the app's down file
STEPS = collections.OrderedDict([
    ("firewall", firewall),
    ("app", app_step),
    ("filesync", filesync_step),
    ("keepalived", keepalived_step),
    ("database", database_step),
])

Step = collections.namedtuple("Step", "name module options")
Plan = collections.namedtuple("Plan", "site local steps")


def add_step_arguments(parser):
    """The site flags and each step's own flags (configure and install take the same ones)."""
    sitefile.add_arguments(parser)
    for module in STEPS.values():      # a step may add its own flags (e.g. --seed-from)
        if hasattr(module, "add_arguments"):
            module.add_arguments(parser)


def prepare(args, only=None):
    """The Plan (site, where this host stands, the selected steps); changes nothing."""
    site = sitefile.from_args(args)
    local = sitefile.locate(site)
    steps = tuple(Step(name, module, module.options(args) if hasattr(module, "options") else None)
                  for name, module in STEPS.items() if not only or name in only)
    return Plan(site, local, steps)


def step_options(plan, name):
    """The options of one step of the plan (its defaults when the step is not selected)."""
    for step in plan.steps:
        if step.name == name:
            return step.options
    module = STEPS[name]
    return getattr(module, "DEFAULTS", None)


def check_all(plan):
    """Every step's checks before any change: bad input stops here with nothing changed."""
    for step in plan.steps:
        step.module.check(plan.site, plan.local, step.options)


def apply_step(step, plan):
    """Apply one step, journalled before and after; returns its change lines."""
    name = "configure-" + step.name
    state.mark(name, "started")
    try:
        changes = step.module.apply(plan.site, plan.local, step.options)
    except BaseException:
        state.mark(name, "failed")
        raise
    state.mark(name, "done", changes=changes)
    return changes
