"""Shared helpers for the field-operation lab tests (install, drill, uninstall) and bench/install.py."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

from tests.conftest import REPO_ROOT, find_python36
from tests.lab.core import NODE_PATH
from tests.site_util import APP, DATABASE, NODES, SECRETS, cluster

REPL_PW = "repl-Secret-0123456789"
SEED_PW = "seed-Secret-0123456789"
VIP = "192.0.2.100"
# the fast profile: VRRPv3 with sub-second adverts (docs/lab.md)
SITE = "\n" + cluster("{vrid}", "vrrp_version = 3", "advert_int = 0.1") + NODES + APP + DATABASE + SECRETS
# config trees whose bytes uninstall must give back
CONFIG_DIRS = ("/etc/keepalived", "/etc/my.cnf.d", "/etc/mysql", "/etc/firewalld", "/etc/sysconfig",
               "/etc/nftables")


def _build(manifest: Path, out: Path, args, run_name: str) -> Path:
    """`ha-bundle build MANIFEST --out OUT ARGS...` from this tree (fixture repos first); OUT/RUN_NAME."""
    from tests.runfile_helpers import build_fixture_repos

    build_fixture_repos()
    proc = subprocess.run([sys.executable, "-c", "from builder.cli import main; main()", "build",
                           str(manifest), "--out", str(out)] + [str(a) for a in args],
                          cwd=str(REPO_ROOT), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True)
    assert proc.returncode == 0, proc.stdout
    run = out / run_name
    assert run.exists(), proc.stdout
    return run


def build_demo_run(out: Path, extra=()) -> Path:
    """`ha-bundle build manifests/demo.toml --out OUT [EXTRA...]` from this tree; the .run path."""
    return _build(REPO_ROOT / "manifests" / "demo.toml", out, list(extra), "ha-installer-demo.run")


def baseline_root(path: Path, cache: Path) -> Path:
    """A scratch rpm root that holds the demo target's baseline (a minimal el7)."""
    from tests.runfile_helpers import demo_baseline, new_rpm_root

    if path.exists():
        shutil.rmtree(path)
    new_rpm_root(path)
    files = [str(f) for f in demo_baseline(cache)]
    subprocess.run(["rpm", "--root", str(path), "-U"] + files, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return path


def write_site(directory: Path, vrid: int = 53) -> str:
    path = directory / "site.toml"
    path.write_text(SITE.format(vrid=vrid, repl=REPL_PW, seed=SEED_PW))
    os.chmod(str(path), 0o600)
    return str(path)


def py36_path(directory: Path) -> str:
    """A PATH whose python3 is the target's Python 3.6 (the header picks python3 from PATH)."""
    bindir = directory / "py36bin"
    bindir.mkdir(exist_ok=True)
    link = bindir / "python3"
    if not link.exists():
        link.symlink_to(find_python36())
    return "%s:%s" % (bindir, NODE_PATH)


def run_file_install(lab, node, run_file: Path, site: str, rpm_root: Path, path_env: str,
                     extra=(), timeout=300):
    """Copy the .run into the node (its private /run) and run `install` through it."""
    inside = "/run/ha-installer-demo.run"
    shutil.copy(str(run_file), str(lab.path(node, inside)))
    argv = ["sh", inside, "--accept", "--", "install", "--site", site, "--rpm-root", str(rpm_root),
            "--peer-timeout", "240"] + list(extra)
    return lab.run(node, argv, check=False, timeout=timeout, env={"PATH": path_env})


def on_both(fn):
    """fn(node) on ha1 and ha2 at the same time; {node: result}."""
    results = {}

    def go(node):
        results[node] = fn(node)

    threads = [threading.Thread(target=go, args=(n,)) for n in ("ha1", "ha2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(600)
    return results


def sql(lab, node, text, check=True):
    """SQL as OS root over the node's socket (MariaDB keeps unix_socket login for root)."""
    return lab.run(node, ["mariadb", "-N", "-B", "-e", text], check=check).stdout.strip()


def make_app_data(lab, node, rows):
    lab.run(node, ["systemctl", "start", "mariadb"], timeout=120)
    values = ",".join("('device-%d')" % i for i in range(rows))
    sql(lab, node, "CREATE DATABASE itv; CREATE TABLE itv.device (id INT AUTO_INCREMENT PRIMARY KEY,"
                   " name VARCHAR(40)) ENGINE=InnoDB; INSERT INTO itv.device (name) VALUES " + values)


def app_rows(lab, node):
    """(row count, table checksum) of the app table."""
    count = sql(lab, node, "SELECT COUNT(*) FROM itv.device")
    checksum = sql(lab, node, "CHECKSUM TABLE itv.device").split()[-1]
    return int(count), checksum


def config_hashes(lab, node) -> dict:
    """sha256 of every file under the node's config trees (our .bak files left out)."""
    out = {}
    for inside in CONFIG_DIRS:
        top = lab.path(node, inside)
        for path in sorted(top.rglob("*")):
            if path.is_file() and ".ha-bundle-" not in path.name:
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def write_next_manifest(directory: Path, app_version: str = "1.0.1", broken_app: bool = False,
                        repos=("updates-next",)) -> Path:
    """manifests/demo.toml one step later: fixture repos added (updates-next: a newer libnl3;
    mysql57-next: MySQL 5.7.45; mysql80-community: MySQL 8.0), the demo app at app_version
    (broken_app: a release that exits at once, never healthy)."""
    directory.mkdir(parents=True, exist_ok=True)
    text = (REPO_ROOT / "manifests" / "demo.toml").read_text()
    text = text.replace('"../build/', '"%s/build/' % REPO_ROOT)
    added = "".join('[[repo]]\nid = "%s"\nbaseurl = "%s/build/fixture-repos/el7/%s"\n\n' % (r, REPO_ROOT, r)
                    for r in repos)
    text = text.replace("[baseline]", added + "[baseline]")
    text = text.replace('version = "1.0.0"', 'version = "%s"' % app_version)
    app = directory / "demo-app"
    if app.exists():
        shutil.rmtree(app)
    shutil.copytree(REPO_ROOT / "manifests" / "demo-app", app)
    if broken_app:
        (app / "server.py").write_text("import sys\nsys.exit('this release is broken on purpose')\n")
    path = directory / "next.toml"
    path.write_text(text)
    return path


def build_update_run(out: Path, manifest: Path, old: Path, extra=()) -> Path:
    """`ha-bundle build MANIFEST --update-from OLD --out OUT`; the update .run's path."""
    return _build(manifest, out, ["--update-from", old] + list(extra), "ha-installer-demo-update.run")
