"""Bad site files: every one is refused with a clear error that names the key, no traceback,
nothing changed.

Two layers:
- a table of ~60 hand-made bad files, each run through the real CLI (``python3.6 -m onsite
  configure`` inside a lab node, where configure would otherwise write keepalived.conf, the
  firewall and the database; and ``preflight``), exit 2, the expected key in the message, and
  the node's files, addresses, firewall and processes identical afterwards;
- hypothesis: random structures and random mutations of a good file through site.validate()
  in-process: only OnsiteError ever escapes, and every problem line starts with a key name.
"""

from concurrent.futures import ThreadPoolExecutor
import os
import re
import string
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onsite.site import sitefile as site_mod
from onsite._vendor import tomli
from onsite.core.errors import OnsiteError
from tests.lab.snapshot import node_state
from tests.lab.fixtures import lab  # noqa: F401 (fixture)
from tests.site_util import APP, NODES, cluster
from onsite.core import errors  # the exit code table

GOOD = "version = 1\n" + cluster() + NODES + APP + '[database]\nschemas = ["itv"]\n'


def sub(old, new, text=GOOD):
    assert old in text, old
    return text.replace(old, new, 1)


THIRD = '[[node]]\nname = "ha3"\naddress = "192.0.2.13"\npriority = 90\n'
ONE_NODE = sub('[[node]]\nname = "ha2"\naddress = "192.0.2.12"\npriority = 100\n', "")

