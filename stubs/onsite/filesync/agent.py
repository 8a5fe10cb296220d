#!/usr/bin/python3
"""ha-bundle file sync agent: the app's data directories follow the VIP, nothing is lost.

Installed as /usr/libexec/ha-bundle/ha-filesync and run by the ha-bundle-filesync service on
both nodes; it reads one JSON config (configure writes it). Standard library only (Python 3.6),
no onsite imports: it must run long after the installer's temporary directory is gone.

How it works (docs/filesync.md):
- inotify watches every directory below each data directory (the kernel tells us at once).
- Only the VIP holder (keepalived's recorded state is MASTER, or the VIP is on an interface
  here while that record lags behind keepalived) records changes: each changed
  path goes into a pending set, kept on disk, and is pushed to the peer's rsync daemon within
  a few tens of milliseconds: rsync --files-from with --delete-missing-args (creates, updates,
  renames, deletes), --backup into <dir>/.ha-sync/replaced/ on the peer.
- A node that is not the holder but still has pending changes (it held the VIP when the peer
  was unreachable, or lost it before its last push) delivers them to the holder's
  <dir>/.ha-sync/inbox/ instead; the holder merges them: a path it changed too is kept in both
  versions (the peer's as '<name>~conflict-<node>-<time>') and reported; others are taken.
- A node whose own unsent change was replaced by the holder's push finds it in
  .ha-sync/replaced/ and keeps it the same way. Everything else in replaced/ is deleted.
- On becoming the holder, a catch-up push without deletes (rsync --update) runs first.
status.json (role, backlog, lag, last push, conflicts) is what status and verify read.
"""

import ctypes
import ctypes.util
import filecmp
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ISDIR = 0x40000000
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
WATCH_MASK = (IN_CLOSE_WRITE | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
              | IN_DELETE_SELF)
EVENT = struct.Struct("iIII")

CONFLICT_MARK = "~conflict-"    # <name>~conflict-<node>-<UTC time>: the other side's version
SYNC_DIR = ".ha-sync"          # our own files inside each data directory; never synced as data
DEBOUNCE = 0.03                # a burst of writes goes in one push
MAX_WAIT = 0.3                 # ... but no change waits longer than this for its push
RETRY = 1.0                    # after a failed push or delivery
PEER_WAIT = 30.0               # how long the holder waits for the peer's unsent changes first
STUCK = 120.0                  # a replaced version of ours that never shows up: give up (logged)
SETTLE_AGE = 2.0               # replaced/ and inbox/ entries older than this are complete
STATUS_EVERY = 1.0
VIP_REASK = 0.2                # a "the VIP is here" answer is kept this long


def now_stamp():
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-%06d" % (int(time.time() * 1e6) % 1000000)


def same_file_content(first, second):
    """Two regular files (not links) with the same bytes: a version that came back (an echo of
    a push at a failover) is not a conflict."""
    try:
        if os.path.islink(first) or os.path.islink(second):
            return False
        if not (os.path.isfile(first) and os.path.isfile(second)):
            return False
        return filecmp.cmp(first, second, shallow=False)
    except OSError:
        return False


def atomic_json(path, data, mode=0o600):
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    os.chmod(tmp, mode)
    os.rename(tmp, path)


class Inotify(object):
    def __init__(self):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self._add = libc.inotify_add_watch
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._rm = libc.inotify_rm_watch
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")

    def add(self, path):
        wd = self._add(self.fd, os.fsencode(path), WATCH_MASK)
        return wd if wd >= 0 else None

    def read(self):
        try:
            data = os.read(self.fd, 1 << 16)
        except BlockingIOError:
            return []
        out, at = [], 0
        while at + EVENT.size <= len(data):
            wd, mask, cookie, size = EVENT.unpack_from(data, at)
            name = data[at + EVENT.size:at + EVENT.size + size].rstrip(b"\0")
            at += EVENT.size + size
            out.append((wd, mask, os.fsdecode(name)))
        return out


