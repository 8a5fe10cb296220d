"""One installer at a time on a host: an exclusive flock on /var/lib/ha-installer/installer.lock.

install, configure, uninstall/rollback and drill take it (cli.EXCLUSIVE); a second run says
who holds it (pid, command, since when) and exits before changing anything. The kernel drops
an flock when its process dies, so a lock left by a killed run (kill -9, power loss) is free
again: the next run takes it over and says whose it was. The file's text is only a
description of the holder, never the lock itself; a run that ends removes the file (and the
directory when it made it and it is empty), so a refused run leaves no trace.
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
    directory = os.path.dirname(path)
    made_dir = not os.path.isdir(directory)
    os.makedirs(directory, mode=0o700, exist_ok=True)
    fd = _open_locked(path)
    try:
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
            # gone again, while still locked: a run that opened it meanwhile sees it was
            # unlinked and opens the new one (_open_locked), so two runs never both hold it
            os.unlink(path)
            if made_dir:
                try:
                    os.rmdir(directory)      # only when empty: the run changed nothing else
                except OSError:
                    pass
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _open_locked(path):
    """An fd of path holding the exclusive lock; OnsiteError(lock-held) when another run has
    it. Retries when the file was unlinked between open and flock (its holder just ended)."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = _read_holder(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise
            raise OnsiteError("lock-held", dict(_describe(holder), path=path), exit_code=REFUSED)
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except OSError:
            same = False
        if same:
            return fd
        os.close(fd)
