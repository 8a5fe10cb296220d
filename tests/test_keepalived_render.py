"""keepalived.conf rendering: golden files, keywords keepalived 2.0.20 knows, and `keepalived -t`
with both Debian's 2.2.7 and the customer's 2.0.20 binary (in a lab node: -t needs eth0)."""

import os
import re
from pathlib import Path

import pytest

from tests.conftest import STUBS
from tests.lab import KEEPALIVED_2020
from tests.lab.fixtures import make_lab  # noqa: F401 (fixture)
from tests.site_util import NODES, cluster

from onsite.core import appspec
from onsite.failover import keepalived
from onsite.site import sitefile as site

GOLDEN = Path(__file__).parent / "golden" / "keepalived"
# The keyword list: every bold word (\fB...) of keepalived 2.0.20's own keepalived.conf(5),
# doc/man/man5/keepalived.conf.5 at upstream tag v2.0.20 (commit a0226b7), copied to
# ../shared/keepalived-2.0.20/keepalived.conf.5 (see its README.md).
MAN_2020 = Path(KEEPALIVED_2020).parent / "keepalived.conf.5"

BASE = "\n" + cluster() + NODES
CASES = {
    # name: (extra TOML, node)
    "v2_ha1": ("", "ha1"),
    "v2_auth_ha2": ('[secrets]\nvrrp_password = "s3cret"\n', "ha2"),
    "v3_fast_http_process_ha1": ('[app]\nhealth_url = "http://127.0.0.1:8081/health"\nprocess = "node"\n'
                                 'fall = 2\nrise = 3\n', "ha1"),
    # a bundle that carries the app: its down file is tracked (vrrp_track_file)
    "v3_fast_bundled_app_ha2": ('[app]\nprefix = "/srv/itv"\n', "ha2"),
}
BUNDLED = {"name": "itv", "version": "1.0.0", "start": "python3 server.py", "port": 8081,
           "health_path": "/health", "data_dirs": ["/var/lib/itv/uploads"],
           "files": [{"path": "server.py", "sha256": "0" * 64, "size": 1, "mode": 0o644}],
           "tree_sha256": "1" * 64}
ADDRS = {"ha1": "192.0.2.11", "ha2": "192.0.2.12"}


def facts(case):
    extra, node = CASES[case]
    text = BASE + extra
    if case.startswith("v3_fast"):
        text = text.replace("vrid = 51", "vrid = 51\nvrrp_version = 3\nadvert_int = 0.2")
    import tomllib
    s = site.validate(tomllib.loads(text))
    local = site.locate(s, [("eth0", ADDRS[node], 24)])
    app = appspec.from_lock({"app": BUNDLED}) if "bundled_app" in case else None
    return keepalived.facts_from_site(s, local, app=app)


def keywords_2020():
    return set(re.findall(r"\\fB([a-z_][a-z0-9_]*)", MAN_2020.read_text()))


def config_keywords(text):
    """First word of every line, except the contents of value-list blocks."""
    value_blocks = {"unicast_peer", "virtual_ipaddress", "track_script", "track_process", "track_file"}
    stack, words = [], []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line == "}":
            stack.pop()
            continue
        word = line.split()[0]
        if not (stack and stack[-1] in value_blocks):
            words.append(word)
        if line.endswith("{"):
            stack.append(word)
    assert not stack, "unbalanced braces"
    return words


@pytest.mark.parametrize("case", sorted(CASES))
def test_render_matches_golden(case):
    text = keepalived.render_conf(facts(case))
    path = GOLDEN / (case + ".conf")
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_render_decisions():
    v2 = keepalived.render_conf(facts("v2_ha1"))
    v2_ha2 = keepalived.render_conf(facts("v2_auth_ha2"))
    v3 = keepalived.render_conf(facts("v3_fast_http_process_ha1"))
    assert "nopreempt" in v2 and "nopreempt" not in v2_ha2          # only the higher priority
    assert v2.count("state BACKUP") == 1 and "MASTER" not in v2
    assert "vrrp_strict" not in v2 + v2_ha2 + v3
    assert "unicast_src_ip 192.0.2.11" in v2 and "unicast_peer {\n        192.0.2.12" in v2
    assert "auth_pass \"s3cret\"" in v2_ha2 and "authentication" not in v3
    assert "version 3\n    advert_int 0.2\n" in v3
    assert "vrrp_track_process" in v3 and "vrrp_track_process" not in v2
    assert "weight 0" in v2                                        # FAULT on failure, see module doc
    check = keepalived.render_check_script(facts("v3_fast_http_process_ha1"))
    assert "curl -fsS -m 1 -o /dev/null 'http://127.0.0.1:8081/health'" in check
    assert "/dev/tcp/127.0.0.1/8081" in keepalived.render_check_script(facts("v2_ha1"))


