#!/usr/bin/python3
"""PID 1 of one lab node: sets up the node's private mounts, then reaps orphans until killed.

Runs as ``ip netns exec NS unshare --mount --propagation private --pid --fork --mount-proc
--uts python3 nodeinit.py ...``. When this process dies the kernel kills every process in the
node's PID namespace, which is how the lab tears a node down without ever killing by name.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time


def bind(src, dst):
    os.makedirs(src, exist_ok=True)
    os.makedirs(dst, exist_ok=True)  # an empty mount point on the host fs if missing
    subprocess.run(["mount", "--bind", src, dst], check=True)


def overlay(lower, upper, work):
    """A copy-on-write view of a host directory: the node sees the host's files and keeps its
    own changes (users, units, releases) in upper, which the host can read."""
    os.makedirs(upper, exist_ok=True)
    os.makedirs(work, exist_ok=True)
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    "lowerdir=%s,upperdir=%s,workdir=%s" % (lower, upper, work), lower], check=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--spec", required=True, help="JSON file written by the lab")
    args = parser.parse_args()
    with open(args.spec) as handle:
        spec = json.load(handle)
    socket.sethostname(spec["hostname"])
    for lower, upper, work in spec.get("overlays", []):   # first: binds may live below them
        overlay(lower, upper, work)
    for src, dst in spec["binds"]:
        bind(src, dst)
    for src, dst in spec.get("file_binds", []):
        subprocess.run(["mount", "--bind", "-o", "ro", src, dst], check=True)
    for path, owner, mode in spec.get("owned_dirs", []):
        os.makedirs(path, exist_ok=True)
        shutil.chown(path, owner, owner)
        os.chmod(path, int(mode, 8))
    for path, text in spec.get("files", {}).items():
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as handle:
            handle.write(text)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    with open(spec["ready"], "w") as handle:
        handle.write("%d\n" % os.getpid())
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            time.sleep(0.2)


if __name__ == "__main__":
    sys.exit(main())
