"""One installer at a time on a host: an exclusive flock on /var/lib/ha-installer/installer.lock.

install, configure, uninstall/rollback and drill take it (cli.EXCLUSIVE); a second run says
who holds it (pid, command, since when) and exits before changing anything. The kernel drops
an flock when its process dies, so a lock left by a killed run (kill -9, power loss) is free
again: the next run takes it over and says whose it was. The file's text is only a
description of the holder, never the lock itself.
"""

import contextlib
import errno
import fcntl
import json
import os
import time

from onsite.core import messages
from onsite.core.errors import REFUSED, OnsiteError

LOCK_REL = "var/lib/ha-installer/installer.lock"


def lock_path(root="/"):
    return os.path.join(root, LOCK_REL)


def _read_holder(fd):
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 4096).decode("utf-8", "replace")
        holder = json.loads(data) if data.strip() else None
    except (OSError, ValueError):
        return None
    return holder if isinstance(holder, dict) else None


def _describe(holder):
    holder = holder or {}
    since = holder.get("since")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(since)) if isinstance(since, (int, float)) else "?"
    return {"pid": holder.get("pid", "?"), "command": holder.get("command", "?"), "since": when}


@contextlib.contextmanager
def held(command, root="/", say=None):
    """Hold the installer lock for the body; OnsiteError(lock-held, REFUSED) when another run
    has it. say(text) hears about a lock taken over from a run that died."""
    path = lock_path(root)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise OnsiteError("lock-held", dict(_describe(_read_holder(fd)), path=path), exit_code=REFUSED)
        previous = _read_holder(fd)
        if previous and say is not None:
            say(messages.text("lock-taken-over", **_describe(previous)))
        record = {"pid": os.getpid(), "command": command, "since": int(time.time())}
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (json.dumps(record, sort_keys=True) + "\n").encode("utf-8"))
        try:
            yield record
        finally:
            os.ftruncate(fd, 0)       # an empty file: nobody holds it, nothing to take over
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
