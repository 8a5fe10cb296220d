"""``install``: preflight -> packages -> configure (firewall, keepalived, database) -> verify.

Each step is journalled before and after it runs (state.json), and every step is idempotent, so
a run killed at any point is finished by running install again: finished steps are re-checked
and change nothing, the interrupted one completes. A run on a finished node changes nothing
and says so. Without a site file (no --site, no site flags, none baked into the .run) only the
packages are installed, as before.

Packages: OS/arch check -> skip packages already installed at the same or a newer version ->
``rpm -U --test`` (problems reported in plain words, nothing changed) -> ``rpm -U`` ->
``rpm -q`` proves every locked package is there. ``--root``/``--rpm-root`` sends the packages
to a scratch rpm root (tests, chroots); configuration always applies to this host.
"""

import argparse
import os
import time

from onsite.core import appspec, checks, messages, payload, state
from onsite.core import trust, tty
from onsite.core.tty import say
from onsite.host import dnfmodules, rpmdb, target
from onsite.ops import configure, handshake, preflight, status, verify
from onsite.pair import facts as pair_facts
from onsite.site import sitefile
from onsite.upgrade import base as upgrade_base
from onsite.core.errors import BAD_INPUT, CHECKS_FAILED, OnsiteError
from onsite.core.logfile import Log


def payload_files(pkgs, directory):
    """Absolute paths of the packages' RPM files; raise if any is missing from the payload."""
    paths = [os.path.join(directory, pkg["filename"]) for pkg in pkgs]
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        raise OnsiteError("payload-rpm-missing", {"count": len(missing)}, context=missing[:10], exit_code=BAD_INPUT)
    return paths


def install_packages(args, root, confirmed=False):
    """The packages step; returns True when it installed something. confirmed: the whole
    install was already confirmed (the question lists the packages too)."""
    directory = payload.payload_dir()
    lock = payload.load_lock(directory)
    desc = target.check(lock, root)
    say(messages.text("install-target-ok", desc=desc, want=target.describe_want(lock.get("target") or {})))
    pkgs = payload.locked_packages(lock)
    have = rpmdb.installed(root)
    todo = rpmdb.needed(pkgs, have)
    total = len(pkgs)
    if not todo:
        say(messages.text("install-noop", total=total))
        dnfmodules.apply(lock, root)  # a bundle installed by an older installer gets them too
        upgrade_base.keep_installed(lock, directory, root)
        state.mark("install", "done", root=root, noop=True, packages=total)
        return False
    say(messages.text("install-plan", todo=len(todo), total=total, skip=total - len(todo)))
    files = payload_files(todo, directory)
    if not confirmed:
        tty.confirm("install-confirm", "install-declined", args.yes, todo=len(todo))
    log = Log(root, "install")
    try:
        state.mark("install", "started", root=root, packages=[payload.nevra(p) for p in todo])
        say(messages.text("install-testing"))
        code, output = rpmdb.run(["-U", "--test"] + files, root, log)
        if code != 0:
            for line in rpmdb.explain(output):
                say("  - " + line)
            missing, unexpected = rpmdb.baseline_differences(lock, have, output)
            for line in rpmdb.difference_lines(missing, unexpected):
                say("  - " + line)
            state.mark("install", "failed", root=root, reason="rpm -U --test")
            raise OnsiteError("install-baseline-differs" if missing or unexpected else "install-conflicts",
                              {"log": log.path}, exit_code=BAD_INPUT)
        # el8+: the host's own dnf is told which module streams the bundle needs (journalled)
        dnfmodules.apply(lock, root)
        say(messages.text("install-running", todo=len(todo)))
        code, output = rpmdb.run(["-U"] + files, root, log)
        if code != 0:
            state.mark("install", "failed", root=root, reason="rpm -U")
            raise OnsiteError("install-failed", {"log": log.path}, context=rpmdb.explain(output)[:10])
        still = rpmdb.needed(pkgs, rpmdb.installed(root))
        if still:
            state.mark("install", "failed", root=root, reason="missing after rpm -U")
            raise OnsiteError("install-missing-after", {"count": len(still), "log": log.path},
                              context=[payload.nevra(p) for p in still[:10]])
        upgrade_base.keep_installed(lock, directory, root)     # the next upgrade's way back
        # 'added': names that were not installed at all before (uninstall --remove-packages
        # erases only these; upgrades of the host's own packages stay)
        state.mark("install", "done", root=root, noop=False, installed=[payload.nevra(p) for p in todo],
                   added=[payload.nevra(p) for p in todo if (p["name"], p["arch"]) not in have])
        say(messages.text("install-done", todo=len(todo), total=total, log=log.path))
        return True
    finally:
        log.close()


