"""The header walks HB_BOOTSTRAP without word splitting surprises or globbing (issue 12).

The builder only ever writes NEVRA-derived names there; these tests bake hostile values in by
hand (bypassing the builder) to prove the header itself never hands rpm a glob or a split path.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from builder import bundle, header
from builder.errors import BundleError
from tests.runfile_helpers import run_sh

TOOLS = ("dash", "sh", "tail", "head", "sha256sum", "tar", "xz", "awk", "df", "mkdir", "rm", "chmod", "wc", "tr",
         "mktemp", "ls", "dirname", "basename", "id", "cat", "pwd", "printf")


def _run_with_bootstrap(tmp_path: Path, bootstrap: str) -> Path:
    names = ["rpms/a.rpm", "rpms/b.rpm", "rpms/c.rpm"]
    meta = [bundle.Member(n, None, b"not really an rpm", 0o644) for n in names]
    fields = header.HeaderFields(sha256=header.ZERO_DIGEST, store_size=0, meta_size=0, compression="xz",
                                 unpacked_kb=bundle.unpacked_kb(meta), tool="test", target="t", target_os="centos 7",
                                 target_arch="x86_64", build_date="2020-01-01 00:00:00 UTC", packages=3,
                                 lock_sha256="0" * 64, bootstrap=bootstrap, has_site="no")
    run = tmp_path / "t.run"
    bundle.write_run(run, [], meta, fields, 1700000000, cache=None)
    return run


def _fake_rpm_bin(tmp_path: Path) -> tuple[Path, Path]:
    """PATH with no python3 and an `rpm` that only logs its arguments, one per line."""
    bindir, log = tmp_path / "bin", tmp_path / "rpm.log"
    bindir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        if found:
            (bindir / tool).symlink_to(found)
    (bindir / "rpm").write_text(f"#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> {log}; done\n"
                                "printf 'call\\n' >> " + str(log) + "\nexit 0\n")
    (bindir / "rpm").chmod(0o755)
    return bindir, log


@pytest.mark.parametrize("bootstrap", ["rpms/*.rpm", "rpms/a b.rpm", "rpms/?.rpm", "rpms/a.rpm;touch${IFS}x"])
def test_hostile_bootstrap_entries_never_reach_rpm(tmp_path, bootstrap):
    run = _run_with_bootstrap(tmp_path, bootstrap)
    bindir, log = _fake_rpm_bin(tmp_path)
    work = tmp_path / "cwd"
    (work / "rpms").mkdir(parents=True)
    (work / "rpms" / "zz.rpm").write_text("a file a cwd-relative glob would find")
    out = run_sh("dash", run, "--", "status", env={"PATH": str(bindir), "TMPDIR": str(tmp_path)}, cwd=work)
    assert out.returncode == 3, (out.stdout, out.stderr)
    assert "the bootstrap list names" in out.stderr
    assert not log.exists(), log.read_text()  # rpm never ran, neither --test nor -U
    assert not (work / "x").exists()


def test_plain_bootstrap_entries_are_each_passed_once_and_quoted(tmp_path):
    run = _run_with_bootstrap(tmp_path, "rpms/a.rpm rpms/c.rpm")
    bindir, log = _fake_rpm_bin(tmp_path)
    out = run_sh("dash", run, "--", "status", env={"PATH": str(bindir), "TMPDIR": str(tmp_path)}, cwd=tmp_path)
    assert out.returncode == 7, out.stderr  # rpm "installed" them, still no python3
    args = log.read_text().splitlines()
    installed = [a for a in args if a.endswith(".rpm")]
    assert sorted({Path(a).name for a in installed}) == ["a.rpm", "c.rpm"]
    assert not [a for a in args if "*" in a or "b.rpm" in a]


def test_the_builder_refuses_unsafe_bootstrap_names():
    with pytest.raises(BundleError, match="bootstrap-name-unsafe|bootstrap RPM names"):
        bundle._bootstrap_value({"bootstrap": ["rpms/*.rpm"]})
