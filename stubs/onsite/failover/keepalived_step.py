"""The keepalived step of configure: check (changes nothing), then apply.

check: keepalived is installed; the VIP is free (no ARP answer, or only from our peer, which
holds it already); the rendered config passes ``keepalived -l -t -f`` in a scratch directory.
apply: writes the scripts and keepalived.conf only where they differ (backups of replaced
files), enables the service and reloads it (or starts it when stopped). A second run with the
same site changes nothing and does not touch the running daemon.
"""

import os
import shutil
import tempfile
import time

from onsite.host import addresses
from onsite.host import vip as host_vip
from onsite.core import appspec, fileops, messages, state, tty
from onsite.failover import keepalived
from onsite.host import services
from onsite.core.errors import BAD_INPUT, FAILED, OnsiteError
from onsite.host import tools
from onsite.host.programs import which

SERVICE = "keepalived"
FREE = "free"


def validate_text(conf_text, script_files):
    """Run keepalived -l -t -f on conf_text in a scratch dir; OnsiteError when it complains.

    keepalived 2.0.20 exits 0 on unknown keywords and prints them only with -l (checked with the
    2.0.20 binary, ../shared/keepalived-2.0.20/README.md), so any 'Unknown keyword' line fails
    too. Returns the keepalived output."""
    base = keepalived.CONF_PATH.rsplit("/", 1)[0]
    scratch = tempfile.mkdtemp(prefix=".ha-bundle-check-", dir=base if os.path.isdir(base) else None)
    try:
        os.chmod(scratch, 0o700)
        for name, (text, mode) in script_files.items():
            path = os.path.join(scratch, name)
            with open(path, "w") as handle:
                handle.write(text)
            os.chmod(path, mode)
        conf = os.path.join(scratch, "keepalived.conf")
        with open(conf, "w") as handle:
            handle.write(conf_text.replace(keepalived.SCRIPT_DIR + "/", scratch + "/"))
        os.chmod(conf, 0o600)
        proc = tools.run(["keepalived", "-l", "-t", "-f", conf])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    bad = [line for line in proc.stdout.splitlines() if "Unknown keyword" in line]
    if proc.returncode != 0 or bad:
        context = ["keepalived -t exit {}".format(proc.returncode)] + (bad or proc.stdout.splitlines()[-15:])
        raise OnsiteError("keepalived-config-invalid", context=context, exit_code=FAILED)
    return proc.stdout


def check_vip_free(site, local):
    """FREE, or who holds it already (this node, the peer; a sentence); OnsiteError when a
    device that is neither node answers for the VIP."""
    vip = site.cluster.vip
    if addresses.holds(vip):
        return messages.text("ka-vip-here")
    found = host_vip.view(vip, local.interface, local.peer.address, here=False)
    if found.foreign:
        raise OnsiteError("vip-in-use", {"vip": vip, "macs": ", ".join(found.foreign),
                                         "peer": local.peer.address}, exit_code=BAD_INPUT)
    return messages.text("ka-vip-peer", name=local.peer.name) if found.peer else FREE


def check(site, local, opts=None):
    if not which("keepalived"):
        raise OnsiteError("keepalived-missing", exit_code=BAD_INPUT)
    check_vip_free(site, local)
    files = keepalived.render_all(keepalived.facts_from_site(site, local, app=appspec.bundled()))
    conf_text = files.pop("keepalived.conf")[0]
    validate_text(conf_text, files)


def apply(site, local, opts=None):
    files = keepalived.render_all(keepalived.facts_from_site(site, local, app=appspec.bundled()))
    changes = []
    services.remember(SERVICE)
    if fileops.ensure_dir(keepalived.SCRIPT_DIR, 0o700):
        changes.append(messages.text("ch-created", path=keepalived.SCRIPT_DIR))
    if fileops.ensure_dir(os.path.join(keepalived.SCRIPT_DIR, keepalived.NOTIFY_HOOK_DIR), 0o700):
        changes.append(messages.text("ch-created", path=os.path.join(keepalived.SCRIPT_DIR,
                                                                      keepalived.NOTIFY_HOOK_DIR)))
    conf_text, conf_mode = files.pop("keepalived.conf")
    for name, (text, mode) in files.items():   # scripts before the config that calls them
        path = os.path.join(keepalived.SCRIPT_DIR, name)
        changed, saved = fileops.install(path, text, mode)
        if changed:
            changes.append(fileops.wrote_line(path, saved))
    conf_changed, saved = fileops.install(keepalived.CONF_PATH, conf_text, conf_mode)
    if conf_changed:
        changes.append(fileops.wrote_line(keepalived.CONF_PATH, saved))
    if not services.is_enabled(SERVICE):
        services.enable(SERVICE)
        changes.append(messages.text("ka-enabled"))
    if changes and services.is_active(SERVICE):
        services.reload(SERVICE)
        changes.append(messages.text("ka-reloaded"))
    elif not services.is_active(SERVICE):
        let_preferred_go_first(site, local)
        services.start(SERVICE)
        changes.append(messages.text("ka-started"))
    return changes


PREFERRED_WAIT = 45


def preferred_name(site, local):
    """Who should be active: what install's pair handshake decided (journal), else the higher
    priority node."""
    entry = state.load().get("steps", {}).get("pair") or {}
    if entry.get("preferred") in (local.me.name, local.peer.name):
        return entry["preferred"]
    return local.me.name if local.me.priority >= local.peer.priority else local.peer.name


def let_preferred_go_first(site, local, seconds=PREFERRED_WAIT, clock=time.monotonic):
    """On the node that should not end active, wait until the preferred peer holds the VIP
    before keepalived starts here: both start as BACKUP and the higher priority one has
    nopreempt, so whichever starts first would stay active. A peer that never takes the VIP
    (down, not installed) costs at most `seconds`, then keepalived starts anyway."""
    if preferred_name(site, local) == local.me.name:
        return True
    vip = site.cluster.vip
    messages_said = False
    deadline = clock() + seconds
    while clock() < deadline:
        try:
            if host_vip.view(vip, local.interface, local.peer.address, here=False, count=1, wait=1).peer:
                return True
        except OnsiteError:
            return False          # ARP cannot be asked: nothing to wait for
        if not messages_said:
            tty.say(messages.text("ka-waiting-preferred", peer=local.peer.name, vip=vip, seconds=seconds))
            messages_said = True
        time.sleep(1)
    tty.say(messages.text("ka-preferred-absent", peer=local.peer.name, seconds=seconds))
    return False