def refuse_update(lock):
    """An update bundle carries only what changed: it upgrades an installed pair, never installs."""
    update = lock.get("update")
    if update:
        raise OnsiteError("install-is-update", {"wants": (update.get("from") or {}).get("lock_sha256", "?")[:16]},
                          exit_code=BAD_INPUT)


# ------------------------------------------------------------------ the whole install

def with_site(args):
    """args with the site to use: --site or site flags as given, else a site.toml baked into
    the .run; None when there is no site at all (only the packages are installed)."""
    if args.site or args.vip or args.node:
        return args
    baked = os.path.join(payload.payload_dir(), "site.toml")
    if os.path.isfile(baked):
        return argparse.Namespace(**dict(vars(args), site=baked))
    return None


def step_names():
    return ["preflight", handshake.STEP, "packages"] + list(configure.STEPS) + ["verify"]


def run_preflight(args):
    """preflight's checks (host, bundle, node, VIP, peer, ports, disk, SELinux, clock);
    any FAIL stops install before anything changed. Prints the failing rows with their fix."""
    results = preflight.run_checks(preflight.context(args))
    shown = [r for r in results if r.status in (checks.FAIL, checks.WARN)]
    if shown:      # a WARN often predicts a failure later (nothing listens on the app port)
        say(checks.render_table(shown))
    bad = checks.failed(results)
    if bad:
        raise OnsiteError("install-preflight-failed", {"count": len(bad)}, exit_code=CHECKS_FAILED)
    return False


def planned_changes(plan, root):
    """What install is about to change here, one line each (empty: nothing left to do)."""
    site, local = plan.site, plan.local
    lock = payload.load_lock(payload.payload_dir())
    todo = rpmdb.needed(payload.locked_packages(lock), rpmdb.installed(root))
    journal = state.load().get("steps", {})
    lines = []
    if todo:
        lines.append(messages.text("install-will-packages", count=len(todo), root=root))
    if (journal.get("install-verify") or {}).get("status") != "done":
        lines.append(messages.text("install-will-firewall", peer=local.peer.address, db_port=site.database.port,
                                   app_port=site.app.port))
        app = appspec.bundled()
        if app is not None:
            dirs = ", ".join(app.data_dirs) or "-"
            lines.append(messages.text("install-will-app", name=app.name, version=app.version, user=app.user,
                                       prefix=appspec.install_prefix(app, site.app.prefix), dirs=dirs))
            if app.data_dirs:
                lines.append(messages.text("install-will-files", dirs=dirs, port=site.cluster.sync_port,
                                           peer=local.peer.address))
        lines.append(messages.text("install-will-keepalived", vip=site.cluster.vip, interface=local.interface))
        lines.append(messages.text("install-will-database", peer=local.peer.name))
    return lines


def run_packages(plan, args, root):
    """The packages step of a full install: the one question first, then the packages."""
    confirm_changes(plan, args, root)
    return install_packages(args, root, confirmed=True)


def confirm_changes(plan, args, root):
    """Ask once, before the first change, listing every change (scripts and --accept: no question)."""
    lines = planned_changes(plan, root)
    if lines:
        say(messages.text("install-will"))
        for line in lines:
            say("  - " + line)
        tty.confirm("install-confirm-all", "install-declined", args.yes)
    return bool(lines)


