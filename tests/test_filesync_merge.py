"""The holder's merge of a peer's delivery (stubs/onsite/filesync/agent.py, the real class): a
path changed on both sides is kept in both versions, unless both sides hold the same bytes
(an echo of a push at a failover is not a conflict)."""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.conftest import STUBS


@pytest.fixture
def agent(tmp_path):
    spec = importlib.util.spec_from_file_location("hb_filesync_agent", STUBS / "onsite" / "filesync" / "agent.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    data, state = tmp_path / "data", tmp_path / "state"
    data.mkdir()
    state.mkdir()
    config = {"node": "ha1", "peer_name": "ha2", "peer_address": "127.0.0.1", "port": 1, "user": "hbsync",
              "password_file": "/nonexistent", "rsync": "rsync", "dirs": [{"module": "d0", "path": str(data)}],
              "state_dir": str(state), "vrrp_state": "/nonexistent", "log": str(tmp_path / "agent.log")}
    return module.Agent(config), data, tmp_path


def box_with(tmp_path, files):
    box = tmp_path / "box"
    for rel, text in files.items():
        (box / "files" / rel).parent.mkdir(parents=True, exist_ok=True)
        (box / "files" / rel).write_text(text)
    (box / "deletes").write_text("")
    return box


def test_same_bytes_on_both_sides_is_not_a_conflict(agent):
    a, data, tmp = agent
    (data / "report.pdf").write_text("v1")
    a.pending = {"d0/report.pdf": [0.0, (data / "report.pdf").stat().st_ino, 1]}
    a.merge_box("d0", str(data), str(box_with(tmp, {"report.pdf": "v1"})), "ha2")
    assert sorted(p.name for p in data.iterdir()) == ["report.pdf"]
    assert a.conflicts == [] and (data / "report.pdf").read_text() == "v1"


def test_different_bytes_are_kept_in_both_versions(agent):
    a, data, tmp = agent
    (data / "report.pdf").write_text("mine")
    a.pending = {"d0/report.pdf": [0.0, (data / "report.pdf").stat().st_ino, 1]}
    a.merge_box("d0", str(data), str(box_with(tmp, {"report.pdf": "theirs", "new.txt": "n"})), "ha2")
    names = sorted(p.name for p in data.iterdir())
    copies = [n for n in names if n.startswith("report.pdf~conflict-ha2-")]
    assert len(copies) == 1 and (data / copies[0]).read_text() == "theirs", names
    assert (data / "report.pdf").read_text() == "mine" and (data / "new.txt").read_text() == "n"
    assert [c["from"] for c in json.loads((tmp / "state" / "conflicts.json").read_text())] == ["ha2"]


def test_a_version_the_peers_push_replaced_is_not_pushed_over_it_but_kept(agent):
    """Both nodes held the VIP at the heal: the peer's push replaced our unsent version (its
    --backup put ours in .ha-sync/replaced/). Our push must not send the peer's bytes back and
    forget the key (our version was then lost); settle_replaced keeps ours as a conflict copy."""
    import os
    import time

    a, data, tmp = agent
    (data / "both.txt").write_text("from-ha1")
    a.pending = {"d0/both.txt": [time.time(), (data / "both.txt").stat().st_ino, 1]}
    # the peer's push: ours moved to replaced/<stamp>/, theirs renamed into place
    backup = data / ".ha-sync" / "replaced" / "20261204T000000Z-000001-ha2"
    backup.mkdir(parents=True)
    os.rename(str(data / "both.txt"), str(backup / "both.txt"))
    (data / "both.txt").write_text("from-ha2")
    assert a.still_ours() == {} and "d0/both.txt" in a.pending      # not sent, not forgotten
    old = time.time() - 10
    os.utime(str(backup), (old, old))
    a.settle_replaced()
    copies = [p.name for p in data.iterdir() if p.name.startswith("both.txt~conflict-ha1-")]
    assert len(copies) == 1 and (data / copies[0]).read_text() == "from-ha1", list(data.iterdir())
    assert (data / "both.txt").read_text() == "from-ha2"
    assert "d0/both.txt" not in a.pending and ("d0/" + copies[0]) in a.pending   # the copy goes to the peer
