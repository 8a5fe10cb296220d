"""Broken networks, full or read-only disks, things in the way, kill -9: a message, a code, no leftovers.

Exit codes come from builder.exitcodes (docs/build.md prints the same table).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from builder import exitcodes
from tests.cli import run as ha_bundle
from tests.conftest import REPO_ROOT
from tests.fixtures.hostile import HostileServer, el7_copy
from tests.manifest_util import write_manifest

LIBNL3 = "Packages/libnl3-3.2.28-4.el7.x86_64.rpm"


@pytest.fixture()
def srv(fixture_repos: Path, tmp_path: Path) -> Path:
    return el7_copy(fixture_repos, tmp_path / "srv")


def _manifest(tmp_path: Path, base: str, **kw) -> Path:
    return write_manifest(tmp_path, "el7", {"base": f"{base}/el7/base", "updates": f"{base}/el7/updates"},
                          ["keepalived", "libnl3"], **kw)


def _clean(out: subprocess.CompletedProcess[str], code: int) -> None:
    assert out.returncode == code, (out.returncode, out.stderr)
    assert "Traceback" not in out.stderr and "error:" in out.stderr, out.stderr


def _in_mount_ns(script: str, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    """Run a shell script in a private mount namespace (tmpfs mounts vanish with it)."""
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script], env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)


# ---- bounded time -------------------------------------------------------------------------

def test_hung_mirror_is_bounded_by_timeout_and_retries_and_says_what_it_waits_for(srv, tmp_path):
    with HostileServer(srv) as server:
        server.rules["repodata/repomd.xml"] = "hang"
        start = time.monotonic()
        out = ha_bundle("resolve", _manifest(tmp_path, server.url), "--timeout", "1", "--retries", "2",
                        cache=tmp_path / "cache", timeout=60)
        took = time.monotonic() - start
    _clean(out, exitcodes.NETWORK)
    assert took < 20, took  # 3 tries x 1 s + waits of 1 and 2 s, plus start-up
    assert "no answer for 1 s" in out.stderr and "retry 1/2" in out.stderr and "retry 2/2" in out.stderr
    assert "gave up on" in out.stderr and "repomd.xml" in out.stderr


def test_stalled_rpm_body_is_bounded_by_the_per_repo_deadline(srv, tmp_path):
    with HostileServer(srv) as server:
        server.rules[LIBNL3] = "drip"  # one byte a second: never a read timeout
        start = time.monotonic()
        out = ha_bundle("fetch", _manifest(tmp_path, server.url), "--out", tmp_path / "dist", "--deadline", "4",
                        cache=tmp_path / "cache", timeout=60)
        took = time.monotonic() - start
    _clean(out, exitcodes.NETWORK)
    assert took < 30, took
    assert "per-repo deadline of 4 s" in out.stderr
    assert not (tmp_path / "dist" / "el7").exists()


def test_progress_lines_are_printed_without_a_terminal(srv, tmp_path):
    out = ha_bundle("build", _manifest(tmp_path, str(srv)), "--out", tmp_path / "dist", cache=tmp_path / "cache",
                    env={"HA_BUNDLE_PROGRESS_SECONDS": "0"})
    assert out.returncode == 0, out.stderr
    assert re.search(r"^fetch: \d+/\d+ files, [\d.]+ MB/[\d.]+ MB \(\d+ s\)$", out.stderr, re.M), out.stderr
    assert re.search(r"^assemble ha-installer-el7.run: compressing: ", out.stderr, re.M), out.stderr


# ---- every failure is a message -------------------------------------------------------------

def test_usage_errors_have_their_own_code():
    out = ha_bundle("build", "--no-such-flag")
    assert out.returncode == exitcodes.USAGE != exitcodes.UNSATISFIABLE
    assert "No such option" in out.stderr and "Traceback" not in out.stderr


def test_out_is_an_existing_file(srv, tmp_path):
    (tmp_path / "dist").write_text("not a directory")
    out = ha_bundle("fetch", _manifest(tmp_path, str(srv)), "--out", tmp_path / "dist", cache=tmp_path / "cache")
    _clean(out, exitcodes.FILESYSTEM)
    assert "exists and is not a directory" in out.stderr
    assert (tmp_path / "dist").read_text() == "not a directory"


def test_out_is_a_dangling_symlink(srv, tmp_path):
    (tmp_path / "dist").symlink_to(tmp_path / "nowhere")
    out = ha_bundle("build", _manifest(tmp_path, str(srv)), "--out", tmp_path / "dist", cache=tmp_path / "cache")
    _clean(out, exitcodes.FILESYSTEM)
    assert "dangling symlink" in out.stderr
    assert not (tmp_path / "nowhere").exists()


def test_out_target_is_a_symlink_and_what_it_points_to_is_kept(srv, tmp_path):
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "data").write_text("keep me")
    (tmp_path / "dist").mkdir()
    (tmp_path / "dist" / "el7").symlink_to(precious)
    out = ha_bundle("build", _manifest(tmp_path, str(srv)), "--out", tmp_path / "dist", cache=tmp_path / "cache")
    _clean(out, exitcodes.FILESYSTEM)
    assert "is a symlink; refusing to replace it" in out.stderr
    assert (precious / "data").read_text() == "keep me"
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == ["el7"]


def test_read_only_out(srv, tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    manifest = _manifest(tmp_path, str(srv))
    out = _in_mount_ns(f"mount -t tmpfs -o ro tmpfs {ro} && {sys.executable} -m builder build {manifest} "
                       f"--out {ro}/dist --cache {tmp_path}/cache")
    _clean(out, exitcodes.FILESYSTEM)
    assert "read-only file system" in out.stderr


@pytest.mark.parametrize("full", ["out", "cache"])
def test_disk_full_during_fetch_or_assembly(srv, tmp_path, full):
    small = tmp_path / "small"
    small.mkdir()
    manifest = _manifest(tmp_path, str(srv))
    out_dir = f"{small}/dist" if full == "out" else f"{tmp_path}/dist"
    cache = f"{small}/cache" if full == "cache" else f"{tmp_path}/cache"
    out = _in_mount_ns(f"mount -t tmpfs -o size=48k tmpfs {small} && {sys.executable} -m builder build {manifest} "
                       f"--out {out_dir} --cache {cache}; rc=$?; ls -A {small} {small}/dist 2>/dev/null; exit $rc")
    _clean(out, exitcodes.DISK_FULL)
    assert "no space left on the disk" in out.stderr
    assert "truncated or damaged" not in out.stderr
    assert ".hb-" not in out.stdout, out.stdout  # no staging or assembly directory left behind


def test_target_name_too_long_is_refused_by_resolve_already(srv, tmp_path):
    path = _manifest(tmp_path, str(srv))
    path.write_text(path.read_text().replace('name = "el7"', f'name = "{"t" * 300}"'))
    out = ha_bundle("resolve", path, cache=tmp_path / "cache")
    _clean(out, exitcodes.INPUT)
    assert "target.name" in out.stderr and "at most 64 characters" in out.stderr


def test_deeply_nested_manifest(tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n")
    out = ha_bundle("resolve", path)
    _clean(out, exitcodes.INPUT)
    assert "nested deeper than" in out.stderr


def test_huge_manifest_gives_a_short_error(srv, tmp_path):
    names = [f"p{i}" for i in range(200_000)]
    path = _manifest(tmp_path, str(srv))
    path.write_text(path.read_text().replace('packages = ["keepalived", "libnl3"]', f"packages = {json.dumps(names)}"))
    out = ha_bundle("resolve", path, cache=tmp_path / "cache")
    _clean(out, exitcodes.INPUT)
    assert len(out.stderr) < 2000, len(out.stderr)


def test_many_unknown_names_print_a_bounded_list(srv, tmp_path):
    path = _manifest(tmp_path, str(srv))
    names = [f"nosuch{i}" for i in range(3000)]
    path.write_text(path.read_text().replace('packages = ["keepalived", "libnl3"]', f"packages = {json.dumps(names)}"))
    out = ha_bundle("resolve", path, cache=tmp_path / "cache")
    assert out.returncode == exitcodes.UNSATISFIABLE, out.stderr
    assert "... and 2950 more" in out.stderr and len(out.stderr) < 20_000


def test_empty_baseline_list_is_refused(srv, tmp_path):
    out = ha_bundle("resolve", _manifest(tmp_path, str(srv), baseline=[]), cache=tmp_path / "cache")
    _clean(out, exitcodes.INPUT)
    assert "baseline.packages" in out.stderr and "non-empty" in out.stderr


def test_unexpected_errors_are_one_sentence_and_code_70():
    message, code = exitcodes.describe(ZeroDivisionError("division by zero"))
    assert code == exitcodes.INTERNAL and "a bug" in message and "ZeroDivisionError" in message
    message, code = exitcodes.describe(OSError(36, "File name too long", "/x/" + "y" * 300))
    assert code == exitcodes.FILESYSTEM and "a file name is too long" in message


def test_docs_print_the_exit_code_table():
    assert exitcodes.table_markdown() in (REPO_ROOT / "docs" / "build.md").read_text()


# ---- checks before any fetch --------------------------------------------------------------

@pytest.mark.parametrize("case", ["gpgkey", "zstd", "os_ids"])
def test_local_mistakes_are_found_before_any_request(srv, tmp_path, case):
    with HostileServer(srv) as server:
        manifest = _manifest(tmp_path, server.url)
        text = manifest.read_text()
        args = ["build", manifest, "--out", tmp_path / "dist"]
        if case == "gpgkey":
            text = text.replace(f'baseurl = "{server.url}/el7/base"',
                                f'baseurl = "{server.url}/el7/base"\ngpgkey = "no-such-key.asc"')
        elif case == "zstd":
            args += ["--compression", "zstd"]
        else:
            text = text.replace('os_ids = ["centos"', 'os_ids = ["centos\\nrm -rf /"')
        manifest.write_text(text)
        out = ha_bundle(*args, cache=tmp_path / "cache")
        assert server.requests == []
    _clean(out, exitcodes.INPUT)
    assert {"gpgkey": "[gpgkey-missing]", "zstd": "[zstd-not-on-target]", "os_ids": "target.os_ids"}[case] in out.stderr


# ---- crash-safe outputs -------------------------------------------------------------------

def _start_fetch(tmp_path: Path, manifest: Path) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), HA_BUNDLE_CACHE=str(tmp_path / "cache"))
    return subprocess.Popen([sys.executable, "-m", "builder", "build", str(manifest), "--out", str(tmp_path / "dist")],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(predicate, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.1)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_staging_left_by_a_killed_run_is_removed(srv, tmp_path, sig):
    with HostileServer(srv) as server:
        server.rules[LIBNL3] = "hang"
        manifest = _manifest(tmp_path, server.url)
        proc = _start_fetch(tmp_path, manifest)
        _wait_for(lambda: list((tmp_path / "dist").glob(".hb-stage-*")))
        proc.send_signal(sig)
        proc.wait(timeout=30)
        left = list((tmp_path / "dist").glob(".hb-*"))
        if sig == signal.SIGTERM:
            assert proc.returncode == exitcodes.INTERRUPTED and left == []
            return
        assert left, "kill -9 leaves the staging directory (nothing can run)"
        del server.rules[LIBNL3]
        out = ha_bundle("build", manifest, "--out", tmp_path / "dist", cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    assert sorted(p.name for p in (tmp_path / "dist").iterdir()) == ["el7", "ha-installer-el7.run"]


def test_assembly_dir_of_a_dead_process_is_removed(srv, tmp_path):
    dist = tmp_path / "dist"
    dist.mkdir()
    code = ("import os, signal, sys; from pathlib import Path; from builder import outputs; "
            "d = outputs.owned_dir(Path(sys.argv[1]), outputs.ASSEMBLE_PREFIX); "
            "(d / 'meta.tar.c').write_bytes(b'x' * 100000); os.kill(os.getpid(), signal.SIGKILL)")
    subprocess.run([sys.executable, "-c", code, str(dist)], env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert list(dist.glob(".hb-assemble-*"))
    out = ha_bundle("build", _manifest(tmp_path, str(srv)), "--out", dist, cache=tmp_path / "cache")
    assert out.returncode == 0, out.stderr
    assert not list(dist.glob(".hb-*"))


def _lock_digest_in_run(run: Path) -> str:
    from builder import runfile

    return runfile.read_header(run)["HB_LOCK_SHA256"]


def test_kill_between_run_and_lock_is_completed_by_the_next_run(srv, tmp_path):
    """kill -9 after the journal is written and the new .run moved in, before its lock: the next run finishes."""
    import hashlib

    dist = tmp_path / "dist"
    manifest = _manifest(tmp_path, str(srv))
    first = ha_bundle("build", manifest, "--out", dist, cache=tmp_path / "cache")
    assert first.returncode == 0, first.stderr
    code = ("import os, signal, sys; from pathlib import Path; from builder import outputs, plan\n"
            "def dying(out, data):\n"
            "    run = out / str(data['stage']) / str(data['run'])\n"
            "    os.replace(run, out / str(data['run'])); os.kill(os.getpid(), signal.SIGKILL)\n"
            "outputs._apply = dying\n"
            "plan.build_manifest(Path(sys.argv[1]), Path(sys.argv[2]), cache_dir=Path(sys.argv[3]))")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), SOURCE_DATE_EPOCH="1800000000")  # a different lock
    died = subprocess.run([sys.executable, "-c", code, str(manifest), str(dist), str(tmp_path / "cache")], env=env,
                          capture_output=True, text=True)
    assert died.returncode == -signal.SIGKILL, died.stderr
    run, lock_path = dist / "ha-installer-el7.run", dist / "el7" / "bundle.lock.json"
    assert _lock_digest_in_run(run) != hashlib.sha256(lock_path.read_bytes()).hexdigest()  # torn, for now
    assert list(dist.glob(".hb-commit-el7.json"))
    from builder import outputs

    outputs.prepare_out(dist, "el7")  # what every fetch and build does first
    assert _lock_digest_in_run(run) == hashlib.sha256(lock_path.read_bytes()).hexdigest()
    assert not list(dist.glob(".hb-*"))
    assert ha_bundle("verify", run).returncode == 0


# ---- reproducible anywhere ----------------------------------------------------------------

def test_same_run_from_another_checkout_path_and_a_mirror(fixture_repos, tmp_path):
    """The lock names repo ids and relative locations only; paths and mirrors go to the build record."""
    here = ha_bundle("build", REPO_ROOT / "manifests" / "demo.toml", "--out", tmp_path / "a", cache=tmp_path / "c1")
    assert here.returncode == 0, here.stderr
    elsewhere = tmp_path / "somewhere" / "else" / "checkout"
    for part in ("builder", "stubs", "manifests"):
        shutil.copytree(REPO_ROOT / part, elsewhere / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(fixture_repos / "el7" / "local", elsewhere / "build" / "fixture-repos" / "el7" / "local")
    mirror = tmp_path / "mirror"
    shutil.copytree(fixture_repos / "el7", mirror)
    env = dict(os.environ, PYTHONPATH=str(elsewhere), HA_BUNDLE_CACHE=str(tmp_path / "c2"))
    there = subprocess.run([sys.executable, "-m", "builder", "build", "manifests/demo.toml", "--out", str(tmp_path / "b"),
                            "--mirror", f"base=file://{mirror}/base", "--mirror", f"updates={mirror}/updates",
                            "--mirror", f"mysql57-community={mirror}/mysql57-community"],
                           cwd=elsewhere, env=env, text=True, capture_output=True)
    assert there.returncode == 0, there.stderr
    line_a = here.stdout.strip().splitlines()[-1]
    line_b = there.stdout.strip().splitlines()[-1]
    assert line_a.split()[0] == line_b.split()[0], (line_a, line_b)  # the same sha256
    summed = subprocess.run(["sha256sum", str(tmp_path / "a" / "ha-installer-demo.run")], capture_output=True, text=True)
    assert summed.stdout.strip() == line_a  # printed exactly as sha256sum prints it
    record = json.loads((tmp_path / "b" / "demo" / "build-record.json").read_text())
    assert [r["baseurl"] for r in record["repos"]][0] == f"file://{mirror}/base"
    assert record["code"].startswith(str(elsewhere))
    lock_text = (tmp_path / "b" / "demo" / "bundle.lock.json").read_text()
    assert str(tmp_path) not in lock_text and str(REPO_ROOT) not in lock_text


def test_kill_during_assembly_leaves_the_published_pair_alone(srv, tmp_path):
    """Assembly happens inside the staging directory: a kill -9 there changes nothing published."""
    import hashlib

    dist = tmp_path / "dist"
    manifest = _manifest(tmp_path, str(srv))
    assert ha_bundle("build", manifest, "--out", dist, cache=tmp_path / "cache").returncode == 0
    before = {p: p.read_bytes() for p in (dist / "ha-installer-el7.run", dist / "el7" / "bundle.lock.json")}
    code = ("import os, signal, sys; from pathlib import Path; from builder import compress, plan\n"
            "def dying(*a, **k):\n"
            "    os.kill(os.getpid(), signal.SIGKILL)\n"
            "compress.compress_stream = dying\n"
            "plan.build_manifest(Path(sys.argv[1]), Path(sys.argv[2]), cache_dir=Path(sys.argv[3]))")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT), SOURCE_DATE_EPOCH="1800000000")
    died = subprocess.run([sys.executable, "-c", code, str(manifest), str(dist), str(tmp_path / "cache")], env=env,
                          capture_output=True, text=True)
    assert died.returncode == -signal.SIGKILL, died.stderr
    assert {p: p.read_bytes() for p in before} == before
    assert _lock_digest_in_run(dist / "ha-installer-el7.run") == hashlib.sha256(
        before[dist / "el7" / "bundle.lock.json"]).hexdigest()
    assert list(dist.glob(".hb-stage-*/.hb-assemble-*")), "the kill left its work behind"
    again = ha_bundle("fetch", manifest, "--out", dist, cache=tmp_path / "cache")
    assert again.returncode == 0, again.stderr
    assert not list(dist.glob(".hb-*"))
    assert "was built from another lock" not in again.stderr  # same inputs: the pair still matches
    moved = ha_bundle("fetch", manifest, "--out", dist, cache=tmp_path / "cache", env={"SOURCE_DATE_EPOCH": "1"})
    assert moved.returncode == 0 and "run ha-bundle build to replace both together" in moved.stderr


def _dead_pid() -> int:
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], stdout=subprocess.PIPE,
                          universal_newlines=True)
    return int(proc.stdout)


def test_sweep_removes_an_empty_owner_less_directory_of_a_dead_process_only(tmp_path):
    """kill -9 between mkdtemp and the owner file: an empty directory named after the pid."""
    from builder import outputs

    dead = _dead_pid()
    empty = tmp_path / f"{outputs.STAGE_PREFIX}{dead}-abcd1234"
    full = tmp_path / f"{outputs.ASSEMBLE_PREFIX}{dead}-abcd1234"
    live = tmp_path / f"{outputs.STAGE_PREFIX}{os.getpid()}-abcd1234"
    for d in (empty, full, live):
        d.mkdir()
    (full / "store.tar").write_bytes(b"x")      # something in it and no owner: not ours to judge
    assert outputs.sweep(tmp_path) == [empty]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([full.name, live.name])


def test_an_interrupt_removes_every_owned_directory_this_process_made(tmp_path):
    code = ("import os, sys; from pathlib import Path; from builder import outputs, cli; "
            "d = Path(sys.argv[1]); outputs.owned_dir(d, outputs.STAGE_PREFIX); "
            "outputs.owned_dir(d, outputs.ASSEMBLE_PREFIX); (d / 'keep').mkdir(); "
            "cli._exit(130)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert proc.returncode == 130
    assert [p.name for p in tmp_path.iterdir()] == ["keep"]


def test_an_interrupt_during_a_commit_lands_after_it(tmp_path):
    """SIGTERM while the lock and .run are being published: the commit completes (the previous
    target is never left half-replaced), then the run stops with the interrupt code."""
    code = ("import os, signal, sys; from pathlib import Path; from builder import outputs, cli\n"
            "signal.signal(signal.SIGTERM, cli._terminate)\n"
            "out = Path(sys.argv[1]); (out / 't').mkdir(); (out / 't' / 'lock').write_text('old')\n"
            "stage = outputs.owned_dir(out, outputs.STAGE_PREFIX)\n"
            "(stage / 'lock').write_text('new'); (stage / 'ha-installer-t.run').write_text('run')\n"
            "real = os.replace\n"
            "def replace(a, b):\n"
            "    os.kill(os.getpid(), signal.SIGTERM)\n"
            "    return real(a, b)\n"
            "os.replace = replace\n"
            "try:\n"
            "    outputs.commit(out, 't', stage, with_run=True)\n"
            "except KeyboardInterrupt:\n"
            "    cli._exit(130)\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=dict(os.environ, PYTHONPATH=str(REPO_ROOT)))
    assert proc.returncode == 130
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ha-installer-t.run", "t"]
    assert sorted(p.name for p in (tmp_path / "t").iterdir()) == ["lock"]
    assert (tmp_path / "t" / "lock").read_text() == "new"