def test_keyword_list_is_discriminating():
    """The man page list must reject keywords that 2.0.20 does not have (DESIGN.md section 3)."""
    known = keywords_2020()
    assert len(known) > 200
    for newer in ("max_auto_priority", "unicast_ttl", "reload_check_config"):
        assert newer not in known


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_keyword_is_known_to_keepalived_2020(case):
    known = keywords_2020()
    text = keepalived.render_conf(facts(case))
    used = config_keywords(text)
    assert "vrrp_instance" in used and "advert_int" in used
    unknown = sorted(set(used) - known)
    assert unknown == [], "not in keepalived 2.0.20's keepalived.conf(5): %s" % unknown


VALIDATE = """
import sys
from onsite.failover import keepalived
from onsite.failover import keepalived_step as step_keepalived
from onsite.core.errors import OnsiteError
conf = sys.stdin.read()
files = {keepalived.CHECK_SCRIPT: ("#!/bin/sh\\nexit 0\\n", 0o700), keepalived.NOTIFY_SCRIPT: ("#!/bin/sh\\nexit 0\\n", 0o700)}
try:
    step_keepalived.validate_text(conf, files)
    print("VALID")
except OnsiteError as exc:
    print(exc.render("en"))
"""


@pytest.mark.lab
@pytest.mark.parametrize("binary", ["2.0.20", "debian"])
def test_generated_configs_pass_keepalived_t(make_lab, py36, binary):
    lab = make_lab(keepalived="2.0.20" if binary == "2.0.20" else None, firewalld=False)
    version = lab.run("ha1", ["keepalived", "--version"], check=False)
    assert ("v2.0.20" if binary == "2.0.20" else "v2.2.7") in version.stdout + version.stderr
    env = {"PYTHONPATH": str(STUBS)}
    for case in sorted(CASES):
        conf = keepalived.render_conf(facts(case))
        out = lab.run("ha1", [py36, "-c", VALIDATE], input=conf, env=env)
        assert out.stdout.strip() == "VALID", (case, out.stdout)
    # The check must be able to fail. Measured here: 2.0.20 exits 0 on an unknown keyword in
    # global_defs (it only prints "Unknown keyword" with -l) and 4 on one inside vrrp_instance;
    # 2.2.7 knows max_auto_priority (global) and exits 5 on unknown keywords.
    newer = keepalived.render_conf(facts("v2_ha1")).replace("script_user root\n", "script_user root\n    max_auto_priority 10\n")
    out = lab.run("ha1", [py36, "-c", VALIDATE], input=newer, env=env)
    if binary == "2.0.20":
        assert "keepalived rejects the generated configuration; nothing was changed" in out.stdout
        assert "Unknown keyword 'max_auto_priority'" in out.stdout
        assert "keepalived -t exit 0" in out.stdout, out.stdout
    else:
        assert out.stdout.strip() == "VALID", out.stdout
    bogus = keepalived.render_conf(facts("v2_ha1")).replace("    nopreempt\n", "    nopreempt\n    no_such_keyword 1\n")
    out = lab.run("ha1", [py36, "-c", VALIDATE], input=bogus, env=env)
    assert "Unknown keyword 'no_such_keyword'" in out.stdout, out.stdout
    assert "keepalived -t exit %d" % (4 if binary == "2.0.20" else 5) in out.stdout
    fraction = keepalived.render_conf(facts("v2_ha1")).replace("advert_int 1", "advert_int 0.5")
    out = lab.run("ha1", [py36, "-c", VALIDATE], input=fraction, env=env)
    if binary == "2.0.20":   # VRRPv2 with a fraction: 2.0.20 exits 4 ("must be an integer")
        assert "keepalived rejects the generated configuration" in out.stdout, out.stdout
    # nothing left behind in /etc/keepalived by validation
    assert os.listdir(lab.path("ha1", "/etc/keepalived")) == []
