"""One installer at a time (onsite.core.lock), with real processes on the target's Python 3.6:
a second run names the holder and changes nothing; a lock whose holder was killed is taken
over and the previous holder is named. The lab test of two installs at once on one node is
in tests/test_pair_lab.py."""

import json
import os
import signal
import subprocess
import time

HOLD = """
import sys, time
from onsite.core import lock
with lock.held(sys.argv[2], root=sys.argv[1]):
    print("holding", flush=True)
    time.sleep(60)
"""

TAKE = """
import sys
from onsite.cli import utf8_stdio
from onsite.core import lock, tty
from onsite.core.errors import OnsiteError
utf8_stdio()
try:
    with lock.held("drill", root=sys.argv[1], say=tty.say):
        print("got it")
except OnsiteError as exc:
    print(exc.render())
    sys.exit(exc.exit_code)
"""


def start_holder(py36, env, root, command):
    proc = subprocess.Popen([py36, "-c", HOLD, str(root), command], env=env, stdout=subprocess.PIPE,
                            universal_newlines=True)
    assert proc.stdout.readline().strip() == "holding"
    return proc


def take(py36, env, root, lang="en"):
    return subprocess.run([py36, "-c", TAKE, str(root)], env=dict(env, HA_INSTALLER_LANG=lang),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, timeout=60)


def test_a_second_run_names_the_holder_and_waits_for_nothing(py36, onsite_env, tmp_path):
    holder = start_holder(py36, onsite_env, tmp_path, "install")
    try:
        started = time.time()
        out = take(py36, onsite_env, tmp_path)
        assert out.returncode == 14, out.stdout + out.stderr
        assert "another ha-installer run holds the lock: pid %d, 'install', since " % holder.pid in out.stdout
        assert "nothing was changed" in out.stdout
        assert time.time() - started < 30       # refused at once, not after a wait
        zh = take(py36, onsite_env, tmp_path, "zh_CN")
        assert zh.returncode == 14 and "另一个 ha-installer 正在运行并持有锁: 进程 %d" % holder.pid in zh.stdout
        # the holder's description is intact after the refusals
        record = json.loads((tmp_path / "var/lib/ha-installer/installer.lock").read_text())
        assert record["pid"] == holder.pid and record["command"] == "install"
    finally:
        holder.kill()
        holder.wait()


def test_a_killed_holder_leaves_a_lock_the_next_run_takes_over(py36, onsite_env, tmp_path):
    holder = start_holder(py36, onsite_env, tmp_path, "uninstall")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    out = take(py36, onsite_env, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "an earlier run (pid %d, 'uninstall', since " % holder.pid in out.stdout
    assert "got it" in out.stdout
    # released cleanly: gone (with the directory the first run made), the next run takes it
    # without a note
    assert not (tmp_path / "var/lib/ha-installer/installer.lock").exists()
    again = take(py36, onsite_env, tmp_path)
    assert again.returncode == 0 and "earlier run" not in again.stdout
