"""`site init` writes a valid site.toml with generated secrets, 0600, and never overwrites one."""

from __future__ import annotations

import os
import stat
import subprocess

from onsite._vendor import tomli
from onsite.core import errors  # the exit code table

NODES = ["--node", "ha1=192.0.2.11", "--node", "ha2=192.0.2.12"]


def site_init(py36, env, *args):
    return subprocess.run([py36, "-m", "onsite", "site", "init", *args], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)


def test_writes_a_valid_0600_file_with_fresh_secrets(py36, onsite_env, tmp_path):
    out = site_init(py36, onsite_env, "--vip", "192.0.2.100/24", *NODES, "--db-schema", "itv", "--out",
                    str(tmp_path / "a.toml"))
    assert out.returncode == 0, out.stderr
    assert "with generated secrets" in out.stdout and "copy this same file to each node" in out.stdout
    path = tmp_path / "a.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    data = tomli.loads(path.read_text())
    secrets_a = data["secrets"]
    assert len(secrets_a["replication_password"]) == 24 and len(secrets_a["vrrp_password"]) == 8
    assert data["cluster"]["vip"] == "192.0.2.100/24" and [n["name"] for n in data["node"]] == ["ha1", "ha2"]
    assert secrets_a["replication_password"] not in out.stdout + out.stderr  # never printed
    # the file is accepted by the site parser as it is (what configure/install will read)
    check = subprocess.run([py36, "-c", "import sys; from onsite.site import sitefile as site; import argparse; "
                            "p = argparse.ArgumentParser(); site.add_arguments(p); "
                            "s = site.from_args(p.parse_args(['--site', sys.argv[1]])); "
                            "print(s.secrets.replication_password)", str(path)],
                           env=onsite_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == secrets_a["replication_password"]
    # a second site gets different secrets
    site_init(py36, onsite_env, "--vip", "192.0.2.100/24", *NODES, "--out", str(tmp_path / "b.toml"))
    assert tomli.loads((tmp_path / "b.toml").read_text())["secrets"] != secrets_a


def test_existing_file_is_never_replaced_without_force(py36, onsite_env, tmp_path):
    path = tmp_path / "site.toml"
    path.write_text("keep me\n")
    out = site_init(py36, onsite_env, "--vip", "192.0.2.100/24", *NODES, "--out", str(path))
    assert out.returncode == errors.BAD_INPUT
    assert "already exists; nothing was changed" in out.stderr
    assert path.read_text() == "keep me\n"
    forced = site_init(py36, onsite_env, "--vip", "192.0.2.100/24", *NODES, "--out", str(path), "--force")
    assert forced.returncode == 0 and "[secrets]" in path.read_text()


def test_bad_flags_name_the_flag_and_write_nothing(py36, onsite_env, tmp_path):
    path = tmp_path / "site.toml"
    out = site_init(py36, onsite_env, "--vip", "198.51.100.100/24", *NODES, "--out", str(path))
    assert out.returncode == errors.BAD_INPUT
    assert "--vip" in out.stderr or "cluster.vip" in out.stderr
    assert "outside" in out.stderr
    assert not path.exists()
    missing = site_init(py36, onsite_env, "--vip", "192.0.2.100/24", "--out", str(path))
    assert missing.returncode == errors.BAD_INPUT and "two --node" in missing.stderr and not path.exists()
    env = {k: v for k, v in onsite_env.items() if k not in ("LC_ALL", "LC_MESSAGES")}
    zh = site_init(py36, dict(env, LANG="zh_CN.UTF-8"), "--vip", "192.0.2.100/24", "--out", str(path))
    assert "需要 --vip" in zh.stderr
