"""Site file v1: every bad value is refused with a message that names the key (or flag)."""

import argparse
import os
import subprocess

import pytest

from tests.conftest import STUBS

from onsite.site import sitefile as site  # noqa: E402  (stubs/ is on sys.path via conftest)
from onsite.core.errors import OnsiteError
from tests.site_util import APP, NODES, cluster

EXAMPLE = STUBS / "site.example.toml"

GOOD = "\n" + cluster() + NODES + APP


def write(tmp_path, text, mode=0o600):
    path = tmp_path / "site.toml"
    path.write_text(text)
    os.chmod(path, mode)
    return str(path)


def problems(tmp_path, text):
    with pytest.raises(OnsiteError) as info:
        site.validate(site.load_file(write(tmp_path, text)), "site.toml")
    assert info.value.reference == "site-invalid"
    return info.value.render(lang="en")


def test_example_file_is_valid_and_defaults_apply():
    s = site.validate(site.load_file(str(EXAMPLE)), str(EXAMPLE))
    assert s.cluster.vip == "192.0.2.100" and s.cluster.prefix == 24
    assert [n.name for n in s.nodes] == ["ha1", "ha2"]
    assert s.database.schemas == ("itv",) and s.database.port == 3306 and s.database.flavour is None
    assert s.app.port == 8081 and s.app.health_url is None and s.secrets is None


def test_minimal_file_gets_defaults(tmp_path):
    s = site.validate(site.load_file(write(tmp_path, GOOD)))
    assert (s.cluster.vrrp_version, s.cluster.advert_int, s.app.fall, s.app.rise) == (2, 1, 1, 2)
    assert s.database == site.Database(("itv",), 3306, None)


@pytest.mark.parametrize("change, words", [
    (("vip = \"192.0.2.100/24\"", "vip = \"198.51.100.7/24\""),
     "cluster.vip: 198.51.100.7/24 is outside the subnet of node[0].address 192.0.2.11"),
    (("vip = \"192.0.2.100/24\"", "vip = \"192.0.2.100\""), "cluster.vip: needs the prefix length"),
    (("vip = \"192.0.2.100/24\"", "vip = \"192.0.2.11/24\""),
     "node[0].address: duplicate address 192.0.2.11: it is also cluster.vip"),
    (("address = \"192.0.2.12\"", "address = \"192.0.2.11\""),
     "node[1].address: duplicate address 192.0.2.11 (also node[0].address)"),
    (("vrid = 51", "vrid = 256"), "cluster.vrid: must be a whole number from 1 to 255, got 256"),
    (("vrid = 51", "vrid = 51\nvipp = 1"), "cluster.vipp: unknown key"),
    (("port = 8081", "port = 8081\nhealth = 1"), "app.health: unknown key"),
    (("priority = 100", "priority = 150"), "node[1].priority: both nodes have priority 150"),
    (("port = 8081", "port = \"8081\""), "app.port: must be a whole number from 1 to 65535, got '8081'"),
    (("vrid = 51", "vrid = 51\nadvert_int = 0.5"), "cluster.advert_int: with vrrp_version 2 must be whole seconds"),
    (("vrid = 51", "vrid = 51\nvrrp_version = 3\nadvert_int = 0.005"),
     "cluster.advert_int: with vrrp_version 3 must be 0.01 to 40.95"),
    (("name = \"ha2\"", "name = \"ha1\""), "node[1].name: duplicate node name 'ha1'"),
    (("port = 8081", "port = 8081\n[database]\nschemas = []"), "database.schemas: must be a non-empty list"),
    (("port = 8081", "port = 8081\n[database]\nflavour = \"postgres\""),
     "database.flavour: must be one of mariadb, mysql-community"),
    (("port = 8081", "port = 8081\n[database]\nport = 3306\nuser = \"x\""), "database.user: unknown key"),
    (("[app]", "[ap]"), "ap: unknown table or key"),
])
def test_bad_values_are_refused_naming_the_key(tmp_path, change, words):
    old, new = change
    assert old in GOOD
    text = problems(tmp_path, GOOD.replace(old, new, 1))
    assert words in text
    assert "nothing was changed" in text
    assert "fix each line above in site.toml" in text


def test_all_problems_are_reported_together(tmp_path):
    text = problems(tmp_path, GOOD.replace("vrid = 51", "vrid = 0\nfoo = 1").replace("port = 8081", "port = 0"))
    assert "3 problem(s)" in text
    for words in ("cluster.vrid:", "cluster.foo: unknown key", "app.port:"):
        assert words in text


def test_missing_node_and_vip(tmp_path):
    text = problems(tmp_path, "[cluster]\nvrid = 5\n")
    assert "cluster.vip: is required" in text
    assert "node: exactly two [[node]] entries are needed, found 0" in text


