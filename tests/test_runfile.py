"""The self-extracting .run: header flags, integrity before anything changes, safe extraction.

Builds real bundles from the fixture repos (demo manifest) and runs them under dash, bash and
busybox sh. Attacks follow makeself's test/corrupttest: flip bytes, truncate, append, noexec tmp.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from builder import bundle, header, runfile
from builder.errors import BundleError
from tests.conftest import REPO_ROOT
from tests.runfile_helpers import build_fixture_repos, run_sh, stage_demo, stage_with_blob

HEADER_SH = REPO_ROOT / "stubs" / "header.sh"


@pytest.fixture(scope="session")
def built(tmp_path_factory):
    """demo: the demo target as the builder makes it; mixed: the same plus an incompressible
    'RPM', so the payload has both a stored part and a compressed part."""
    base = tmp_path_factory.mktemp("runfile")
    staged = stage_demo(base / "out", base / "cache")
    demo = bundle.assemble(staged, base / "dist")
    mixed_staged = stage_with_blob(staged, base)
    mixed = bundle.assemble(mixed_staged, base / "dist-mixed")
    return {"base": base, "staged": staged, "demo": demo, "mixed": mixed, "mixed_staged": mixed_staged}


def values_of(run_file: Path) -> dict[str, str]:
    return runfile.read_header(run_file)


def empty_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


# -- static checks -----------------------------------------------------------------------------

def test_shellcheck_reports_zero_findings_on_the_template():
    out = subprocess.run(["shellcheck", "-s", "sh", str(HEADER_SH)], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.returncode == 0 and out.stdout == "", out.stdout


def test_shellcheck_reports_zero_findings_on_a_rendered_header(built):
    data = built["demo"].read_bytes()
    text = data[:int(values_of(built["demo"])["HB_HEADER_SIZE"])].decode()
    out = subprocess.run(["shellcheck", "-s", "sh", "-"], input=text, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.returncode == 0 and out.stdout == "", out.stdout


def _fields(**over):
    base = dict(sha256=header.ZERO_DIGEST, store_size=1, meta_size=2, compression="xz", unpacked_kb=3,
                tool="ha-bundle 0", target="t", target_os="centos 7", target_arch="x86_64",
                build_date="d", packages=4, lock_sha256="l", bootstrap="", has_site="no")
    base.update(over)
    return header.HeaderFields(**base)


def test_render_fills_every_value_and_computes_sizes():
    template = HEADER_SH.read_text()
    text = header.render(template, _fields(target="it's"))
    values = header.parse_values(text)
    assert values["HB_TARGET"] == "it's"
    assert "HB_TARGET='it'\\''s'" in text
    assert int(values["HB_HEADER_SIZE"]) == len(text.encode())
    assert int(values["HB_TOTAL_SIZE"]) == len(text.encode()) + 3
    assert "@@\n" not in text.split("# @@ baked values end")[0].split("# @@ baked values begin")[1]


def test_render_refuses_a_template_value_nobody_provides():
    template = HEADER_SH.read_text().replace("HB_HAS_SITE=@@\n", "HB_HAS_SITE=@@\nHB_NEW_THING=@@\n")
    with pytest.raises(BundleError) as err:
        header.render(template, _fields())
    assert err.value.reference == "header-values-mismatch"
    assert "HB_NEW_THING" in str(err.value)


def test_render_refuses_multiline_values():
    with pytest.raises(BundleError, match="one line"):
        header.render(HEADER_SH.read_text(), _fields(target="a\nrm -rf /"))


# -- flags -------------------------------------------------------------------------------------

@pytest.mark.parametrize("shell", ["dash", "bash", "busybox"])
def test_info_list_check_version_help(built, shell):
    run_file = built["demo"]
    lock = built["staged"].lock
    info = run_sh(shell, run_file, "--info")
    assert info.returncode == 0, info.stderr
    assert "Target:       demo (centos/rhel/rocky/almalinux/ol 7, x86_64)" in info.stdout
    assert f"Packages:     {len(bundle.locked_rpms(lock))}" in info.stdout
    lock_digest = hashlib.sha256((built["staged"].directory / "bundle.lock.json").read_bytes()).hexdigest()
    assert f"Lock sha256:  {lock_digest}" in info.stdout
    assert "Built:        " in info.stdout

    listing = run_sh(shell, run_file, "--list")
    assert listing.returncode == 0, listing.stderr
    assert "onsite/cli.py" in listing.stdout and "bundle.lock.json" in listing.stdout
    for pkg in lock["packages"]:
        assert pkg["filename"] in listing.stdout

    check = run_sh(shell, run_file, "--check")
    assert check.returncode == 0, check.stderr
    assert "is complete and undamaged" in check.stderr

    assert run_sh(shell, run_file, "--version").stdout.strip().startswith("ha-bundle ")
    helped = run_sh(shell, run_file, "--help")
    assert helped.returncode == 0 and "--noexec" in helped.stdout and "--target DIR" in helped.stdout


@pytest.mark.parametrize("shell", ["dash", "bash", "busybox"])
def test_noexec_target_extracts_both_parts_and_keeps_them(built, shell, tmp_path):
    values = values_of(built["mixed"])
    assert int(values["HB_STORE_SIZE"]) > 0 and int(values["HB_META_SIZE"]) > 0
    dest = tmp_path / "x"
    out = run_sh(shell, built["mixed"], "--noexec", "--target", str(dest))
    assert out.returncode == 0, out.stderr
    assert f"Extracted to {dest}" in out.stderr
    blob = dest / "rpms" / "zz-blob-1.0-1.noarch.rpm"
    assert blob.read_bytes() == (built["mixed_staged"].directory / "rpms" / blob.name).read_bytes()
    assert (dest / "onsite" / "cli.py").is_file()
    assert (dest / "bundle.lock.json").read_bytes() == (built["mixed_staged"].directory / "bundle.lock.json").read_bytes()
    for pkg in built["staged"].lock["packages"]:
        assert (dest / pkg["filename"]).is_file()


def test_target_must_be_empty(built, tmp_path):
    dest = empty_dir(tmp_path / "full")
    (dest / "keep.txt").write_text("customer data")
    out = run_sh("dash", built["demo"], "--noexec", "--target", str(dest))
    assert out.returncode != 0
    assert "is not empty (nothing is overwritten)" in out.stderr
    assert sorted(p.name for p in dest.iterdir()) == ["keep.txt"]


def test_unknown_flag_is_refused_and_changes_nothing(built, tmp_path):
    tmp = empty_dir(tmp_path / "tmp")
    out = run_sh("dash", built["demo"], "--bogus", env={"TMPDIR": str(tmp)})
    assert out.returncode == 1 and "unknown flag: --bogus" in out.stderr
    assert list(tmp.iterdir()) == []


def test_arguments_after_double_dash_reach_onsite_and_temp_dir_is_removed(built, tmp_path):
    tmp = empty_dir(tmp_path / "tmp")
    out = run_sh("dash", built["demo"], "--", "status", "--root", str(tmp_path / "noroot"),
                 env={"TMPDIR": str(tmp)})
    assert "Running: python3 -m onsite status --root" in out.stderr
    assert "bundle: demo" in out.stdout
    assert list(tmp.iterdir()) == []


def test_keep_leaves_the_extracted_files(built, tmp_path):
    tmp = empty_dir(tmp_path / "tmp")
    out = run_sh("bash", built["demo"], "--keep", "--", "--version", env={"TMPDIR": str(tmp)})
    assert out.returncode == 0, out.stderr
    kept = [p for p in tmp.iterdir() if p.name.startswith("ha-installer.")]
    assert len(kept) == 1 and (kept[0] / "onsite" / "cli.py").is_file()
    assert f"Kept the extracted files in {kept[0]}" in out.stderr


def test_quiet_prints_only_the_command_output(built, tmp_path):
    out = run_sh("dash", built["demo"], "--quiet", "--", "--version", env={"TMPDIR": str(empty_dir(tmp_path / "t"))})
    assert out.returncode == 0
    assert out.stderr == ""
    assert out.stdout.startswith("ha-bundle onsite")


def test_onsite_runs_on_python36_from_the_header(built, tmp_path, py36):
    bindir = empty_dir(tmp_path / "bin")
    (bindir / "python3").symlink_to(py36)
    out = run_sh("dash", built["demo"], "--", "status", "--root", str(tmp_path / "r"),
                 env={"PATH": f"{bindir}:{os.environ['PATH']}", "TMPDIR": str(empty_dir(tmp_path / "t"))})
    assert out.returncode == 0, out.stderr
    assert "bundle: demo" in out.stdout


# -- integrity: refuse before touching anything ----------------------------------------------------

def _offset(run_file: Path, region: str) -> int:
    values = values_of(run_file)
    data = run_file.read_bytes()
    hsize = int(values["HB_HEADER_SIZE"])
    if region == "shebang":
        return 3
    if region == "banner":
        return data.index(b"self-extracting")
    if region == "digest":
        return data.index(b"HB_SHA256=") + len("HB_SHA256=") + 30
    if region == "size-field":
        return data.index(b"HB_TOTAL_SIZE=") + len("HB_TOTAL_SIZE=") + 1
    if region == "store-size-field":
        return data.index(b"HB_STORE_SIZE=") + len("HB_STORE_SIZE=")
    if region == "header-code":
        return data.index(b"hb_verify() {") + 40
    if region == "header-end":
        return hsize - 3
    if region == "payload-start":
        return hsize
    if region == "payload-middle":
        return hsize + (len(data) - hsize) // 2
    if region == "payload-end":
        return len(data) - 1
    raise AssertionError(region)


REGIONS = ["shebang", "banner", "digest", "size-field", "store-size-field", "header-code", "header-end",
           "payload-start", "payload-middle", "payload-end"]


def _damaged_copy(run_file: Path, dest: Path, how: str) -> Path:
    data = bytearray(run_file.read_bytes())
    if how.startswith("flip:"):
        pos = _offset(run_file, how[5:])
        data[pos] ^= 0x01
    elif how == "truncate-payload":
        data = data[:-1000]
    elif how.startswith("truncate-header"):
        # at a tenth, half or nine tenths of the header (the shell would parse a broken brace group)
        tenths = int(how.rpartition(":")[2]) if ":" in how else 5
        data = data[:int(values_of(run_file)["HB_HEADER_SIZE"]) * tenths // 10]
    elif how == "crlf":
        # a text-mode transfer: every LF became CRLF, in the header and the payload alike
        data = bytearray(bytes(data).replace(b"\n", b"\r\n"))
    elif how == "truncate-one-byte":
        data = data[:-1]
    elif how == "append":
        data += b"junk\n"
    else:
        raise AssertionError(how)
    dest.write_bytes(bytes(data))
    return dest


@pytest.mark.parametrize("shell", ["dash", "bash"])
@pytest.mark.parametrize("char", ["`", "$", "'", ";", " "])
def test_digest_damaged_into_shell_syntax_is_still_our_message(built, shell, char, tmp_path):
    """Byte flips in the digest can make shell syntax ('a' ^ 1 == '`'): the value is quoted."""
    data = bytearray(built["mixed"].read_bytes())
    pos = data.index(b"HB_SHA256=") + len("HB_SHA256=") + 10
    data[pos] = ord(char)
    bad = tmp_path / "bad.run"
    bad.write_bytes(bytes(data))
    target = tmp_path / "target"
    out = run_sh(shell, bad, "--noexec", "--target", str(target), cwd=tmp_path)
    assert out.returncode == 3, out.stderr
    assert "this installer file is damaged" in out.stderr
    assert not target.exists()


@pytest.mark.parametrize("shell", ["dash", "bash"])
@pytest.mark.parametrize("how", [f"flip:{r}" for r in REGIONS] +
                         ["truncate-payload", "truncate-header:1", "truncate-header:5", "truncate-header:9",
                          "truncate-one-byte", "append", "crlf"])
def test_damage_is_refused_before_anything_is_extracted(built, shell, how, tmp_path):
    bad = _damaged_copy(built["mixed"], tmp_path / "bad.run", how)
    tmp = empty_dir(tmp_path / "tmp")
    target = tmp_path / "target"
    env = {"TMPDIR": str(tmp)}
    for args in (["--noexec", "--target", str(target)], ["--accept", "--", "status"], ["--list"], ["--check"]):
        out = run_sh(shell, bad, *args, env=env, cwd=tmp_path)
        assert out.returncode != 0, (args, out.stdout, out.stderr)
        assert not target.exists(), args
        assert list(tmp.iterdir()) == [], args
        assert "Extracting" not in out.stderr
        # the user gets our words and what to do, never a shell error
        assert out.returncode == 3, (args, out.stderr)
        assert "this installer file is damaged" in out.stderr
        assert "compare it with the published sha256" in out.stderr
        assert "rror:" not in out.stderr.replace("error: this installer", ""), out.stderr
        if how == "crlf" or how.startswith("truncate-header"):
            assert "binary mode" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.run", "tmp"]


def test_damage_is_also_found_by_ha_bundle_verify(built, tmp_path):
    bad = _damaged_copy(built["mixed"], tmp_path / "bad.run", "flip:payload-middle")
    with pytest.raises(BundleError) as err:
        runfile.verify(bad)
    assert err.value.reference == "run-damaged"
    assert any("sha256 is" in c for c in err.value.context)
    short = _damaged_copy(built["mixed"], tmp_path / "short.run", "truncate-payload")
    with pytest.raises(BundleError) as err:
        runfile.verify(short)
    assert any("truncated" in c for c in err.value.context)


def test_damage_message_in_chinese(built, tmp_path):
    bad = _damaged_copy(built["demo"], tmp_path / "bad.run", "flip:payload-end")
    out = run_sh("dash", bad, "--check", env={"LANG": "zh_CN.UTF-8"})
    assert out.returncode == 3
    assert "此安装文件已损坏" in out.stderr and "sha256sum" in out.stderr


def _evil_run(tmp_path: Path, evil: str, built) -> Path:
    members = [bundle.Member("onsite/__init__.py", None, b"", 0o644),
               bundle.Member(evil, None, b"owned\n", 0o644)]
    fields = header.HeaderFields(sha256=header.ZERO_DIGEST, store_size=0, meta_size=0, compression="xz",
                                 unpacked_kb=8, tool="ha-bundle test", target="evil", target_os="centos 7",
                                 target_arch="x86_64", build_date="now", packages=0, lock_sha256="0",
                                 bootstrap="", has_site="no")
    run_file = tmp_path / "evil.run"
    bundle.write_run(run_file, members[1:], members[:1], fields, 0)
    return run_file


@pytest.mark.parametrize("evil", ["../escaped.txt", "rpms/../../escaped.txt", "/tmp/hb-abs-escaped.txt"])
def test_unsafe_member_names_are_refused_before_extracting(built, tmp_path, evil):
    run_file = _evil_run(tmp_path, evil, built)
    work = empty_dir(tmp_path / "work" / "deep")
    target = work / "t"
    out = run_sh("dash", run_file, "--noexec", "--target", str(target), cwd=work)
    assert out.returncode == 3, out.stderr
    assert "the payload holds an unsafe entry, nothing was extracted" in out.stderr
    assert not target.exists()
    assert not list(tmp_path.rglob("escaped.txt"))
    assert not Path("/tmp/hb-abs-escaped.txt").exists()


# -- where it unpacks: noexec, free space, signals ---------------------------------------------------

def _in_mount_ns(script: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                          env=dict(os.environ, **(env or {})), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, timeout=120)


@pytest.mark.parametrize("shell", ["dash", "bash", "busybox"])
def test_noexec_tmpdir_falls_back_and_still_works(built, tmp_path, shell):
    mnt = empty_dir(tmp_path / "noexec")
    sh = " ".join(["busybox sh"] if shell == "busybox" else [shell])
    script = (f"mount -t tmpfs -o noexec,size=64m tmpfs {mnt} && "
              f"TMPDIR={mnt} {sh} {built['demo']} -- status --root {tmp_path / 'r'}; "
              f"echo rc=$?; ls -A {mnt}")
    out = _in_mount_ns(script)
    assert "rc=0" in out.stdout, out.stderr
    assert f"{mnt} is mounted noexec; trying the next place" in out.stderr
    assert "Extracting to /var/tmp/ha-installer." in out.stderr
    assert "bundle: demo" in out.stdout
    extracted = out.stderr.split("Extracting to ")[1].split(" ...")[0]
    assert not Path(extracted).exists()
    assert out.stdout.strip().endswith("rc=0")  # nothing left in the noexec tmpfs


def test_not_enough_space_in_target_is_refused_before_extracting(built, tmp_path):
    mnt = empty_dir(tmp_path / "tiny")
    script = (f"mount -t tmpfs -o size=64k tmpfs {mnt} && "
              f"dash {built['mixed']} --noexec --target {mnt}/x; echo rc=$?; ls -A {mnt}")
    out = _in_mount_ns(script)
    assert "rc=5" in out.stdout, out.stderr
    assert "not enough free space in" in out.stderr and "KiB needed" in out.stderr
    assert out.stdout.strip() == "rc=5"


def test_full_tmpdir_falls_back_to_the_next_place(built, tmp_path):
    mnt = empty_dir(tmp_path / "tiny")
    script = (f"mount -t tmpfs -o size=64k tmpfs {mnt} && "
              f"TMPDIR={mnt} dash {built['mixed']} -- --version; echo rc=$?")
    out = _in_mount_ns(script)
    assert "rc=0" in out.stdout, out.stderr
    assert f"{mnt}: only" in out.stderr and "trying the next place" in out.stderr


def _run_with_sleeping_python(built, tmp_path):
    """The demo .run started with a fake python3 that sleeps (a long onsite step); returns the
    process and its TMPDIR once the header has unpacked and started it."""
    bindir = empty_dir(tmp_path / "bin")
    marker = tmp_path / "started"
    fake = bindir / "python3"
    fake.write_text("#!/bin/sh\ncase \"$1\" in -c) exit 0;; esac\n"
                    f"touch {marker}\nexec sleep 60\n")
    fake.chmod(0o755)
    tmp = empty_dir(tmp_path / "tmp")
    env = dict(os.environ, PATH=f"{bindir}:{os.environ['PATH']}", TMPDIR=str(tmp))
    proc = subprocess.Popen(["dash", str(built["demo"]), "--", "status"], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    deadline = time.time() + 60
    while not marker.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.1)
    if not marker.exists():
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise AssertionError("the header never started the onsite program")
    return proc, tmp


def test_signal_during_the_run_removes_the_temp_dir(built, tmp_path):
    """A fake python3 that sleeps stands in for a long onsite step; SIGTERM must clean up."""
    proc, tmp = _run_with_sleeping_python(built, tmp_path)
    try:
        assert len(list(tmp.iterdir())) == 1
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 143
    assert list(tmp.iterdir()) == []


def test_a_killed_run_leaves_a_directory_the_next_run_removes(built, tmp_path):
    """kill -9 cannot be trapped: the unpacked directory stays. The next run removes it (its
    .hb-owner names a dead process), and keeps one whose owner still runs."""
    proc, tmp = _run_with_sleeping_python(built, tmp_path)
    try:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    left = list(tmp.iterdir())
    assert len(left) == 1 and left[0].name.startswith("ha-installer.")
    # a directory whose owner is alive (this test's own process) must survive the clean-up
    alive = tmp / "ha-installer.alive1"
    alive.mkdir()
    (alive / ".hb-owner").write_text(f"{os.getpid()}\n")
    foreign = tmp / "ha-installer.nomark"   # no owner file: not identifiably ours, kept
    foreign.mkdir()
    out = run_sh("dash", built["demo"], "--noexec", env={"TMPDIR": str(tmp)})
    assert out.returncode == 0, out.stderr
    assert not left[0].exists()
    assert f"Removed {left[0]}" in out.stderr
    assert alive.exists() and foreign.exists()


# -- reproducible, inspectable -----------------------------------------------------------------------

def test_two_builds_from_the_same_inputs_are_byte_identical(built, tmp_path):
    again = bundle.assemble(built["mixed_staged"], tmp_path / "again")
    assert hashlib.sha256(again.read_bytes()).hexdigest() == hashlib.sha256(built["mixed"].read_bytes()).hexdigest()


def test_source_date_epoch_sets_every_mtime(built, tmp_path, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1234567890")
    run_file = bundle.assemble(built["mixed_staged"], tmp_path / "sde")
    assert run_file.read_bytes() != built["mixed"].read_bytes()
    values = values_of(run_file)
    seen = 0
    for member, _ in runfile.walk_payload(run_file, values):
        assert (member.mtime, member.uid, member.gid, member.uname) == (1234567890, 0, 0, "root")
        seen += 1
    assert seen > 10
    assert values["HB_BUILD_DATE"] == "2009-02-13 23:31:30 UTC"


def test_rpms_that_do_not_compress_are_stored_as_they_are(built):
    values = values_of(built["mixed"])
    data = built["mixed"].read_bytes()
    blob = (built["mixed_staged"].directory / "rpms" / "zz-blob-1.0-1.noarch.rpm").read_bytes()
    start = int(values["HB_HEADER_SIZE"])
    stored = data[start:start + int(values["HB_STORE_SIZE"])]
    assert blob in stored  # byte for byte, not recompressed
    assert int(values["HB_STORE_SIZE"]) < len(blob) + 8 * 1024


def test_zstd_is_refused_for_el7(built, tmp_path):
    with pytest.raises(BundleError) as err:
        bundle.assemble(built["staged"], tmp_path / "z", compression="zstd")
    assert err.value.reference == "zstd-not-on-target"


def test_zstd_bundle_extracts(built, tmp_path):
    import copy
    import json
    from types import SimpleNamespace

    lock = copy.deepcopy(built["mixed_staged"].lock)
    lock["target"]["os_major"] = "8"
    staged_dir = tmp_path / "staged8"
    import shutil

    shutil.copytree(built["mixed_staged"].directory, staged_dir)
    (staged_dir / "bundle.lock.json").write_text(json.dumps(lock))
    run_file = bundle.assemble(SimpleNamespace(directory=staged_dir, lock=lock, manifest=None), tmp_path / "z",
                               compression="zstd")
    assert values_of(run_file)["HB_COMPRESSION"] == "zstd"
    runfile.verify(run_file)
    out = run_sh("dash", run_file, "--noexec", "--target", str(tmp_path / "x"))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "x" / "onsite" / "cli.py").is_file()


def test_inspect_reads_header_lock_and_packages_without_running(built):
    info = runfile.inspect(built["demo"])
    assert info["checksum"] == "ok" and info["problems"] == []
    assert info["header"]["target"] == "demo"
    assert info["target"]["name"] == "demo"
    lock = built["staged"].lock
    assert len(info["packages"]) == len(bundle.locked_rpms(lock))
    assert info["bootstrap"] == lock["bootstrap"]
    assert "onsite/cli.py" in info["members"]
    # every onsite module, subpackages included, travels in the payload
    for path in (REPO_ROOT / "stubs" / "onsite").rglob("*.py"):
        assert "onsite/" + path.relative_to(REPO_ROOT / "stubs" / "onsite").as_posix() in info["members"]


def test_cli_inspect_and_verify(built, tmp_path):
    ok = subprocess.run(["python3", "-m", "builder", "verify", str(built["demo"])], cwd=REPO_ROOT,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert ok.returncode == 0 and ": OK" in ok.stdout
    shown = subprocess.run(["python3", "-m", "builder", "inspect", str(built["demo"])], cwd=REPO_ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert shown.returncode == 0 and "checksum:     OK" in shown.stdout and "keepalived-2.0.20" in shown.stdout
    as_json = subprocess.run(["python3", "-m", "builder", "inspect", "--json", str(built["demo"])], cwd=REPO_ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    import json

    data = json.loads(as_json.stdout)
    assert data["checksum"] == "ok" and data["header"]["target"] == "demo" and data["packages"]
    bad = _damaged_copy(built["demo"], tmp_path / "bad.run", "flip:payload-start")
    failed = subprocess.run(["python3", "-m", "builder", "verify", str(bad)], cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert failed.returncode == 3 and "[run-damaged]" in failed.stderr  # builder.exitcodes.DAMAGED
    inspected = subprocess.run(["python3", "-m", "builder", "inspect", str(bad)], cwd=REPO_ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert inspected.returncode == 3 and "checksum:     DAMAGED" in inspected.stdout
    # the line to publish is exactly sha256sum's
    summed = subprocess.run(["sha256sum", str(built["demo"])], stdout=subprocess.PIPE, universal_newlines=True)
    assert summed.stdout.strip() in shown.stdout.splitlines()


def test_site_file_is_baked_in_0600_and_announced(built, tmp_path, capfd):
    site = tmp_path / "site.toml"
    site.write_text("[secrets]\nreplication_password = 'x'\n")
    run_file = bundle.assemble(built["staged"], tmp_path / "withsite", site=site)
    assert "now holds" in capfd.readouterr().err
    assert run_file.stat().st_mode & 0o777 == 0o700
    assert "this file holds secrets" in values_of(run_file)["HB_HAS_SITE"]
    members = {m.name: m for m, _ in runfile.walk_payload(run_file, values_of(run_file))}
    assert members["site.toml"].mode == 0o600


def test_staged_rpm_that_does_not_match_the_lock_is_refused(built, tmp_path):
    import shutil
    from types import SimpleNamespace

    staged_dir = tmp_path / "staged"
    shutil.copytree(built["staged"].directory, staged_dir)
    victim = staged_dir / built["staged"].lock["packages"][0]["filename"]
    victim.write_bytes(victim.read_bytes() + b"x")
    with pytest.raises(BundleError) as err:
        bundle.assemble(SimpleNamespace(directory=staged_dir, lock=built["staged"].lock, manifest=None), tmp_path / "o")
    assert err.value.reference == "staged-rpms-bad"
    assert not (tmp_path / "o" / "ha-installer-demo.run").exists()


def test_payload_tar_members_are_sorted_with_fixed_owner(built):
    values = values_of(built["demo"])
    members = [m for m, _ in runfile.walk_payload(built["demo"], values)]
    dirs = [m.name for m in members if m.isdir()]
    files = [m.name for m in members if m.isfile()]
    assert dirs == sorted(dirs) and files == sorted(files)
    assert members.index(next(m for m in members if m.isfile())) == len(dirs)  # directories first
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "root", "root")}


def test_ha_bundle_build_twice_gives_the_same_sha256(tmp_path):
    """The whole command (resolve + fetch + assemble) twice, into two output directories."""
    build_fixture_repos()
    digests = []
    for name in ("a", "b"):
        out = subprocess.run(["python3", "-m", "builder", "build", str(REPO_ROOT / "manifests" / "demo.toml"),
                              "--out", str(tmp_path / name), "--cache", str(tmp_path / "cache")],
                             cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             universal_newlines=True)
        assert out.returncode == 0, out.stdout
        assert "ha-installer-demo.run" in out.stdout
        digests.append(hashlib.sha256((tmp_path / name / "ha-installer-demo.run").read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_inspect_refuses_a_file_that_is_not_a_run(tmp_path):
    other = tmp_path / "notes.txt"
    other.write_text("#!/bin/sh\necho hello\n")
    with pytest.raises(BundleError) as err:
        runfile.inspect(other)
    assert err.value.reference == "not-a-runfile"


def test_busybox_applets_alone_can_check_list_and_extract(built, tmp_path):
    """Minimal hosts: busybox's sh, tar, tail, head, awk, df, sha256sum and xz are enough."""
    busybox = shutil.which("busybox")
    bindir = empty_dir(tmp_path / "bin")
    for tool in ("sh", "tail", "head", "sha256sum", "tar", "xz", "awk", "df", "mkdir", "rm", "chmod", "wc",
                 "tr", "mktemp", "ls", "dirname", "basename", "id", "cat", "pwd"):
        (bindir / tool).symlink_to(busybox)
    env = {"PATH": str(bindir)}
    check = run_sh("busybox", built["mixed"], "--check", env=env)
    assert check.returncode == 0, check.stderr
    listing = run_sh("busybox", built["mixed"], "--list", env=env)
    assert listing.returncode == 0 and "rpms/zz-blob-1.0-1.noarch.rpm" in listing.stdout
    out = run_sh("busybox", built["mixed"], "--noexec", "--target", str(tmp_path / "x"), env=env)
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "x" / "rpms" / "zz-blob-1.0-1.noarch.rpm").stat().st_size == 300_000
    bad = _damaged_copy(built["mixed"], tmp_path / "bad.run", "flip:payload-middle")
    assert run_sh("busybox", bad, "--check", env=env).returncode == 3