def run_pair(plan):
    """The pair handshake: same bundle, same site on both nodes, before anything changes."""
    handshake.agree(plan.site, plan.local, configure.step_options(plan, "database"), say)
    return False


def run_verify(site, local):
    """verify's checks after configuring (waits for the peer while only its side fails).
    First this node's facts go into its database, where the peer's verify and status read them."""
    handshake.record_here(site, local)
    results = verify.run_checks(site, local, out=say)
    bad = checks.failed(results)
    if bad:
        say(checks.render_table(bad))
        raise OnsiteError("install-verify-failed", {"count": len(bad)}, exit_code=CHECKS_FAILED)
    return False


def install(args):
    """The whole install (see the module docstring); returns the exit code."""
    root = os.path.abspath(args.root)
    refuse_update(payload.load_lock())
    site_args = with_site(args)
    if site_args is None:
        install_packages(args, root)
        say(messages.text("install-no-site"))
        tty.say_next("install-no-site")
        return 0
    plan = configure.prepare(site_args)
    site, local = plan.site, plan.local
    say(messages.text("configure-this-node", name=local.me.name, address=local.me.address,
                      peer=local.peer.address, vip=site.cluster.vip, interface=local.interface))
    names = step_names()
    journal = state.load().get("steps", {})
    for name in names:
        entry = journal.get("install-" + name) or {}
        if entry.get("status") in ("started", "failed"):
            say(messages.text("install-resume", step=name, time=entry.get("time")))
            break
    actions = {
        "preflight": lambda: run_preflight(site_args),
        handshake.STEP: lambda: run_pair(plan),
        "packages": lambda: run_packages(plan, args, root),
        "verify": lambda: run_verify(site, local),
    }
    checked = []
    for step in plan.steps:
        actions[step.name] = (lambda s: lambda: _configure_step(s, plan, checked))(step)
    any_change = False
    for number, name in enumerate(names, 1):
        say(messages.text("install-step-start", n=number, total=len(names), step=name))
        started = time.time()
        state.mark("install-" + name, "started")
        try:
            changed = bool(actions[name]())
        except BaseException:
            state.mark("install-" + name, "failed")
            raise
        state.mark("install-" + name, "done", changed=changed)
        any_change = any_change or changed
        ref = "install-step-changed" if changed else "install-step-unchanged"
        say(messages.text(ref, n=number, total=len(names), step=name, seconds=time.time() - started))
    say_active_node(site, local)
    upgrade_base.record_installed(pair_facts.lock_digest(), payload.load_lock())
    signer = trust.remember()
    if signer:
        say(messages.text("install-trusts-signer", fingerprint=signer, path=trust.TRUST_DIR))
    if not any_change:
        say(messages.text("install-all-noop", name=local.me.name))
    else:
        say(messages.text("install-all-done", name=local.me.name))
        tty.say_next("install-all-done", peer=local.peer.address)
    return 0


def say_active_node(site, local):
    """Which node serves now, and whether it is the one that should (handshake.preferred_node)."""
    preferred = handshake.preferred_from_journal(site)
    why = messages.text("install-why-data" if preferred != max(site.nodes, key=lambda n: n.priority).name
                        else "install-why-priority")
    holder, _detail = status.vip_holder(site, local)
    name = {"here": local.me.name, "peer": local.peer.name}.get(holder)
    if name is None:
        say(messages.text("install-active-unknown", vip=site.cluster.vip, detail=holder))
    elif name == preferred:
        say(messages.text("install-active", name=name, vip=site.cluster.vip, why=why))
    else:
        say(messages.text("install-active-other", name=name, vip=site.cluster.vip, preferred=preferred, why=why))


def _configure_step(step, plan, checked):
    """One configure step; all configure checks run once, before the first one applies."""
    if not checked:
        configure.check_all(plan)
        sitefile.remember(plan.site)     # status/verify/collect work later without the site file
        checked.append(True)
    changes = configure.apply_step(step, plan)
    for line in changes:
        say("  " + line)
    return bool(changes)