# (id, file text, words the error must contain: the key first)
CASES = [
    ("toml-unclosed-table", "[cluster\nvip = 1\n", ["is not valid TOML", "line 1"]),
    ("toml-bare-value", sub('"192.0.2.100/24"', "192.0.2.100/24"), ["is not valid TOML", "line 3"]),
    ("toml-duplicate-key", sub("vrid = 51", "vrid = 51\nvrid = 52"), ["is not valid TOML", "line 5"]),
    ("toml-not-utf8", b"[cluster]\nvip = \"\xff\xfe\"\n", ["is not valid TOML"]),
    ("toml-duplicate-table", GOOD + "[app]\nport = 1\n", ["is not valid TOML"]),
    ("empty-file", "", ["cluster.vip: is required", "node: exactly two [[node]] entries"]),
    ("vip-missing", sub('vip = "192.0.2.100/24"\n', ""), ["cluster.vip: is required"]),
    ("vip-no-prefix", sub("192.0.2.100/24", "192.0.2.100"), ["cluster.vip: needs the prefix length"]),
    ("vip-not-ip", sub("192.0.2.100/24", "abc/24"), ["cluster.vip: 'abc/24' is not an IPv4 address"]),
    ("vip-int", sub('"192.0.2.100/24"', "5"), ["cluster.vip: must be a non-empty string"]),
    ("vip-empty", sub('"192.0.2.100/24"', '""'), ["cluster.vip: must be a non-empty string"]),
    ("vip-ipv6", sub("192.0.2.100/24", "2001:db8::1/64"), ["cluster.vip:", "not an IPv4 address"]),
    ("vip-network", sub("192.0.2.100/24", "192.0.2.0/24"), ["cluster.vip: 192.0.2.0 is the network or broadcast"]),
    ("vip-broadcast", sub("192.0.2.100/24", "192.0.2.255/24"), ["cluster.vip: 192.0.2.255 is the network or broadcast"]),
    ("vip-other-subnet", sub("192.0.2.100/24", "198.51.100.100/24"), ["cluster.vip: 198.51.100.100/24 is outside the subnet"]),
    ("vip-is-node", sub("192.0.2.100/24", "192.0.2.11/24"), ["node[0].address: duplicate address 192.0.2.11: it is also cluster.vip"]),
    ("vip-prefix-33", sub("192.0.2.100/24", "192.0.2.100/33"), ["cluster.vip:", "not an IPv4 address with prefix"]),
    ("interface-space", sub("vrid = 51", 'vrid = 51\ninterface = "eth 0"'), ["cluster.interface: 'eth 0' is not an interface name"]),
    ("interface-int", sub("vrid = 51", "vrid = 51\ninterface = 5"), ["cluster.interface: 5 is not an interface name"]),
    ("interface-long", sub("vrid = 51", 'vrid = 51\ninterface = "abcdefghijklmnopq"'), ["cluster.interface:"]),
    ("vrid-0", sub("vrid = 51", "vrid = 0"), ["cluster.vrid: must be a whole number from 1 to 255, got 0"]),
    ("vrid-256", sub("vrid = 51", "vrid = 256"), ["cluster.vrid: must be a whole number from 1 to 255, got 256"]),
    ("vrid-string", sub("vrid = 51", 'vrid = "51"'), ["cluster.vrid: must be a whole number", "'51'"]),
    ("vrid-bool", sub("vrid = 51", "vrid = true"), ["cluster.vrid: must be a whole number", "True"]),
    ("vrrp-version-4", sub("vrid = 51", "vrid = 51\nvrrp_version = 4"), ["cluster.vrrp_version: must be 2 or 3, got 4"]),
    ("advert-fraction-v2", sub("vrid = 51", "vrid = 51\nadvert_int = 0.5"), ["cluster.advert_int: with vrrp_version 2 must be whole seconds"]),
    ("advert-too-big-v3", sub("vrid = 51", "vrid = 51\nvrrp_version = 3\nadvert_int = 50"), ["cluster.advert_int: with vrrp_version 3 must be 0.01 to 40.95"]),
    ("advert-string", sub("vrid = 51", 'vrid = 51\nadvert_int = "1"'), ["cluster.advert_int: must be a number of seconds"]),
    ("cluster-unknown-key", sub("vrid = 51", "vrid = 51\nvipp = 1"), ["cluster.vipp: unknown key"]),
    ("cluster-not-table", 'cluster = "x"\n' + GOOD[GOOD.index("[[node]]"):], ["cluster: must be a [cluster] table"]),
    ("one-node", ONE_NODE, ["node: exactly two [[node]] entries are needed, found 1"]),
    ("three-nodes", GOOD.replace("[app]", THIRD + "[app]"), ["node: exactly two [[node]] entries are needed, found 3"]),
    ("node-no-name", sub('name = "ha2"\n', ""), ["node[1].name: is required"]),
    ("node-no-address", sub('address = "192.0.2.12"\n', ""), ["node[1].address: is required"]),
    ("node-bad-name", sub('name = "ha2"', 'name = "ha 2"'), ["node[1].name: 'ha 2': use letters, digits"]),
    ("node-duplicate-name", sub('name = "ha2"', 'name = "ha1"'), ["node[1].name: duplicate node name 'ha1'"]),
    ("node-duplicate-address", sub("192.0.2.12", "192.0.2.11"), ["node[1].address: duplicate address 192.0.2.11"]),
    ("node-address-hostname", sub("192.0.2.12", "ha2.local"), ["node[1].address:"]),
    ("node-address-prefix", sub('"192.0.2.12"', '"192.0.2.12/24"'), ["node[1].address:"]),
    ("node-priority-0", sub("priority = 100", "priority = 0"), ["node[1].priority: must be a whole number from 1 to 254, got 0"]),
    ("node-priority-255", sub("priority = 100", "priority = 255"), ["node[1].priority: must be a whole number from 1 to 254, got 255"]),
    ("node-priority-equal", sub("priority = 100", "priority = 150"), ["node[1].priority: both nodes have priority 150"]),
    ("node-priority-string", sub("priority = 100", 'priority = "high"'), ["node[1].priority: must be a whole number", "'high'"]),
    ("node-unknown-key", sub('name = "ha2"', 'name = "ha2"\nhostname = "x"'), ["node[1].hostname: unknown key"]),
    ("node-not-array", 'node = "ha1"\n' + GOOD[:GOOD.index("[[node]]")] + GOOD[GOOD.index("[app]"):],
     ["node: must be [[node]] tables"]),
    ("node-table-not-array", GOOD[:GOOD.index("[[node]]")] + '[node]\nname = "ha1"\n' + GOOD[GOOD.index("[app]"):],
     ["node: must be [[node]] tables"]),
    ("app-port-0", sub("port = 8081", "port = 0"), ["app.port: must be a whole number from 1 to 65535, got 0"]),
    ("app-port-70000", sub("port = 8081", "port = 70000"), ["app.port: must be a whole number from 1 to 65535, got 70000"]),
    ("app-url-ftp", sub("port = 8081", 'port = 8081\nhealth_url = "ftp://x/"'), ["app.health_url: must be an http:// or https:// URL"]),
    ("app-url-space", sub("port = 8081", 'port = 8081\nhealth_url = "http://a b/"'), ["app.health_url: must be an http:// or https:// URL"]),
    ("app-fall-0", sub("port = 8081", "port = 8081\nfall = 0"), ["app.fall: must be a whole number from 1 to 10, got 0"]),
    ("app-process-long", sub("port = 8081", 'port = 8081\nprocess = "a-very-long-process-name"'), ["app.process: must be a process name of 1-15 characters"]),
    ("app-unknown-key", sub("port = 8081", "port = 8081\nurl = 1"), ["app.url: unknown key"]),
    ("db-schemas-empty", sub('schemas = ["itv"]', "schemas = []"), ["database.schemas: must be a non-empty list"]),
    ("db-schema-bad-name", sub('schemas = ["itv"]', 'schemas = ["itv; DROP"]'), ["database.schemas: must be a non-empty list", "itv; DROP"]),
    ("db-schemas-string", sub('schemas = ["itv"]', 'schemas = "itv"'), ["database.schemas: must be a non-empty list"]),
    ("db-port-string", sub('schemas = ["itv"]', 'schemas = ["itv"]\nport = "3306"'), ["database.port: must be a whole number from 1 to 65535, got '3306'"]),
    ("db-flavour", sub('schemas = ["itv"]', 'schemas = ["itv"]\nflavour = "postgres"'), ["database.flavour: must be one of mariadb, mysql-community, got 'postgres'"]),
    ("secret-short", GOOD + '[secrets]\nreplication_password = "short"\n', ["secrets.replication_password: must be 12-128 printable characters"]),
    ("secret-quote", GOOD + "[secrets]\nseed_password = \"abc'defghijklmn\"\n", ["secrets.seed_password: must be 12-128 printable characters"]),
    ("vrrp-password-long", GOOD + '[secrets]\nvrrp_password = "123456789"\n', ["secrets.vrrp_password: must be 1-8 printable characters"]),
    ("vrrp-password-v3", sub("vrid = 51", "vrid = 51\nvrrp_version = 3") + '[secrets]\nvrrp_password = "abc"\n', ["secrets.vrrp_password: VRRPv3 has no authentication"]),
    ("secrets-unknown-key", GOOD + '[secrets]\nroot_password = "abcdefghijklmn"\n', ["secrets.root_password: unknown key"]),
    ("version-2", sub("version = 1", "version = 2"), ["version: this installer reads site file version 1, got 2"]),
    ("unknown-table", GOOD + "[extra]\na = 1\n", ["extra: unknown table or key"]),
    ("many-problems", sub("vrid = 51", "vrid = 0").replace("port = 8081", "port = 0"), ["cluster.vrid:", "app.port:", "2 problem(s)"]),
]
SPECIAL = [
    ("secrets-world-readable", GOOD + '[secrets]\nreplication_password = "abcdefghijklmn"\n', 0o644,
     ["holds secrets but other users can read it (mode 0644)", "chmod 600"]),
]