def test_el8_platform_python_is_used_when_python3_is_not_on_path(built, tmp_path, py36):
    """el8 minimal: no python3 on PATH, /usr/libexec/platform-python (3.6) is there."""
    bindir = empty_dir(tmp_path / "bin")
    for tool in ("dash", "tail", "head", "sha256sum", "tar", "xz", "awk", "df", "mkdir", "rm", "chmod", "wc",
                 "tr", "mktemp", "ls", "dirname", "basename", "id", "cat", "pwd"):
        (bindir / tool).symlink_to(shutil.which(tool))
    script = (f"mount -t tmpfs tmpfs /usr/libexec && ln -s {py36} /usr/libexec/platform-python && "
              f"PATH={bindir} TMPDIR={tmp_path} dash {built['demo']} -- --version; echo rc=$?")
    out = _in_mount_ns(script)
    assert "rc=0" in out.stdout, out.stderr
    assert "Running: /usr/libexec/platform-python -m onsite --version" in out.stderr
    assert "installing python3 from this bundle" not in out.stderr
    assert "ha-bundle onsite" in out.stdout


@pytest.mark.parametrize("how", ["crlf", "truncate-header:5"])
def test_damaged_header_words_in_chinese(built, tmp_path, how):
    bad = _damaged_copy(built["demo"], tmp_path / "bad.run", how)
    out = run_sh("dash", bad, "--check", env={"LANG": "zh_CN.UTF-8"})
    assert out.returncode == 3, out.stderr
    assert "此安装文件已损坏" in out.stderr and "二进制模式" in out.stderr, out.stderr


def test_a_copy_without_its_exec_bit_runs_with_sh(built, tmp_path):
    """A copy that lost its mode cannot be run as ./FILE (the user's shell refuses before the
    header exists); the documented `sh FILE` form does not need the mode."""
    copy = tmp_path / "copy.run"
    copy.write_bytes(built["demo"].read_bytes())
    copy.chmod(0o600)
    out = run_sh("dash", copy, "--check")
    assert out.returncode == 0, out.stderr


def test_staged_app_file_that_does_not_match_the_lock_is_refused(built, tmp_path):
    import shutil
    from types import SimpleNamespace

    staged_dir = tmp_path / "staged"
    shutil.copytree(built["staged"].directory, staged_dir)
    (staged_dir / "app" / "server.py").write_text("print('swapped after the lock was written')\n")
    with pytest.raises(BundleError) as err:
        bundle.assemble(SimpleNamespace(directory=staged_dir, lock=built["staged"].lock, manifest=None), tmp_path / "o")
    assert err.value.reference == "staged-app-bad"
    assert any("app file server.py" in line for line in err.value.context)
    assert not (tmp_path / "o" / "ha-installer-demo.run").exists()