class Agent(object):
    def __init__(self, config):
        self.c = config
        self.me = config["node"]
        self.peer = config["peer_name"]
        self.dirs = [(d["module"], d["path"].rstrip("/")) for d in config["dirs"]]
        self.state_dir = config["state_dir"]
        self.pending_path = os.path.join(self.state_dir, "pending.json")
        self.status_path = os.path.join(self.state_dir, "status.json")
        self.conflicts_path = os.path.join(self.state_dir, "conflicts.json")
        self.pending = self._load(self.pending_path, {})        # "module/rel" -> first seen (epoch)
        self.conflicts = self._load(self.conflicts_path, [])
        self.watches = {}                                        # wd -> (module, directory)
        self.ino = Inotify()
        self.role = None
        self.last_event = 0.0
        self.next_try = 0.0
        self.catch_up = False
        self.peer_checked = False       # the peer has no unsent changes of its own (asked)
        self.peer_wait_since = None
        self.last_push = None
        self.last_push_seconds = None
        self.last_error = None
        self.pushes = 0
        self.stop = False
        self.dirty = False
        self.status_at = 0.0
        self.vip_seen = None            # when `ip` last said the VIP is here (monotonic)
        self.generation = 0
        self.replaced_since = {}        # pending key -> when its path first held another version

    # -- persistence -----------------------------------------------------------------
    @staticmethod
    def _load(path, default):
        try:
            with open(path) as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return default

    def save_pending(self):
        if self.dirty:
            atomic_json(self.pending_path, self.pending)
            self.dirty = False

    def log(self, text):
        line = "%s %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), text)
        sys.stdout.write(line)
        sys.stdout.flush()
        try:
            with open(self.c["log"], "a") as handle:      # what collect gathers
                handle.write(line)
        except (KeyError, OSError):
            pass

    # -- watching --------------------------------------------------------------------
    def watch_tree(self, module, top, record):
        """Watch top and every directory below it (not .ha-sync); record its files when asked
        (a directory that appeared may already hold files the watch never saw)."""
        base = dict(self.dirs)[module]
        for current, subdirs, files in os.walk(top):
            if current == base:
                subdirs[:] = [d for d in subdirs if d != SYNC_DIR]
            wd = self.ino.add(current)
            if wd is not None:
                self.watches[wd] = (module, current)
            if record:
                for name in files + subdirs:
                    self.note(module, os.path.join(current, name))

    def note(self, module, path):
        base = dict(self.dirs)[module]
        rel = os.path.relpath(path, base)
        if rel == "." or rel.split("/")[0] == SYNC_DIR or rel.startswith(".."):
            return
        key = module + "/" + rel
        try:
            ino = os.lstat(path).st_ino      # which file is ours: a push replaces it by rename
        except OSError:
            ino = None                       # deleted here
        entry = self.pending.get(key)
        # [first seen, inode, generation]: a change noted while its push runs keeps the key
        # (forget drops only the entry the push took)
        self.generation += 1
        self.pending[key] = [entry[0] if entry else time.time(), ino, self.generation]
        self.dirty = True
        self.last_event = time.monotonic()

    def handle_events(self, recording):
        """recording: this node held the VIP when the events happened (or holds it now)."""
        overflow = False
        for wd, mask, name in self.ino.read():
            if mask & IN_Q_OVERFLOW:
                overflow = True
                continue
            where = self.watches.get(wd)
            if where is None:
                continue
            if mask & IN_IGNORED:
                self.watches.pop(wd, None)
                continue
            module, directory = where
            if mask & IN_DELETE_SELF or not name:
                continue
            path = os.path.join(directory, name)
            if mask & IN_ISDIR and mask & (IN_CREATE | IN_MOVED_TO):
                if not (directory == dict(self.dirs)[module] and name == SYNC_DIR):
                    self.watch_tree(module, path, recording)
            if recording:
                self.note(module, path)
            if CONFLICT_MARK in name and not mask & (IN_DELETE | IN_MOVED_FROM):
                self.saw_conflict(module, path)
        if overflow:       # the kernel dropped events: everything may have changed
            self.log("inotify queue overflow: full catch-up push")
            self.catch_up = True

    # -- role ------------------------------------------------------------------------
    def read_role(self):
        try:
            with open(self.c["vrrp_state"]) as handle:
                state = (handle.read().split() or ["UNKNOWN"])[0]
        except OSError:
            return "UNKNOWN"
        return "MASTER" if state.startswith("MASTER") else state   # MASTER_RX_LOWER_PRI: still MASTER

    def holds_vip(self):
        """True when the VIP is on one of this host's interfaces, False when not, None when
        `ip` could not tell. keepalived adds the VIP before its notify script records MASTER;
        a client's write through the VIP in between is this node's own. A yes is kept for
        VIP_REASK (a holder asks on every turn while its record lags); a no never is (the
        next upload may be the first one through the VIP)."""
        vip = self.c.get("vip")
        if not vip:
            return False
        mono = time.monotonic()
        if self.vip_seen is not None and mono - self.vip_seen < VIP_REASK:
            return True
        try:
            proc = subprocess.run([self.c.get("ip") or "ip", "-o", "addr", "show", "to", vip],
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                  universal_newlines=True, timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            return None
        if proc.returncode != 0:
            return None
        here = bool(proc.stdout.strip())
        self.vip_seen = mono if here else None
        return here

    def current_role(self, events_waiting):
        """keepalived's recorded state, or MASTER while the VIP is here and the record lags.
        Asked when changes arrive, while changes of ours wait (before delivering them to the
        peer as if it held the VIP), at start, and while that answer stands; when `ip` cannot
        tell, the role stays what it was."""
        role = self.read_role()
        if role == "MASTER" or not self.c.get("vip"):
            return role
        if events_waiting or self.pending or self.role in ("MASTER", None):
            here = self.holds_vip()
            if here is None:
                return self.role or role
            if here:
                return "MASTER"
        return role

    # -- rsync -----------------------------------------------------------------------
    def rsync(self, args, timeout=30):
        """Run rsync; while it runs, changes here are still recorded and the backlog the peer
        reads stays current (a holder asking for it must never see a stale 0: it would push
        over a change this node has not counted yet)."""
        argv = [self.c.get("rsync", "rsync"), "--password-file=" + self.c["password_file"],
                "--port=%d" % self.c["port"], "--contimeout=2", "--timeout=10"] + args
        with tempfile.TemporaryFile("w+") as output:
            try:
                proc = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT, universal_newlines=True)
            except OSError as exc:
                return False, str(exc)
            end = time.monotonic() + timeout
            while proc.poll() is None:
                if time.monotonic() > end:
                    proc.kill()
                    proc.wait()
                    return False, "rsync timed out"
                self.keep_recording(0.05)
            output.seek(0)
            text = output.read().strip()[-500:]
        ok = proc.returncode in (0, 24)      # 24: a file vanished while sent (a later push has it)
        return ok, text

    def changes_waiting(self, wait):
        """Wait up to `wait` seconds for inotify events; True when some are there to read."""
        try:
            return bool(select.select([self.ino.fd], [], [], wait)[0])
        except InterruptedError:
            return False

    def keep_recording(self, wait):
        """Changes that arrive while the agent waits on the network (see rsync)."""
        if self.changes_waiting(wait):
            self.handle_events(self.role == "MASTER" or self.current_role(True) == "MASTER")
        if self.dirty:              # also what the turn before the wait noted
            self.save_pending()
            self.write_status()

    def url(self, module, sub=""):
        return "rsync://%s@%s/%s/%s" % (self.c["user"], self.c["peer_address"], module, sub)

    def by_module(self, keys):
        out = {}
        for key in keys:
            module, rel = key.split("/", 1)
            out.setdefault(module, []).append(rel)
        return out

    def still_ours(self):
        """The pending entries whose path still holds the version noted here (same inode, or
        still absent for a delete). One the peer's push replaced (the two nodes held the VIP at
        once) is neither sent nor forgotten: settle_replaced keeps our version as a conflict
        copy from .ha-sync/replaced/; if it never shows up there, it is given up after STUCK."""
        batch = {}
        now = time.monotonic()
        bases = dict(self.dirs)
        for key, entry in list(self.pending.items()):
            module, _, rel = key.partition("/")
            try:
                live = os.lstat(os.path.join(bases.get(module, "/nonexistent"), rel)).st_ino
            except OSError:
                live = None
            if live == entry[1]:
                batch[key] = entry
                self.replaced_since.pop(key, None)
                continue
            since = self.replaced_since.setdefault(key, now)
            if now - since > STUCK:
                self.log("gave up on %s: the version made here was replaced and not found" % key)
                del self.pending[key]
                self.replaced_since.pop(key, None)
                self.dirty = True
        return batch

    def push(self):
        """Holder: every pending path still ours to the peer's live directory (deletes
        included)."""
        started = time.time()
        batch = self.still_ours()
        if not batch:
            return True
        stamp = now_stamp()
        for module, rels in sorted(self.by_module(batch).items()):
            base = dict(self.dirs).get(module)
            if base is None:
                continue
            with tempfile.NamedTemporaryFile("wb", dir=self.state_dir, prefix=".list-") as listing:
                listing.write(b"\0".join(os.fsencode(r) for r in sorted(rels)) + b"\0")
                listing.flush()
                # -I: these files changed; rsync's size+mtime check would skip a same-size
                # change made within the same second
                ok, out = self.rsync(["-a", "-I", "--relative", "--from0", "--files-from=" + listing.name,
                                      "--delete-missing-args", "--force", "--backup",
                                      "--backup-dir=%s/replaced/%s-%s" % (SYNC_DIR, stamp, self.me),
                                      base + "/", self.url(module)])
            if not ok:
                return self.failed("push to %s: %s" % (self.peer, out))
        self.forget(batch)
        self.pushed(started, "pushed %d change(s) to %s" % (len(batch), self.peer), quiet=True)
        return True

    def full_push(self):
        """Holder, on promotion: what the peer lacks or has older, no deletes (nothing lost)."""
        started = time.time()
        stamp = now_stamp()
        for module, base in self.dirs:
            ok, out = self.rsync(["-a", "--update", "--exclude=/" + SYNC_DIR, "--backup",
                                  "--backup-dir=%s/replaced/%s-%s" % (SYNC_DIR, stamp, self.me),
                                  base + "/", self.url(module)], timeout=3600)
            if not ok:
                return self.failed("catch-up push to %s: %s" % (self.peer, out))
        self.catch_up = False
        self.pushed(started, "catch-up push to %s done" % self.peer)
        return True

    def forget(self, batch):
        """Drop the keys that were sent, unless they changed again meanwhile."""
        for key, seen in batch.items():
            if self.pending.get(key) == seen:
                del self.pending[key]
                self.dirty = True
        self.save_pending()

    def deliver(self):
        """Not the holder, changes of ours still pending: to the holder's inbox, as a snapshot
        (hard links) with a list of deletes, READY last."""
        batch = self.still_ours()
        if not batch:
            return True
        stamp = now_stamp()
        for module, rels in sorted(self.by_module(batch).items()):
            base = dict(self.dirs).get(module)
            if base is None:
                continue
            box = os.path.join(base, SYNC_DIR, "outbox", "%s-%s" % (self.me, stamp))
            files = os.path.join(box, "files")
            os.makedirs(files, 0o700)
            deletes = []
            for rel in rels:
                src = os.path.join(base, rel)
                dest = os.path.join(files, rel)
                if os.path.islink(src) or os.path.isfile(src):
                    os.makedirs(os.path.dirname(dest), exist_ok=True)
                    try:
                        os.link(src, dest, follow_symlinks=False)
                    except OSError:
                        shutil.copy2(src, dest, follow_symlinks=False)
                elif os.path.isdir(src):
                    os.makedirs(dest, exist_ok=True)
                else:
                    deletes.append(rel)
            with open(os.path.join(box, "deletes"), "w") as handle:
                handle.write("".join(d + "\0" for d in deletes))
            outbox = os.path.join(base, SYNC_DIR, "outbox") + "/"
            ok, out = self.rsync(["-a", "--exclude=READY", outbox, self.url(module, SYNC_DIR + "/inbox/")])
            if ok:
                open(os.path.join(box, "READY"), "w").close()
                ok, out = self.rsync(["-a", outbox, self.url(module, SYNC_DIR + "/inbox/")])
            if not ok:
                shutil.rmtree(box, ignore_errors=True)
                return self.failed("delivery to %s: %s" % (self.peer, out))
            shutil.rmtree(box, ignore_errors=True)
        self.forget(batch)
        self.log("delivered %d change(s) made here while %s could not get them" % (len(batch), self.peer))
        return True

    def peer_has_nothing_unsent(self):
        """Before pushing after promotion or a lost connection: the peer's own unsent changes
        (it held the VIP meanwhile) come first, or a push would race with its delivery. Asks
        the peer's state file; waits at most PEER_WAIT (its backups still protect it then)."""
        module = self.dirs[0][0]
        with tempfile.TemporaryDirectory(dir=self.state_dir) as tmp:
            ok, out = self.rsync(["-q", self.url(module, SYNC_DIR + "/state.json"), tmp + "/"])
            if not ok and "No such file" not in out:       # a peer agent that never ran: nothing
                return self.failed("asking %s for its unsent changes: %s" % (self.peer, out))
            peer = self._load(os.path.join(tmp, "state.json"), {})
        if self.peer_wait_since is None:
            self.peer_wait_since = time.monotonic()
        if peer.get("backlog", 0) and time.monotonic() - self.peer_wait_since < PEER_WAIT:
            self.next_try = time.monotonic() + 0.2
            return False
        self.peer_checked = True
        self.peer_wait_since = None
        return True

    def failed(self, text):
        self.peer_checked = False      # the peer may take the VIP and write while we cannot reach it
        if text != self.last_error:
            self.log(text)
        self.last_error = text
        self.next_try = time.monotonic() + RETRY
        return False

    def pushed(self, started, text, quiet=False):
        self.last_push = time.time()
        self.last_push_seconds = round(self.last_push - started, 3)
        self.pushes += 1
        if self.last_error or not quiet:
            self.log(text)
        self.last_error = None

    # -- merging what the peer sent or replaced ---------------------------------------
    def keep_conflict(self, module, rel, src, owner):
        base = dict(self.dirs)[module]
        name = "%s%s%s-%s" % (rel, CONFLICT_MARK, owner, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
        dest = os.path.join(base, name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        os.rename(src, dest)
        self.conflicts.append({"path": os.path.join(base, rel), "kept_as": dest, "from": owner,
                               "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        atomic_json(self.conflicts_path, self.conflicts)
        self.log("conflict: %s changed on both nodes; %s's version kept as %s" % (rel, owner, dest))
        return name

    def saw_conflict(self, module, path):
        """A conflict copy made on the peer arrived: reported here too."""
        if any(c["kept_as"] == path for c in self.conflicts) or not os.path.lexists(path):
            return
        name = os.path.basename(path)
        original, _, tail = name.partition(CONFLICT_MARK)
        self.conflicts.append({"path": os.path.join(os.path.dirname(path), original), "kept_as": path,
                               "from": tail.rsplit("-", 1)[0],
                               "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        atomic_json(self.conflicts_path, self.conflicts)

    def old_enough(self, path):
        try:
            return time.time() - os.lstat(path).st_mtime >= SETTLE_AGE
        except OSError:
            return False

    def merge_inbox(self):
        for module, base in self.dirs:
            inbox = os.path.join(base, SYNC_DIR, "inbox")
            try:
                boxes = sorted(os.listdir(inbox))
            except OSError:
                continue
            for box in boxes:
                path = os.path.join(inbox, box)
                if not os.path.exists(os.path.join(path, "READY")):
                    if self.old_enough(path) and time.time() - os.lstat(path).st_mtime > 600:
                        shutil.rmtree(path, ignore_errors=True)       # an abandoned delivery
                    continue
                self.merge_box(module, base, path, box.rsplit("-", 2)[0])
                shutil.rmtree(path, ignore_errors=True)

    def merge_box(self, module, base, box, sender):
        files = os.path.join(box, "files")
        for current, _dirs, names in os.walk(files):
            for name in names:
                src = os.path.join(current, name)
                rel = os.path.relpath(src, files)
                dest = os.path.join(base, rel)
                if module + "/" + rel in self.pending:
                    if same_file_content(src, dest):
                        os.unlink(src)      # both sides hold the same bytes: no conflict
                    else:
                        self.keep_conflict(module, rel, src, sender)
                    continue
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                if os.path.isdir(dest) and not os.path.islink(dest):
                    self.keep_conflict(module, rel, src, sender)
                    continue
                os.rename(src, dest)
        try:
            with open(os.path.join(box, "deletes")) as handle:
                deletes = [d for d in handle.read().split("\0") if d]
        except OSError:
            deletes = []
        for rel in deletes:
            if module + "/" + rel in self.pending:
                continue         # changed here, deleted there: ours stays (nothing lost)
            target = os.path.join(base, rel)
            if os.path.isdir(target) and not os.path.islink(target):
                shutil.rmtree(target, ignore_errors=True)
            elif os.path.lexists(target):
                os.unlink(target)
        self.log("merged changes %s made while it held the VIP" % sender)

    def settle_replaced(self):
        for module, base in self.dirs:
            replaced = os.path.join(base, SYNC_DIR, "replaced")
            try:
                stamps = sorted(os.listdir(replaced))
            except OSError:
                continue
            for stamp in stamps:
                top = os.path.join(replaced, stamp)
                if not self.old_enough(top):
                    continue
                for current, _dirs, names in os.walk(top):
                    for name in names:
                        src = os.path.join(current, name)
                        rel = os.path.relpath(src, top)
                        key = module + "/" + rel
                        if key in self.pending and same_file_content(src, os.path.join(base, rel)):
                            self.pending.pop(key, None)     # the holder wrote the same bytes
                            self.dirty = True
                        elif key in self.pending:        # our unsent change, overwritten by the holder
                            kept = self.keep_conflict(module, rel, src, self.me)
                            self.pending.pop(key, None)
                            self.note(module, os.path.join(base, kept))
                shutil.rmtree(top, ignore_errors=True)
        self.save_pending()

    # -- status ----------------------------------------------------------------------
    def write_status(self):
        oldest = min(v[0] for v in self.pending.values()) if self.pending else None
        live = [c for c in self.conflicts if os.path.lexists(c["kept_as"])]
        # what the holder asks before it pushes (peer_has_nothing_unsent)
        atomic_json(os.path.join(self.dirs[0][1], SYNC_DIR, "state.json"),
                    {"node": self.me, "role": self.role, "backlog": len(self.pending), "time": time.time()})
        atomic_json(self.status_path, {
            "node": self.me, "peer": self.peer, "role": self.role, "pid": os.getpid(),
            "time": time.time(), "backlog": len(self.pending),
            "lag_seconds": round(time.time() - oldest, 3) if oldest else 0.0,
            "last_push": self.last_push, "last_push_seconds": self.last_push_seconds,
            "pushes": self.pushes, "last_error": self.last_error, "conflicts": live,
            "dirs": [d for _m, d in self.dirs],
        }, mode=0o644)
        self.status_at = time.monotonic()

    # -- main loop -------------------------------------------------------------------
    def run(self):
        os.makedirs(self.state_dir, 0o700, exist_ok=True)
        for module, base in self.dirs:
            os.makedirs(os.path.join(base, SYNC_DIR), 0o700, exist_ok=True)
            self.watch_tree(module, base, False)
        self.log("watching %s; peer %s (%s)" % (", ".join(d for _m, d in self.dirs), self.peer,
                                                self.c["peer_address"]))
        self.write_status()         # the backlog the peer asks for, before any network wait
        while not self.stop:
            wait = DEBOUNCE if self.pending else 0.25
            role = self.current_role(self.changes_waiting(wait))
            # events queued while this node held the VIP are its own writes, even if it has
            # just lost the VIP (a long push attempt may have delayed reading them)
            self.handle_events(self.role == "MASTER" or role == "MASTER")
            if role != self.role:
                self.log("role %s -> %s" % (self.role, role))
                if role == "MASTER":
                    self.catch_up = True
                    self.peer_checked = False
                self.role = role
            mono = time.monotonic()
            if mono >= self.next_try:
                if role == "MASTER":
                    self.merge_inbox()
                    if not self.peer_checked:
                        self.peer_has_nothing_unsent()
                    if not self.peer_checked or time.monotonic() < self.next_try:
                        pass
                    elif self.catch_up:
                        self.full_push()
                    if self.pending and self.peer_checked and time.monotonic() >= self.next_try:
                        oldest = min(v[0] for v in self.pending.values())
                        if mono - self.last_event >= DEBOUNCE or time.time() - oldest >= MAX_WAIT:
                            self.save_pending()
                            self.push()
                elif self.pending:
                    self.deliver()
            self.settle_replaced()
            self.save_pending()
            if mono - self.status_at >= STATUS_EVERY or self.dirty:
                self.write_status()
        self.save_pending()
        self.write_status()


def main(argv):
    if len(argv) != 3 or argv[1] != "--config":
        sys.stderr.write("usage: ha-filesync --config FILE\n")
        return 2
    with open(argv[2]) as handle:
        config = json.load(handle)
    agent = Agent(config)

    def stop(*_):
        agent.stop = True
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    agent.run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
