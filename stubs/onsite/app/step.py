"""The app step of configure: the bundle's app installed and running as a service.

check (changes nothing): the bundle's app entry is sound, its runtime program exists, useradd
exists, the release in the payload is complete. apply: the service account, the release
(side by side, ``current`` switched), data directories created when missing (never emptied,
never chowned when they already existed), unit and environment file, then the service enabled,
(re)started when something changed, and its health URL answering. A bundle without an app
skips the step. Runs before keepalived, whose config tracks the app's down file.
"""

import os
import time
import urllib.request

from onsite.core import appspec, fileops, messages, payload, state
from onsite.core.errors import FAILED, OnsiteError
from onsite.host import services, users
from onsite.host.programs import which
from onsite.app import release, unit

HEALTH_WAIT = 30
# where systemd finds programs (its default PATH): the service's runtime is the system's, not
# whatever PATH the engineer's shell had
SERVICE_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")


def system_which(name):
    for directory in SERVICE_PATH:
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def facts(site, local, spec):
    prefix = appspec.install_prefix(spec, site.app.prefix)
    return unit.Facts(
        name=spec.name, version=spec.version, user=spec.user, prefix=prefix,
        argv=unit.start_argv(spec.start, system_which), port=spec.port, data_dirs=spec.data_dirs,
        node=local.me.name, address=local.me.address, peer=local.peer.address, vip=site.cluster.vip,
        db_port=site.database.port, down_file=appspec.down_file(prefix))


def check(site, local, opts=None):
    spec = appspec.bundled()
    if spec is None:
        return
    facts(site, local, spec)                 # the runtime program exists
    if users.lookup(spec.user) is None and not which("useradd"):
        raise OnsiteError("app-useradd-missing", exit_code=FAILED)
    source = os.path.join(payload.payload_dir(), release.PAYLOAD_DIR, spec.version)
    missing = [rel for rel, _s, _z, _m in spec.files if not os.path.isfile(os.path.join(source, rel))]
    if missing:
        raise OnsiteError("app-payload-missing", {"path": os.path.join(source, missing[0])},
                          context=missing[:10], exit_code=FAILED)
    for directory in spec.data_dirs:
        if os.path.lexists(directory) and (os.path.islink(directory) or not os.path.isdir(directory)):
            raise OnsiteError("app-data-not-dir", {"path": directory}, exit_code=FAILED)


def _data_dirs(spec, uid, gid):
    """Create missing data directories for the app; existing ones are left exactly as they are."""
    changes = []
    for directory in spec.data_dirs:
        if os.path.isdir(directory):
            continue
        state.append("app_data_dirs", directory)     # never removed: uninstall names them
        missing = []
        parent = os.path.dirname(directory)
        while not os.path.isdir(parent):
            missing.append(parent)
            parent = os.path.dirname(parent)
        for path in reversed(missing):              # parents: root's, traversable (umask-proof)
            os.mkdir(path)
            os.chmod(path, 0o755)
        os.mkdir(directory)
        os.chmod(directory, 0o750)
        os.chown(directory, uid, gid)
        changes.append(messages.text("app-data-created", path=directory, user=spec.user))
    return changes


def _health_dir(prefix, uid, gid):
    """The app's account writes its down file here (the unit's hooks run as that account)."""
    path = appspec.health_dir(prefix)
    changed = False
    if not os.path.isdir(path):
        state.append("created_dirs", path)
        os.mkdir(path)
        changed = True
    if os.stat(path).st_mode & 0o7777 != 0o755:
        os.chmod(path, 0o755)
        changed = True
    info = os.stat(path)
    if (info.st_uid, info.st_gid) != (uid, gid):
        os.chown(path, uid, gid)
        changed = True
    return changed


def wait_healthy(spec, url, seconds=HEALTH_WAIT, clock=time.monotonic):
    """Until the health URL answers 2xx; OnsiteError naming the URL and the service log."""
    deadline = clock() + seconds
    last = ""
    while clock() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if 200 <= answer.status < 300:
                    return True
                last = "HTTP {}".format(answer.status)
        except Exception as exc:     # refused, reset, timeout, HTTP error: keep waiting
            last = str(exc)[:200]
        time.sleep(0.3)
    raise OnsiteError("app-not-healthy", {"name": spec.name, "url": url, "seconds": seconds},
                      context=[last], exit_code=FAILED)


def apply(site, local, opts=None):
    spec = appspec.bundled()
    if spec is None:
        return []
    f = facts(site, local, spec)
    changes = []
    uid, gid, created = users.ensure_system_user(spec.user, f.prefix)
    if created:
        changes.append(messages.text("app-user-created", user=spec.user))
    for path in (f.prefix, release.releases_dir(f.prefix)):
        if fileops.ensure_dir(path, 0o755):
            changes.append(messages.text("ch-created", path=path))
    if release.install(spec, f.prefix, payload.payload_dir()):
        changes.append(messages.text("app-release-installed", version=spec.version,
                                     path=release.release_dir(f.prefix, spec.version)))
    old = release.switch(f.prefix, spec.version)
    if old is not False:
        changes.append(messages.text("app-switched", version=spec.version, old=old or "-"))
    changes += _data_dirs(spec, uid, gid)
    if _health_dir(f.prefix, uid, gid):
        changes.append(messages.text("ch-created", path=appspec.health_dir(f.prefix)))
    wrote = False
    for path, text, mode in ((unit.env_path(spec.name), unit.render_env(f), 0o600),
                             (unit.unit_path(spec.name), unit.render_unit(f), 0o644)):
        changed, saved = fileops.install(path, text, mode)
        if changed:
            wrote = True
            changes.append(fileops.wrote_line(path, saved))
    services.remember(spec.name)
    if wrote:
        services.daemon_reload()
    if not services.is_enabled(spec.name):
        services.enable(spec.name)
        changes.append(messages.text("app-enabled", name=spec.name))
    if not services.is_active(spec.name):
        services.start(spec.name)
        changes.append(messages.text("app-started", name=spec.name))
    elif changes:
        services.restart(spec.name)
        changes.append(messages.text("app-restarted", name=spec.name))
    wait_healthy(spec, site.app.health_url or appspec.health_url(spec))
    return changes