def _write(directory, name, text, mode=0o600):
    path = directory / (name + ".toml")
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    os.chmod(str(path), mode)
    return str(path)


def test_the_table_is_big_enough_and_the_good_file_is_good():
    assert len(CASES) + len(SPECIAL) >= 50
    site = site_mod.validate(tomli.loads(GOOD))
    assert site.cluster.vip == "192.0.2.100" and [n.name for n in site.nodes] == ["ha1", "ha2"]


@pytest.mark.parametrize("name,text,words", CASES, ids=[c[0] for c in CASES])
def test_bad_site_file_in_process(tmp_path, name, text, words):
    """Fast layer: the same loader configure uses; only OnsiteError, with the key named."""
    path = _write(tmp_path, name, text)
    with pytest.raises(OnsiteError) as info:
        data = site_mod.load_file(path)
        site_mod.check_file_mode(path, data)
        site_mod.validate(data, path)
    rendered = info.value.render()
    for word in words:
        assert word in rendered, rendered
    assert info.value.exit_code == errors.BAD_INPUT


@pytest.mark.lab
def test_every_bad_site_file_is_refused_by_the_cli_and_changes_nothing(lab, tmp_path):
    """configure (which would change the node) and preflight, for every bad file, on a lab
    node: exit 2, the key named on stderr, no traceback, nothing on stdout from configure, and
    the node unchanged at the end."""
    before = node_state(lab, "ha1")
    cases = [(n, t, 0o600, w) for n, t, w in CASES] + SPECIAL
    cases.append(("not-found", None, None, ["site file", "not found", "--site"]))
    runs = []
    for index, (name, text, mode, words) in enumerate(cases):
        path = _write(tmp_path, name, text, mode) if text is not None else str(tmp_path / "missing.toml")
        runs.append((name, "configure", path, words))
        if index % 4 == 0:            # preflight shares the loader: a sample keeps the suite short
            runs.append((name, "preflight", path, words))

    def one(run):
        name, command, path, words = run
        for _ in range(100):
            out = lab.exec_python_onsite("ha1", [command, "--site", path], timeout=60)
            # configure holds the one-installer lock: another configure of this pool may have it
            if "[lock-held]" not in out.stderr:
                break
            time.sleep(0.05)
        problems = []
        if out.returncode != errors.BAD_INPUT:
            problems.append("exit %d" % out.returncode)
        if "Traceback" in out.stderr or "Traceback" in out.stdout:
            problems.append("traceback")
        if not out.stderr.startswith("error: "):
            problems.append("stderr does not start with 'error: '")
        problems += ["missing %r" % w for w in words if w not in out.stderr]
        if command == "configure" and out.stdout:
            problems.append("configure printed %r" % out.stdout[:200])
        if problems:
            return "%s/%s: %s\n%s" % (name, command, ", ".join(problems), out.stdout + out.stderr)
        return None

    with ThreadPoolExecutor(max_workers=3) as pool:
        failures = [f for f in pool.map(one, runs) if f]
    assert not failures, "\n".join(failures)
    assert node_state(lab, "ha1") == before


