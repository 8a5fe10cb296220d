"""Shared helpers for the .run tests: build bundles from the fixture repos, run them, attack them."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

from tests.conftest import REPO_ROOT

FIXTURE_REPOS = REPO_ROOT / "build" / "fixture-repos"
DEMO_MANIFEST = REPO_ROOT / "manifests" / "demo.toml"
# absolute paths, so tests can run the header with a restricted PATH
SHELLS = {"dash": [shutil.which("dash") or "dash"], "bash": [shutil.which("bash") or "bash"],
          "busybox": [shutil.which("busybox") or "busybox", "sh"]}


def build_fixture_repos() -> Path:
    from tests.fixtures import build_repos

    return build_repos.build_all(FIXTURE_REPOS)


def stage_demo(out: Path, cache: Path):
    """The demo target (el7-like fixture repos) resolved and fetched by the build side."""
    from builder import plan

    build_fixture_repos()
    return plan.fetch_manifest(DEMO_MANIFEST, out, cache_dir=cache)


def demo_baseline(cache: Path) -> list[Path]:
    """The fixture RPM files of the demo target's baseline (what a minimal el7 already has)."""
    from builder import plan

    result = plan.resolve_manifest(DEMO_MANIFEST, {}, cache, quiet=True)
    files = []
    for nevra in result.resolution.baseline:
        name = re.sub(r"-\d+:", "-", nevra) + ".rpm"
        found = sorted(FIXTURE_REPOS.glob(f"el7/*/Packages/{name}"))
        assert found, f"baseline RPM {name} not in the fixture repos"
        files.append(found[0])
    return files


def stage_with_blob(staged, out: Path, blob_size: int = 300_000):
    """A copy of a staged target plus one incompressible 'RPM' so both payload parts exist."""
    import hashlib

    dest = out / "staged-mixed"
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(staged.directory, dest)
    # deterministic pseudo-random bytes (sha256 chain): incompressible and reproducible
    chunks, seed = [], b"ha-bundle"
    while sum(map(len, chunks)) < blob_size:
        seed = hashlib.sha256(seed).digest()
        chunks.append(seed)
    blob = b"".join(chunks)[:blob_size]
    name = "rpms/zz-blob-1.0-1.noarch.rpm"
    (dest / name).write_bytes(blob)
    lock = json.loads((dest / "bundle.lock.json").read_text())
    lock["packages"].append({"name": "zz-blob", "epoch": "0", "version": "1.0", "release": "1", "arch": "noarch",
                             "repo": "test", "location": name, "filename": name,
                             "sha256": hashlib.sha256(blob).hexdigest(), "size": len(blob)})
    (dest / "bundle.lock.json").write_text(json.dumps(lock, indent=2, sort_keys=True) + "\n")
    return SimpleNamespace(directory=dest, lock=lock, manifest=staged.manifest)


def run_sh(shell: str, run_file: Path, *args: str, env: dict[str, str] | None = None,
           cwd: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env.pop("LANG", None)
    full_env.pop("LC_ALL", None)
    full_env.pop("LC_MESSAGES", None)
    full_env.update(env or {})
    # errors="replace": a damaged file may make the header echo non-UTF-8 bytes (its own digest)
    return subprocess.run(SHELLS[shell] + [str(run_file), *args], env=full_env, cwd=cwd,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True,
                          errors="replace", timeout=timeout)


def new_rpm_root(path: Path, os_id: str = "centos", version_id: str = "7") -> Path:
    """An empty rpm database under path, with an os-release saying which OS it pretends to be."""
    (path / "etc").mkdir(parents=True, exist_ok=True)
    (path / "etc" / "os-release").write_text(f'NAME="Test"\nID="{os_id}"\nID_LIKE="rhel fedora"\n'
                                             f'VERSION_ID="{version_id}"\n')
    subprocess.run(["rpm", "--root", str(path), "--initdb"], check=True)
    return path


def rpm_q(root: Path, *names: str) -> subprocess.CompletedProcess:
    return subprocess.run(["rpm", "--root", str(root), "-q", *names], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, universal_newlines=True)
