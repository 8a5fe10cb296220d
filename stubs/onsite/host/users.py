"""The app's service account: a system user with no login shell and no password.

Created with the host's own useradd (shadow-utils on every target); an existing account of the
same name is used as it is, unless it is a login account (uid 0 or a normal user's uid range),
which would give the app more than it needs.
"""

import pwd

from onsite.core import state
from onsite.core.errors import BAD_INPUT, FAILED, OnsiteError
from onsite.host import tools
from onsite.host.programs import which

NOLOGIN = ("/sbin/nologin", "/usr/sbin/nologin", "/bin/false")
LOGIN_UID_MIN = 1000     # /etc/login.defs UID_MIN on el7-el9


def lookup(name):
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def ensure_system_user(name, home):
    """(uid, gid, created) of the service account name; creates it when missing."""
    entry = lookup(name)
    if entry is not None:
        if entry.pw_uid == 0 or entry.pw_uid >= LOGIN_UID_MIN:
            raise OnsiteError("app-user-not-system", {"user": name, "uid": entry.pw_uid}, exit_code=BAD_INPUT)
        return entry.pw_uid, entry.pw_gid, False
    useradd = which("useradd")
    if not useradd:
        raise OnsiteError("app-useradd-missing", exit_code=FAILED)
    shell = next((s for s in NOLOGIN if which(s.rsplit("/", 1)[1], (s.rsplit("/", 1)[0],))), "/bin/false")
    state.append("created_users", name)      # journalled first: uninstall names it (and keeps it)
    proc = tools.run([useradd, "--system", "--user-group", "--no-create-home", "--home-dir", home,
                      "--shell", shell, "--comment", "ha-bundle app service", name])
    entry = lookup(name)
    if proc.returncode != 0 or entry is None:
        raise OnsiteError("app-useradd-failed", {"user": name}, context=proc.stdout.strip().splitlines()[-5:])
    return entry.pw_uid, entry.pw_gid, True