def test_toml_syntax_error_names_line(tmp_path):
    with pytest.raises(OnsiteError) as info:
        site.load_file(write(tmp_path, GOOD.replace("vrid = 51", "vrid = ")))
    text = info.value.render(lang="en")
    assert "is not valid TOML" in text and "line 4" in text


def test_secrets_table_and_its_file_mode(tmp_path):
    secret = GOOD + "[secrets]\nreplication_password = \"Abcdefgh12345678\"\nvrrp_password = \"s3cret\"\n"
    path = write(tmp_path, secret, mode=0o644)
    with pytest.raises(OnsiteError) as info:
        site.check_file_mode(path, site.load_file(path))
    assert "chmod 600" in info.value.render(lang="en")
    os.chmod(path, 0o600)
    data = site.load_file(path)
    site.check_file_mode(path, data)
    s = site.validate(data)
    assert s.secrets.replication_password == "Abcdefgh12345678" and s.secrets.vrrp_password == "s3cret"
    text = problems(tmp_path, secret.replace("vrid = 51", "vrid = 51\nvrrp_version = 3"))
    assert "secrets.vrrp_password: VRRPv3 has no authentication" in text
    text = problems(tmp_path, secret.replace("s3cret", "longer-than-8"))
    assert "secrets.vrrp_password: must be 1-8 printable characters" in text
    text = problems(tmp_path, secret.replace("Abcdefgh12345678", "short"))
    assert "secrets.replication_password: must be 12-128" in text


def flag_args(argv):
    parser = argparse.ArgumentParser()
    site.add_arguments(parser)
    return parser.parse_args(argv)


def test_flags_give_the_same_site_and_errors_name_the_flag():
    s = site.from_args(flag_args(["--vip", "192.0.2.100/24", "--node", "ha1=192.0.2.11,150",
                                  "--node", "ha2=192.0.2.12,100"]))
    from_file = site.validate(site.load_file(str(EXAMPLE)))
    assert s.cluster == from_file.cluster and s.nodes == from_file.nodes
    with pytest.raises(OnsiteError) as info:
        site.from_args(flag_args(["--vip", "192.0.2.100/24", "--vrid", "300", "--node", "ha1=192.0.2.11",
                                  "--node", "ha2=192.0.2.12"]))
    assert "cluster.vrid (--vrid): must be a whole number from 1 to 255" in info.value.render(lang="en")
    with pytest.raises(OnsiteError) as info:
        site.from_args(flag_args(["--vip", "192.0.2.100/24", "--node", "ha1"]))
    assert "node (--node): 'ha1' is not NAME=ADDRESS[,PRIORITY]" in info.value.render(lang="en")


def test_flags_override_the_file():
    s = site.from_args(flag_args(["--site", str(EXAMPLE), "--vrid", "77"]))
    assert s.cluster.vrid == 77 and s.cluster.vip == "192.0.2.100"


def test_node_self_detection():
    s = site.validate(site.load_file(str(EXAMPLE)))
    local = site.locate(s, [("lo", "127.0.0.1", 8), ("ens33", "192.0.2.12", 24)])
    assert (local.me.name, local.peer.name, local.interface) == ("ha2", "ha1", "ens33")
    with pytest.raises(OnsiteError) as info:
        site.locate(s, [("lo", "127.0.0.1", 8)])
    assert "this host has none of the node addresses (192.0.2.11, 192.0.2.12)" in info.value.render(lang="en")
    with pytest.raises(OnsiteError) as info:
        site.locate(s, [("eth0", "192.0.2.11", 24), ("eth1", "192.0.2.12", 24)])
    assert info.value.reference == "site-both-nodes-here"


def test_zh_cn_message(tmp_path):
    with pytest.raises(OnsiteError) as info:
        site.validate(site.load_file(write(tmp_path, GOOD.replace("vrid = 51", "vrid = 0"))))
    assert "未做任何更改" in info.value.render(lang="zh_CN")


def test_parser_runs_on_python36(py36, onsite_env, tmp_path):
    """The vendored tomli and site.py on the target's Python 3.6."""
    bad = write(tmp_path, GOOD.replace("vrid = 51", "vrid = 51\nvipp = 1"))
    code = ("import sys\nfrom onsite.site import sitefile as site\nfrom onsite.core.errors import OnsiteError\n"
            "s = site.validate(site.load_file(sys.argv[1]))\nprint(s.cluster.vip, s.nodes[1].name)\n"
            "try:\n    site.validate(site.load_file(sys.argv[2]))\n"
            "except OnsiteError as e:\n    print(e.render('en'))\n")
    out = subprocess.run([py36, "-c", code, str(EXAMPLE), bad], env=onsite_env, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.returncode == 0, out.stdout
    assert "192.0.2.100 ha2" in out.stdout
    assert "cluster.vipp: unknown key" in out.stdout
