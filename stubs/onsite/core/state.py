"""The state journal: /var/lib/ha-installer/state.json, written atomically.

Every step is recorded before it starts and after it ends, so an interrupted run can resume
and uninstall knows what to undo. Writes go to a temp file, are fsynced, then renamed.
"""

import json
import os
import tempfile
import time

STATE_REL = "var/lib/ha-installer/state.json"


def state_path(root="/"):
    return os.path.join(root, STATE_REL)


def load(root="/"):
    path = state_path(root)
    try:
        with open(path) as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {"version": 1, "steps": {}, "backups": []}


def atomic_write(path, data, mode=0o644):
    """Write bytes or text to path via temp file + fsync + rename (never a torn file)."""
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(tmp, path)
        dir_fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save(state, root="/"):
    atomic_write(state_path(root), json.dumps(state, indent=2, sort_keys=True) + "\n")


def mark(step, status, root="/", **details):
    """Record step -> status ('started', 'done', 'failed') with a timestamp."""
    state = load(root)
    entry = state["steps"].get(step, {})
    entry.update(details)
    entry["status"] = status
    entry["time"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    state["steps"][step] = entry
    save(state, root)
    return state


def append(key, item, root="/"):
    """Add item to the journal list ``key`` once. Callers record what they are about to change
    *before* changing it, so uninstall can undo even a run killed halfway."""
    journal = load(root)
    items = journal.setdefault(key, [])
    if item not in items:
        items.append(item)
        save(journal, root)
    return journal


def remember(key, value, root="/"):
    """Set ``before[key]`` only the first time: how the host was before ha-bundle touched it."""
    journal = load(root)
    before = journal.setdefault("before", {})
    if key not in before:
        before[key] = value
        save(journal, root)
    return journal["before"][key]
