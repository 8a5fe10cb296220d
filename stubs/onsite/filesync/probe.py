"""What status, verify and drill ask about file sync (read-only, except the canary file).

The canary proves the whole path the app's files take: a file written in the holder's first
data directory, read back from the *peer's* rsync daemon (with the sync secret), not from this
node's own idea of what it sent.
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

from onsite.filesync import render
from onsite.host import tools

STALE = 5.0          # the agent rewrites its status every second


def load_config():
    try:
        with open(render.CONFIG_PATH) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def agent_status():
    """The agent's status.json with 'age' (seconds since written), or None."""
    path = os.path.join(render.STATE_DIR, "status.json")
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return None
    data["age"] = round(time.time() - float(data.get("time") or 0), 1)
    return data


def live_conflicts(data):
    return [c for c in (data or {}).get("conflicts") or [] if os.path.lexists(c.get("kept_as", ""))]


def fetch_from_peer(cfg, module, rel, dest_dir, timeout=10):
    """Copy one file from the peer's rsync daemon into dest_dir; (ok, output)."""
    # -I and a removed old copy: a canary of the same size written within the same second
    # as the last fetched one would pass rsync's size+mtime check and never be fetched
    stale = os.path.join(dest_dir, os.path.basename(rel))
    if os.path.lexists(stale):
        os.unlink(stale)
    argv = [cfg.get("rsync") or "rsync", "-q", "-I", "--password-file=" + cfg["password_file"],
            "--port={}".format(cfg["port"]), "--contimeout=3", "--timeout=5",
            "rsync://{}@{}/{}/{}".format(cfg["user"], cfg["peer_address"], module, rel), dest_dir + "/"]
    try:
        proc = tools.run(argv, timeout=timeout)     # its "No such file" is read below
    except subprocess.TimeoutExpired:
        return False, "rsync timed out"
    return proc.returncode == 0, proc.stdout.strip()


def canary(cfg, holder_here, wait=5.0, clock=time.monotonic):
    """(ok, seconds, detail). On the holder: write a fresh canary and wait until the peer's
    daemon serves the same bytes. Elsewhere: the holder's canary (read from the peer) must be
    what this node has."""
    module, directory = cfg["dirs"][0]["module"], cfg["dirs"][0]["path"]
    local_path = os.path.join(directory, render.CANARY)
    start = clock()
    if holder_here:
        text = "ha-bundle canary {} {}\n".format(cfg["node"], time.time())
        tmp = local_path + ".tmp"
        with open(tmp, "w") as handle:
            handle.write(text)
        os.rename(tmp, local_path)
    detail = ""
    scratch = tempfile.mkdtemp(prefix="ha-canary-")
    try:
        while True:
            ok, out = fetch_from_peer(cfg, module, render.CANARY, scratch)
            got = None
            if ok:
                with open(os.path.join(scratch, render.CANARY)) as handle:
                    got = handle.read()
            try:
                with open(local_path) as handle:
                    mine = handle.read()
            except OSError:
                mine = None
            if got is not None and got == mine:
                return True, clock() - start, ""
            if not holder_here and mine is None and "No such file" in out:
                return True, clock() - start, "no canary written yet"
            detail = out if not ok else "the peer has a different canary"
            if clock() - start >= wait:
                return False, clock() - start, detail
            time.sleep(0.1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
