"""Start, stop and enable services the same way on every target.

systemd hosts (el7/el8/el9) use systemctl; a host without a running systemd falls back to SysV
``service`` and ``chkconfig`` (how the old runbook ran keepalived 2.0.20 on el7). Nothing else in
onsite runs these commands directly, so the lab's systemctl shim covers every call.
"""

import os
import subprocess

from onsite.core import state
from onsite.core.errors import OnsiteError
from onsite.host.programs import which


def manager():
    """'systemd' when systemd runs this host (its documented test), else 'sysv'."""
    if os.path.isdir("/run/systemd/system") and which("systemctl"):
        return "systemd"
    return "sysv"


def _run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    return proc.returncode, proc.stdout


def _must(argv, name):
    code, out = _run(argv)
    if code != 0:
        raise OnsiteError("service-failed", {"command": " ".join(argv), "code": code, "name": name},
                          context=out.strip().splitlines()[-10:])
    return out


def is_active(name):
    if manager() == "systemd":
        return _run(["systemctl", "is-active", "--quiet", name])[0] == 0
    return _run(["service", name, "status"])[0] == 0


def is_enabled(name):
    if manager() == "systemd":
        return _run(["systemctl", "is-enabled", "--quiet", name])[0] == 0
    return _run(["chkconfig", name])[0] == 0


def enable(name):
    """Start at boot (does not start it now)."""
    if manager() == "systemd":
        _must(["systemctl", "enable", name], name)
    else:
        _must(["chkconfig", "--add", name], name)
        _must(["chkconfig", name, "on"], name)


def disable(name):
    """Do not start at boot (does not stop it now)."""
    if manager() == "systemd":
        _must(["systemctl", "disable", name], name)
    else:
        _must(["chkconfig", name, "off"], name)


def start(name):
    if manager() == "systemd":
        _must(["systemctl", "start", name], name)
    else:
        _must(["service", name, "start"], name)


def stop(name):
    if manager() == "systemd":
        _must(["systemctl", "stop", name], name)
    else:
        _must(["service", name, "stop"], name)


def restart(name):
    if manager() == "systemd":
        _must(["systemctl", "restart", name], name)
    else:
        _must(["service", name, "restart"], name)


def reload(name):
    if manager() == "systemd":
        _must(["systemctl", "reload", name], name)
    else:
        _must(["service", name, "reload"], name)


def daemon_reload():
    """systemd reads changed unit files (nothing to do without systemd)."""
    if manager() == "systemd":
        _must(["systemctl", "daemon-reload"], "daemon-reload")


def reload_or_start(name):
    """Apply a new config: reload when running (keepalived keeps its state), else start."""
    if is_active(name):
        reload(name)
        return "reloaded"
    start(name)
    return "started"


def remember(name):
    """Journal (once) whether the service was enabled and running before ha-bundle touched it,
    so uninstall puts it back the way it was."""
    state.remember("service:" + name, {"enabled": is_enabled(name), "active": is_active(name)})
