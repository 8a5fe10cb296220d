"""The file-sync step of configure: receiver and agent installed and running on this node.

check (changes nothing): the bundle's app has data directories (else the step is skipped), the
site has secrets.sync_password, rsync exists. apply: the agent program, its config, the rsync
daemon's config and secrets (0600), two services, enabled and (re)started when something
changed. The firewall step opens the sync port to the peer only.
"""

import os
import sys

from onsite.core import appspec, fileops, messages
from onsite.core.errors import BAD_INPUT, OnsiteError
from onsite.filesync import render
from onsite.host import services, vrrp
from onsite.host.programs import which

AGENT_SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "agent.py")


def wanted():
    """The bundle's AppSpec when it has data directories to keep in sync, else None."""
    spec = appspec.bundled()
    return spec if spec is not None and spec.data_dirs else None


def facts(site, local, spec):
    secrets = site.secrets
    password = secrets.sync_password if secrets is not None else None
    if not password:
        raise OnsiteError("filesync-no-secret", exit_code=BAD_INPUT)
    rsync = which("rsync")
    if not rsync:
        raise OnsiteError("filesync-no-rsync", exit_code=BAD_INPUT)
    return render.Facts(node=local.me.name, address=local.me.address, peer_name=local.peer.name,
                        peer_address=local.peer.address, port=site.cluster.sync_port, password=password,
                        dirs=spec.data_dirs, python=sys.executable, rsync=rsync, vrrp_state=vrrp.STATE_FILE,
                        vip=site.cluster.vip, ip=which("ip") or "ip")


def check(site, local, opts=None):
    spec = wanted()
    if spec is not None:
        facts(site, local, spec)


def files(f):
    """[(path, text, mode)] in the order they are written (the program before what runs it)."""
    with open(AGENT_SOURCE) as handle:
        agent = handle.read()
    out = [(render.AGENT_PATH, agent, 0o755),
           (render.GATE_PATH, render.render_gate(f), 0o755),
           (render.PASSWORD_FILE, render.render_password(f), 0o600),
           (render.RSYNCD_SECRETS, render.render_secrets(f), 0o600),
           (render.RSYNCD_CONF, render.render_rsyncd(f), 0o600),
           (render.CONFIG_PATH, render.render_config(f), 0o600)]
    out += [(path, text, 0o644) for path, text in render.render_units(f).items()]
    return out


def apply(site, local, opts=None):
    spec = wanted()
    if spec is None:
        return []
    f = facts(site, local, spec)
    changes = []
    for directory, mode in ((os.path.dirname(render.AGENT_PATH), 0o755), (render.STATE_DIR, 0o700)):
        if fileops.ensure_dir(directory, mode):
            changes.append(messages.text("ch-created", path=directory))
    wrote = False
    for path, text, mode in files(f):
        changed, saved = fileops.install(path, text, mode)
        if changed:
            wrote = True
            changes.append(fileops.wrote_line(path, saved))
    if wrote:
        services.daemon_reload()
    for name in (render.RSYNCD_SERVICE, render.AGENT_SERVICE):
        services.remember(name)
        if not services.is_enabled(name):
            services.enable(name)
        if not services.is_active(name):
            services.start(name)
            changes.append(messages.text("fs-started", name=name))
        elif wrote:
            services.restart(name)
            changes.append(messages.text("fs-restarted", name=name))
    return changes
