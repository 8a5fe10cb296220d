"""Onsite proof before any change (issue 11): a host that differs from the bundle's baseline is
told which package and what to do, nothing changed; el8 module states are given to the host's
own dnf (/etc/dnf/modules.d), journalled and undone by uninstall. Real rpm, real dnf."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from builder import bundle, plan
from tests.manifest_util import fixture_repo_urls, write_manifest
from tests.runfile_helpers import FIXTURE_REPOS, build_fixture_repos, new_rpm_root, run_sh


def baseline_files(os_name: str, nevras: list[str]) -> list[Path]:
    files = []
    for nevra in nevras:
        name = re.sub(r"-\d+:", "-", nevra) + ".rpm"
        found = sorted(FIXTURE_REPOS.glob(f"{os_name}/*/Packages/{name}"))
        assert found, name
        files.append(found[0])
    return files


def make_bundle(tmp: Path, os_name: str, install: list[str], **kw) -> dict:
    build_fixture_repos()
    repos = fixture_repo_urls(f"file://{FIXTURE_REPOS}", os_name)
    manifest = write_manifest(tmp, os_name, repos, install, **kw)
    staged = plan.fetch_manifest(manifest, tmp / "out", cache_dir=tmp / "cache")
    return {"run": bundle.assemble(staged, tmp / "dist"), "lock": staged.lock}


def host(tmp: Path, os_name: str, lock: dict, without: tuple[str, ...] = ()) -> Path:
    root = new_rpm_root(tmp / "root", "rocky", os_name[2:])
    files = [f for f in baseline_files(os_name, lock["baseline"]) if not f.name.startswith(tuple(w + "-" for w in without))]
    subprocess.run(["rpm", "--root", str(root), "-i", "--nodeps", "--noscripts", *map(str, files)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return root


def qa(root: Path) -> list[str]:
    return sorted(subprocess.run(["rpm", "--root", str(root), "-qa"], stdout=subprocess.PIPE, text=True,
                                 check=True).stdout.split())


@pytest.fixture(scope="module")
def el7(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("el7b"), "el7", ["keepalived", "mysql-community-server"])


@pytest.mark.parametrize("lang,words", [("en", "this host lacks systemd, which the bundle was built to find installed"),
                                        ("zh_CN", "本机缺少 systemd")])
def test_a_host_without_a_baseline_package_is_told_which_and_nothing_changes(el7, tmp_path, lang, words):
    root = host(tmp_path, "el7", el7["lock"], without=("systemd",))
    before = qa(root)
    pre = run_sh("dash", el7["run"], "-q", "--", "--lang", lang, "preflight", "--root", str(root))
    assert pre.returncode != 0
    assert words in pre.stdout, pre.stdout + pre.stderr
    assert "rpm -qa" in pre.stdout  # what to do: give the build team this host's package list
    out = run_sh("dash", el7["run"], "--accept", "--", "--lang", lang, "install", "--root", str(root))
    assert out.returncode != 0
    assert words in out.stdout + out.stderr
    assert qa(root) == before
    assert "Traceback" not in out.stderr


def test_baseline_differences_name_unexpected_packages_only_when_rpm_mentions_them():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "stubs"))
    from onsite.host import rpmdb

    lock = {"baseline": ["bash-4.2.46-34.el7.x86_64", "mariadb-libs-1:5.5.68-1.el7.x86_64"],
            "packages": [{"name": "mysql-community-libs"}]}
    have = {("bash", "x86_64"): [], ("acme-db", "x86_64"): [], ("vim", "x86_64"): []}
    output = "\tlibmysqlclient.so.18()(64bit) is needed by (installed) acme-db-2.1-1.el7.x86_64\n"
    assert rpmdb.baseline_differences(lock, have, output) == (["mariadb-libs"], ["acme-db"])
    assert rpmdb.baseline_differences(lock, have) == (["mariadb-libs"], [])


@pytest.fixture(scope="module")
def el8(tmp_path_factory):
    return make_bundle(tmp_path_factory.mktemp("el8b"), "el8", ["keepalived", "mariadb-server"],
                       enable=("mariadb:10.5",), disable=("mysql",))


def dnf_modules(root: Path) -> str:
    appstream = FIXTURE_REPOS / "el8" / "appstream"
    proc = subprocess.run(["dnf", "-q", "--noplugins", "--nogpgcheck", "--releasever", "8", "--forcearch", "x86_64",
                           "--setopt", "module_platform_id=platform:el8", "--setopt", "reposdir=/dev/null",
                           "--repofrompath", f"app,file://{appstream}", "--installroot", str(root),
                           "--setopt", f"cachedir={root}/var/cache/dnf", "module", "list"],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    return proc.stdout


def test_el8_install_gives_dnf_the_module_states_and_uninstall_puts_them_back(el8, tmp_path):
    assert el8["lock"]["host_modules"] == {"enable": ["mariadb:10.5"], "disable": ["mysql"]}
    root = host(tmp_path, "el8", el8["lock"])
    modules_d = root / "etc" / "dnf" / "modules.d"
    modules_d.mkdir(parents=True)
    original = "[mysql]\nname=mysql\nstream=8.0\nprofiles=\nstate=enabled\n"
    (modules_d / "mysql.module").write_text(original)
    out = run_sh("dash", el8["run"], "--accept", "--", "install", "--root", str(root))
    assert out.returncode == 0, out.stdout + out.stderr
    assert (modules_d / "mysql.module").read_text() == "[mysql]\nname=mysql\nstream=\nprofiles=\nstate=disabled\n"
    assert (modules_d / "mariadb.module").read_text() == \
        "[mariadb]\nname=mariadb\nstream=10.5\nprofiles=\nstate=enabled\n"
    listing = dnf_modules(root)  # the host's own dnf reads them as `dnf module` wrote them
    assert re.search(r"^mysql\s+8\.0 \[d\]\[x\]", listing, re.M), listing
    assert re.search(r"^mariadb\s+10\.5 \[e\]", listing, re.M), listing
    again = run_sh("dash", el8["run"], "--accept", "--", "install", "--root", str(root))
    assert again.returncode == 0
    assert len(list(modules_d.glob("mysql.module.ha-bundle-*.bak"))) == 1  # a re-run writes nothing
    un = run_sh("dash", el8["run"], "--accept", "--", "uninstall", "--root", str(root))
    assert un.returncode == 0, un.stdout + un.stderr
    assert (modules_d / "mysql.module").read_text() == original
    assert not (modules_d / "mariadb.module").exists()
