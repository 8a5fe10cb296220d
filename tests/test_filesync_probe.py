"""The canary that verify and drill trust, against a real rsync daemon on 127.0.0.1.

The daemon runs our rendered rsyncd.conf (peer-only hosts allow, auth user, 0600 secrets), so
these tests also prove the module config authenticates and serves what the agent pushed.
"""

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "stubs"))

from onsite.filesync import probe, render  # noqa: E402

PASSWORD = "probe-test-secret"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def peer(tmp_path):
    """A real rsync daemon serving tmp/peer as module d0; yields (cfg for probe, peer dir, local dir)."""
    local, served = tmp_path / "local", tmp_path / "peer"
    local.mkdir()
    served.mkdir()
    port = free_port()
    # `ip` as the gate runs it: says the VIP is here while tmp/vip-here exists
    fake_ip = tmp_path / "ip"
    fake_ip.write_text('#!/bin/sh\n[ -e "%s" ] && echo "2: eth0    inet 192.0.2.100/32 scope global eth0"\n'
                       'exit 0\n' % (tmp_path / "vip-here"))
    os.chmod(str(fake_ip), 0o755)
    facts = render.Facts(node="ha1", address="127.0.0.1", peer_name="ha2", peer_address="127.0.0.1",
                         port=port, password=PASSWORD, dirs=[str(served)], python=sys.executable,
                         rsync="rsync", vrrp_state="/nonexistent", vip="192.0.2.100", ip=str(fake_ip))
    gate = tmp_path / "gate"
    gate.write_text(render.render_gate(facts))
    os.chmod(str(gate), 0o755)
    secrets, password = tmp_path / "rsyncd.secrets", tmp_path / "password"
    for path, text in ((secrets, render.render_secrets(facts)), (password, render.render_password(facts))):
        path.write_text(text)
        os.chmod(str(path), 0o600)
    conf = tmp_path / "rsyncd.conf"
    conf.write_text(render.render_rsyncd(facts).replace(render.RSYNCD_SECRETS, str(secrets))
                    .replace(render.RSYNCD_LOG, str(tmp_path / "rsyncd.log")).replace(render.GATE_PATH, str(gate)))
    daemon = subprocess.Popen(["rsync", "--daemon", "--no-detach", "--config=" + str(conf)])
    try:
        end = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert daemon.poll() is None, "rsync daemon exited"
                assert time.monotonic() < end, "rsync daemon never listened"
                time.sleep(0.05)
        cfg = {"rsync": "rsync", "password_file": str(password), "port": port, "user": render.SYNC_USER,
               "peer_address": "127.0.0.1", "node": "ha1", "dirs": [{"module": "d0", "path": str(local)}]}
        yield cfg, served, local
    finally:
        daemon.kill()
        daemon.wait(10)


def test_a_same_size_canary_in_the_same_second_is_still_fetched(peer, tmp_path, monkeypatch):
    """The peer first serves an old canary of the new one's size; the new one then arrives with
    the very mtime the fetched copy got. A size+mtime check would keep the old copy forever."""
    cfg, served, local = peer
    scratch_root = tmp_path / "scratch"
    scratch_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_root))
    target = served / render.CANARY
    errors = []

    def fake_push():
        try:
            end = time.monotonic() + 5
            mine = local / render.CANARY
            while not mine.exists():
                assert time.monotonic() < end, "canary never written"
                time.sleep(0.005)
            new = mine.read_text()
            old = "x" * (len(new) - 1) + "\n"
            target.write_text(old)
            while True:      # until probe has fetched the old copy into its scratch dir
                fetched = list(scratch_root.glob("ha-canary-*/" + render.CANARY))
                if fetched and fetched[0].read_text() == old:
                    break
                assert time.monotonic() < end, "old canary never fetched"
                time.sleep(0.005)
            stamp = fetched[0].stat().st_mtime
            target.write_text(new)
            os.utime(str(target), (stamp, stamp))
        except Exception as exc:      # reported by the main thread
            errors.append(exc)

    pusher = threading.Thread(target=fake_push)
    pusher.start()
    ok, seconds, detail = probe.canary(cfg, True, wait=4.0)
    pusher.join(10)
    assert not errors, errors
    assert ok, detail
    assert target.read_text() == (local / render.CANARY).read_text()


def test_a_canary_the_peer_never_got_fails_with_the_reason(peer):
    cfg, served, local = peer
    (served / render.CANARY).write_text("ha-bundle canary ha1 1.0\n")
    ok, seconds, detail = probe.canary(cfg, True, wait=0.5)
    assert not ok and detail == "the peer has a different canary"
    assert seconds >= 0.5


def test_a_wrong_sync_secret_is_refused_by_the_peer(peer, tmp_path):
    cfg, served, local = peer
    wrong = tmp_path / "wrong"
    wrong.write_text("not-the-secret\n")
    os.chmod(str(wrong), 0o600)
    (served / render.CANARY).write_text("same\n")
    (local / render.CANARY).write_text("same\n")
    ok, _, detail = probe.canary(dict(cfg, password_file=str(wrong)), False, wait=0.3)
    assert not ok and "auth failed" in detail, detail
    # the right secret reads the same file
    assert probe.canary(cfg, False, wait=0.3)[0]


def test_no_canary_on_either_node_is_not_a_failure_on_the_standby(peer):
    cfg, served, local = peer
    ok, _, detail = probe.canary(cfg, False, wait=0.3)
    assert ok and detail == "no canary written yet"


def _rsync(cfg, *args):
    return subprocess.run(["rsync", "--password-file=" + cfg["password_file"], "--port=%d" % cfg["port"]] +
                          list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)


def test_the_receiver_takes_no_live_push_while_it_holds_the_vip(peer, tmp_path):
    """Both nodes hold the VIP for a moment at a partition's heal: a live push over the other's
    unsent change must be refused (the pusher then delivers to the inbox, which merges and keeps
    both versions); reads and the .ha-sync exchange always pass."""
    cfg, served, local = peer
    url = "rsync://%s@127.0.0.1/d0/" % render.SYNC_USER
    (local / "a.txt").write_text("pushed")
    assert _rsync(cfg, "-a", str(local / "a.txt"), url).returncode == 0        # a standby takes it
    (tmp_path / "vip-here").write_text("")
    (local / "b.txt").write_text("refused")
    out = _rsync(cfg, "-a", str(local / "b.txt"), url)
    assert out.returncode != 0 and "ha1 holds the VIP 192.0.2.100: it takes no push now" in out.stdout, out.stdout
    assert not (served / "b.txt").exists()
    (served / ".ha-sync" / "inbox").mkdir(parents=True)
    assert _rsync(cfg, "-a", str(local / "b.txt"), url + ".ha-sync/inbox/").returncode == 0
    assert (served / ".ha-sync" / "inbox" / "b.txt").read_text() == "refused"
    fetched = tmp_path / "fetched"
    fetched.mkdir()
    assert _rsync(cfg, "-a", url + "a.txt", str(fetched) + "/").returncode == 0       # reads pass
    assert (fetched / "a.txt").read_text() == "pushed"