# --- hypothesis: random structures through validate() ---------------------------------------

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10 ** 6, 10 ** 6),
                    st.floats(allow_nan=True, allow_infinity=True),
                    st.text(string.printable, max_size=30),
                    st.sampled_from(["192.0.2.100/24", "192.0.2.11", "eth0", "itv", "2001:db8::/64", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                      max_leaves=8)
KEYS = ["version", "cluster", "node", "app", "database", "secrets", "vip", "interface", "vrid", "vrrp_version",
        "advert_int", "name", "address", "priority", "port", "health_url", "fall", "rise", "process",
        "schemas", "flavour", "replication_password", "seed_password", "vrrp_password"]


# a bare key (cluster.vip, node[1].name) or a quoted one ("a b"), then ": "
_PART = r'(?:[A-Za-z0-9_-]+(?:\[\d+\])?|"(?:[^"\\]|\\.)*")'
KEY_LINE = re.compile(r"^" + _PART + r"(?:\." + _PART + r")?(?: \(--[\w-]+\))?: ")


def _validate_only_onsite_errors(data):
    try:
        site_mod.validate(data, "fuzz.toml")
    except OnsiteError as exc:
        assert exc.reference == "site-invalid"
        assert exc.context, "an error without problem lines"
        for line in exc.context:                 # each line starts with a key name
            assert KEY_LINE.match(line), line
        exc.render()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), values, max_size=6))
def test_random_structures_only_raise_named_site_errors(data):
    _validate_only_onsite_errors(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["cluster", "app", "database"]), st.sampled_from(KEYS), values)
def test_random_value_in_a_good_file_only_raises_named_site_errors(table, key, value):
    data = tomli.loads(GOOD)
    data.setdefault(table, {})[key] = value
    _validate_only_onsite_errors(data)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 1), st.sampled_from(["name", "address", "priority", "extra"]), values)
def test_random_value_in_a_node_only_raises_named_site_errors(index, key, value):
    data = tomli.loads(GOOD)
    data["node"][index][key] = value
    _validate_only_onsite_errors(data)
