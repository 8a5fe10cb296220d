"""keepalived on this host: where its files are and which VRRP state it is in.

The notify script (failover/keepalived.py renders it) writes the state file and the notify log;
everything that reads them goes through here, under a root prefix (tests, chroots).
"""

import os

CONF_PATH = "/etc/keepalived/keepalived.conf"
SCRIPT_DIR = "/etc/keepalived/ha-bundle"
NOTIFY_HOOK_DIR = "notify.d"   # root-owned executables run on every state change
STATE_FILE = "/var/lib/ha-installer/vrrp-state"
NOTIFY_FIFO = "/run/ha-bundle-vrrp.fifo"   # keepalived creates it and writes events in order
NOTIFY_LOG = "/var/log/ha-installer/vrrp-notify.log"   # one line per state change
STATES = ("MASTER", "BACKUP", "FAULT", "STOP")


def _under(root, path):
    return os.path.join(root, path.lstrip("/"))


def hook_dir():
    return os.path.join(SCRIPT_DIR, NOTIFY_HOOK_DIR)


def read_state(root="/"):
    """(state, since) from the state file, or (None, None) when keepalived never reported."""
    try:
        with open(_under(root, STATE_FILE)) as handle:
            fields = handle.read().split()
        return fields[0], (fields[1] if len(fields) > 1 else "?")
    except (OSError, IndexError):
        return None, None


def last_change(root="/"):
    """{'state', 'time', 'changes'} of the last state change in the notify log, or None."""
    try:
        with open(_under(root, NOTIFY_LOG)) as handle:
            lines = [l.split() for l in handle.read().splitlines() if l.strip()]
    except OSError:
        return None
    changes = [l for l in lines if len(l) >= 2 and l[1] in STATES]
    if not changes:
        return None
    last = changes[-1]
    return {"state": last[1], "time": last[0], "changes": len(changes)}
