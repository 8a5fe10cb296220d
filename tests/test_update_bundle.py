"""Update bundles, build side (issue 16, item 2): ha-bundle build MANIFEST --update-from OLD.

Real builds from the fixture repos: the demo bundle, then the demo one step later (fixture
repo updates-next carries libnl3 3.2.28-5; the app at 1.0.1). The update carries only what
changed, says what changed, names the lock it applies to, and refuses downgrades, another
target's lock and a damaged old .run before anything is written.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops_helpers import REPO_ROOT, build_demo_run, build_update_run, write_next_manifest


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    base = tmp_path_factory.mktemp("update")
    run = build_demo_run(base / "dist")
    return {"base": base, "run": run, "lock": base / "dist" / "demo" / "bundle.lock.json",
            "next": write_next_manifest(base / "next")}


def ha_bundle(*args, cwd=REPO_ROOT):
    return subprocess.run([sys.executable, "-c", "from builder.cli import main; main()"] + [str(a) for a in args],
                          cwd=str(cwd), stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)


def inspect(run: Path) -> dict:
    out = ha_bundle("inspect", run, "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def test_update_carries_only_what_changed_and_names_its_base(full, tmp_path):
    out = ha_bundle("build", full["next"], "--out", tmp_path / "dist", "--update-from", full["run"])
    assert out.returncode == 0, out.stderr
    assert "upgraded   libnl3.x86_64 3.2.28-4.el7 -> 3.2.28-5.el7" in out.stderr
    assert "app        1.0.1 (was 1.0.0)" in out.stderr
    run = tmp_path / "dist" / "ha-installer-demo-update.run"
    info = inspect(run)
    old_sha = hashlib.sha256(full["lock"].read_bytes()).hexdigest()
    assert info["packages"] == ["libnl3-3.2.28-5.el7.x86_64"]
    assert [m for m in info["members"] if m.startswith("rpms/")] == ["rpms/libnl3-3.2.28-5.el7.x86_64.rpm"]
    assert info["update"]["from_lock_sha256"] == old_sha
    assert info["update"]["changes"]["upgraded"] == [
        {"name": "libnl3", "arch": "x86_64", "from": "3.2.28-4.el7", "to": "3.2.28-5.el7"}]
    assert info["update"]["changes"]["added"] == info["update"]["changes"]["removed"] == []
    assert info["app"]["version"] == "1.0.1" and any(m.startswith("app/") for m in info["members"])
    assert info["header"]["applies_to"] == "hosts installed from lock " + old_sha
    assert info["bootstrap"] == []          # python3 did not change: nothing to bootstrap from
    assert ha_bundle("verify", run).returncode == 0
    shown = subprocess.run(["sh", str(run), "--info"], stdout=subprocess.PIPE, universal_newlines=True).stdout
    assert "Applies to:   hosts installed from lock " + old_sha in shown and "Packages:     1" in shown
    # the whole new lock is inside (the state the host ends in), with the old lock's packages
    lock = json.loads((tmp_path / "dist" / "demo-update" / "bundle.lock.json").read_text())
    assert len(lock["packages"]) == len(json.loads(full["lock"].read_text())["packages"])
    assert {p["name"] for p in lock["update"]["from"]["packages"]} >= {"libnl3", "keepalived"}
    # the full bundle beside it is untouched
    assert (full["base"] / "dist" / "ha-installer-demo.run").is_file()


def test_from_the_lock_or_from_the_run_is_the_same_update(full, tmp_path):
    a = build_update_run(tmp_path / "a", full["next"], full["run"])
    b = build_update_run(tmp_path / "b", full["next"], full["lock"])
    assert inspect(a)["update"] == inspect(b)["update"]
    assert a.read_bytes() == b.read_bytes()        # reproducible, whichever form OLD takes


def test_nothing_changed_carries_no_rpm(full, tmp_path):
    first = build_update_run(tmp_path / "one", full["next"], full["run"])
    del first
    again = ha_bundle("build", full["next"], "--out", tmp_path / "two", "--update-from",
                      tmp_path / "one" / "demo-update" / "bundle.lock.json")
    assert again.returncode == 0, again.stderr
    assert "no package changes" in again.stderr and "(0 of " in again.stderr
    assert inspect(tmp_path / "two" / "ha-installer-demo-update.run")["packages"] == []


def _pinned(full, tmp_path, pin):
    text = full["next"].read_text().replace('"keepalived = 2.0.20"', '"%s"' % pin)
    path = full["next"].parent / ("pinned-%s.toml" % tmp_path.name)
    path.write_text(text)
    return path


def test_a_downgrade_is_refused_unless_asked_for(full, tmp_path):
    manifest = _pinned(full, tmp_path, "keepalived = 1.3.5")
    out = ha_bundle("build", manifest, "--out", tmp_path / "dist", "--update-from", full["run"])
    assert out.returncode == 1, out.stderr
    assert "DOWNGRADED keepalived.x86_64 2.0.20-1.el7 -> 1.3.5-19.el7" in out.stderr
    assert "would be downgraded" in out.stderr and "--allow-downgrade" in out.stderr
    assert not (tmp_path / "dist" / "ha-installer-demo-update.run").exists()
    assert not (tmp_path / "dist" / "demo-update").exists()
    assert [p.name for p in (tmp_path / "dist").iterdir()] == []       # staging removed too
    ok = ha_bundle("build", manifest, "--out", tmp_path / "dist", "--update-from", full["run"], "--allow-downgrade")
    assert ok.returncode == 0, ok.stderr
    changes = inspect(tmp_path / "dist" / "ha-installer-demo-update.run")["update"]["changes"]
    assert {"name": "keepalived", "arch": "x86_64", "from": "2.0.20-1.el7", "to": "1.3.5-19.el7"} in \
        changes["downgraded"]


def test_another_targets_lock_is_refused_before_any_download(full, tmp_path):
    lock = json.loads(full["lock"].read_text())
    lock["target"]["name"], lock["target"]["os_major"] = "el8", "8"
    other = tmp_path / "el8.lock.json"
    other.write_text(json.dumps(lock))
    out = ha_bundle("build", full["next"], "--out", tmp_path / "dist", "--update-from", other)
    assert out.returncode == 1, out.stderr
    assert "is for target el8" in out.stderr and "builds demo" in out.stderr
    assert "metadata" not in out.stderr          # refused before any repo was read
    assert not (tmp_path / "dist").exists() or not list((tmp_path / "dist").iterdir())


@pytest.mark.parametrize("damage", ["truncated", "not-a-lock", "missing", "bad-entry"])
def test_a_bad_old_bundle_is_refused_with_a_clear_message(full, tmp_path, damage):
    old = tmp_path / "old"
    if damage == "truncated":
        old = tmp_path / "old.run"
        data = full["run"].read_bytes()
        old.write_bytes(data[: len(data) - 4096])
        want, code = "damaged", 3
    elif damage == "not-a-lock":
        old.write_text('{"hello": 1}')
        want, code = "not a bundle lock", 1
    elif damage == "bad-entry":
        lock = json.loads(full["lock"].read_text())
        del lock["packages"][0]["release"]
        old.write_text(json.dumps(lock))
        want, code = "lacks name/arch/version/release/filename", 1
    else:
        want, code = "no such file", 1
    out = ha_bundle("build", full["next"], "--out", tmp_path / "dist", "--update-from", old)
    assert out.returncode == code, out.stderr
    assert want in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "dist" / "ha-installer-demo-update.run").exists()


def test_a_same_version_rebuild_is_refused(full, tmp_path):
    lock = json.loads(full["lock"].read_text())
    keepalived = [p for p in lock["packages"] if p["name"] == "keepalived"][0]
    keepalived["sha256"] = "0" * 64           # OLD had other bytes under the same version
    old = tmp_path / "old.lock.json"
    old.write_text(json.dumps(lock))
    out = ha_bundle("build", full["next"], "--out", tmp_path / "dist", "--update-from", old)
    assert out.returncode == 1, out.stderr
    assert "REBUILT    keepalived.x86_64 2.0.20-1.el7" in out.stderr and "new release" in out.stderr
    assert not (tmp_path / "dist" / "ha-installer-demo-update.run").exists()
