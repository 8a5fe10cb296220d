"""``status``: what the installer has done on this host (state journal) and what is installed.

Read-only. Later issues add service and replication health lines to STATUS_LINES.
"""

import os
import sys

from onsite import db_status, messages, payload, rpmdb, state
from onsite.errors import OnsiteError

messages.register({
    "st-bundle": {"en": ("bundle: {target}, {total} packages", ""),
                  "zh_CN": ("安装包: {target}, {total} 个软件包", "")},
    "st-packages": {"en": ("packages: {have} of {total} installed (same or newer version)", ""),
                    "zh_CN": ("软件包: 已安装 {have}/{total} 个 (相同或更新版本)", "")},
    "st-no-state": {"en": ("nothing recorded yet: the installer has not run on this host", ""),
                    "zh_CN": ("尚无记录: 本机尚未运行过安装程序", "")},
    "st-step": {"en": ("step {step}: {status} at {time}", ""),
                "zh_CN": ("步骤 {step}: {status}, 时间 {time}", "")},
})


def add_arguments(parser):
    parser.add_argument("--root", default="/", help="report on this rpm root instead of / (tests, chroots)")
    parser.add_argument("--show-secrets", action="store_true",
                        help="also print the generated passwords (never paste them into tickets)")


def line_bundle(ctx):
    lock = ctx["lock"]
    if lock is None:
        return None
    return messages.text("st-bundle", target=(lock.get("target") or {}).get("name", "?"),
                         total=len(payload.locked_packages(lock)))


def line_packages(ctx):
    lock = ctx["lock"]
    if lock is None:
        return None
    pkgs = payload.locked_packages(lock)
    have = rpmdb.installed(ctx["root"])
    count = sum(1 for p in pkgs if rpmdb.satisfied(p, have))
    return messages.text("st-packages", have=count, total=len(pkgs))


def line_steps(ctx):
    steps = state.load(ctx["root"]).get("steps") or {}
    if not steps:
        return messages.text("st-no-state")
    return "\n".join(messages.text("st-step", step=name, status=entry.get("status"), time=entry.get("time"))
                     for name, entry in sorted(steps.items()))


STATUS_LINES = [line_bundle, line_packages, line_steps, db_status.status_line]


def run(args):
    root = os.path.abspath(args.root)
    try:
        lock = payload.load_lock()
    except OnsiteError:
        lock = None  # status also works from an installed host without the payload
    ctx = {"root": root, "lock": lock, "show_secrets": getattr(args, "show_secrets", False)}
    for make in STATUS_LINES:
        text = make(ctx)
        if text:
            sys.stdout.write(text + "\n")
    return 0
