"""Replace configuration files safely: compare first, back up what is replaced, write atomically.

Backups sit next to the file as ``<name>.ha-bundle-<UTC time>.bak`` (same mode as the new file)
and are recorded in the state journal so uninstall/rollback can find them. Nothing is deleted.
"""

import hashlib
import os
import shutil
import time

from onsite.core import messages, state


def sha256_of(path, chunk=1 << 20):
    """Hex sha256 of a file, read in chunks (RPMs and release files can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (FileNotFoundError, NotADirectoryError):
        return None


def same(path, text, mode):
    """True when path already holds exactly text with exactly mode."""
    if read_text(path) != text:
        return False
    return os.stat(path).st_mode & 0o7777 == mode


def backup(path, mode=0o600, journal_root="/"):
    """Copy path aside (if it exists); returns the backup path or None. journal_root: whose
    state journal records it (an rpm root's own files are journalled in that root)."""
    if not os.path.exists(path):
        return None
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = "{}.ha-bundle-{}.bak".format(path, stamp)
    n = 1
    while os.path.exists(target):
        n += 1
        target = "{}.ha-bundle-{}-{}.bak".format(path, stamp, n)
    info = os.stat(path)
    shutil.copy2(path, target)
    os.chmod(target, mode)
    journal = state.load(journal_root)
    # the original owner and mode too: the backup itself is 0600, a restore must not keep that
    journal.setdefault("backups", []).append({"file": path, "backup": target, "time": stamp,
                                              "mode": info.st_mode & 0o7777, "uid": info.st_uid,
                                              "gid": info.st_gid})
    state.save(journal, journal_root)
    return target


def install(path, text, mode, journal_root="/"):
    """Write text to path (root-owned, mode) unless identical; returns (changed, backup)."""
    if same(path, text, mode):
        return False, None
    saved = None
    current = read_text(path)
    if current is None and not os.path.exists(path):
        state.append("created", path, journal_root)      # journalled first: uninstall removes it
    elif current != text:
        saved = backup(path, mode=0o600, journal_root=journal_root)
    state.atomic_write(path, text, mode=mode)
    os.chmod(path, mode)  # atomic_write honours mode, but an umask-free chmod is explicit
    if os.geteuid() == 0:
        os.chown(path, 0, 0)
    return True, saved


def wrote_line(path, saved):
    """The change line for a file install() wrote (and the backup it kept, if any)."""
    if saved:
        return messages.text("ch-wrote-backup", path=path, backup=saved)
    return messages.text("ch-wrote", path=path)


def ensure_dir(path, mode=0o700, journal_root="/"):
    """A root-owned directory with mode (scripts must not sit under a writable path)."""
    changed = False
    if not os.path.isdir(path):
        state.append("created_dirs", path, journal_root)
        os.makedirs(path, mode)
        changed = True
    if os.stat(path).st_mode & 0o7777 != mode:
        os.chmod(path, mode)
        changed = True
    if os.geteuid() == 0 and os.stat(path).st_uid != 0:
        os.chown(path, 0, 0)
        changed = True
    return changed
