"""The pair's statement about a node (onsite.pair.facts) and the handshake's pure decisions
(onsite.ops.handshake): digests that change with every key and secret but never show a secret,
differences named per key, and which node should end active."""

import argparse

from onsite.ops import handshake
from onsite.pair import facts
from onsite.site import sitefile
from tests.site_util import APP, DATABASE, NODES, SECRETS


def site_from(text, tmp_path, name="site.toml"):
    path = tmp_path / name
    path.write_text(text)
    path.chmod(0o600)
    return sitefile.from_args(argparse.Namespace(**dict.fromkeys(
        ["vip", "interface", "vrid", "vrrp_version", "advert_int", "pair_port", "app_port", "health_url",
         "app_process", "db_port", "db_schema", "db_flavour", "node"]), site=str(path)))


BASE = ('[cluster]\nvip = "192.0.2.100/24"\nvrid = 51\n' + NODES + APP + DATABASE
        + SECRETS.format(repl="r" * 24, seed="s" * 24))


def local_of(site):
    return sitefile.Local(site.nodes[0], site.nodes[1], "eth0")


def test_the_digest_follows_every_key_and_secret_but_shows_no_secret(tmp_path):
    base = site_from(BASE, tmp_path)
    assert facts.site_digest(base) == facts.site_digest(site_from(BASE, tmp_path, "copy.toml"))
    for old, new in (("192.0.2.100/24", "192.0.2.101/24"), ("vrid = 51", "vrid = 52"), ("r" * 24, "x" * 24),
                     ("port = 8081", "port = 8082"), ('priority = 100', 'priority = 90')):
        other = site_from(BASE.replace(old, new, 1), tmp_path, "other.toml")
        assert facts.site_digest(other) != facts.site_digest(base), (old, new)
    canonical = facts.canonical_site(base)
    assert "r" * 24 not in str(canonical) and "s" * 24 not in str(canonical)
    assert canonical["secrets.replication_password"].startswith("hmac-sha256:")


def test_differences_are_named_for_both_nodes(tmp_path):
    one = site_from(BASE, tmp_path)
    two = site_from(BASE.replace("192.0.2.100/24", "192.0.2.101/24").replace("s" * 24, "t" * 24), tmp_path, "b.toml")
    mine = facts.of_this_node(one, local_of(one), "a" * 64)
    theirs = dict(facts.of_this_node(two, local_of(two), "b" * 64), node="ha2", address="192.0.2.12",
                  peer="192.0.2.11")
    lines = handshake.compare(mine, theirs, False, local_of(one))
    text = "\n".join(lines)
    assert "cluster.vip: ha1 has 192.0.2.100/24, ha2 has 192.0.2.101/24" in text
    assert "secrets.seed_password: differs between ha1 and ha2 (values not shown)" in text
    assert "secrets.replication_password" not in text      # the same on both
    assert "bundle: ha1 runs bundle aaaaaaaaaaaaaaaa, ha2 runs bundle bbbbbbbbbbbbbbbb" in text
    agreed = dict(mine, node="ha2", address="192.0.2.12", peer="192.0.2.11")
    assert handshake.compare(mine, agreed, True, local_of(one)) == []
    # a peer that pairs with someone else is named
    stranger = dict(agreed, peer="192.0.2.99")
    assert "ha2 does not see ha1 (192.0.2.11) as its peer: it names 192.0.2.99" in "\n".join(
        handshake.compare(mine, stranger, True, local_of(one)))


def test_the_node_with_the_data_ends_active_when_the_preferred_one_is_empty(tmp_path):
    site = site_from(BASE, tmp_path)     # ha1 priority 150, ha2 100
    assert handshake.preferred_node(site, {}) == "ha1"
    assert handshake.preferred_node(site, {"ha1": True, "ha2": True}) == "ha1"
    assert handshake.preferred_node(site, {"ha1": False, "ha2": False}) == "ha1"
    assert handshake.preferred_node(site, {"ha1": False, "ha2": True}) == "ha2"
    assert handshake.preferred_node(site, {"ha1": None, "ha2": True}) == "ha1"   # unknown: priority


def test_app_data_is_seen_from_the_datadir_files(tmp_path):
    site = site_from(BASE, tmp_path)
    datadir = tmp_path / "mysql"
    (datadir / "itv").mkdir(parents=True)
    (datadir / "itv" / "db.opt").write_text("default-character-set=utf8\n")
    assert handshake.app_data_here(site, str(datadir)) is False      # an empty schema
    (datadir / "itv" / "device.ibd").write_bytes(b"\0" * 16)
    assert handshake.app_data_here(site, str(datadir)) is True
