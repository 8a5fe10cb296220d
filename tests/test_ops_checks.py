"""Fast tests of the field-operation pieces that the lab cannot reach: SELinux (the lab host has
none), conflicting RPMs (the lab has no el7 rpm database), existing data, the result table,
/proc port owners, and collect's masking and leak check.

Each check gets a real directory tree or a real listening socket, never a patched function.
"""

import os
import socket
import tarfile

from onsite.core import checks
from onsite.ops import collect as cmd_collect
from onsite.ops import preflight as cmd_preflight
from onsite.core import messages
from onsite.host import ports
from onsite.core.checks import FAIL, PASS, WARN


def ctx(tmp_path, **extra):
    base = {"datadir": str(tmp_path / "mysql"), "selinuxfs": str(tmp_path / "selinux")}
    base.update(extra)
    return cmd_preflight.make_context(**base)


def selinuxfs(tmp_path, enforce, connect_any=None):
    fs = tmp_path / "selinux"
    (fs / "booleans").mkdir(parents=True)
    (fs / "enforce").write_text(enforce)
    if connect_any is not None:
        (fs / "booleans" / "keepalived_connect_any").write_text("%s %s" % (connect_any, connect_any))
    return fs


def test_selinux_absent_is_reported_as_not_present(tmp_path):
    [r] = cmd_preflight.check_selinux(ctx(tmp_path))
    assert r.status == PASS and r.text == "SELinux: not present on this host"


def test_selinux_enforcing_with_the_keepalived_boolean_off_fails_with_the_command(tmp_path):
    selinuxfs(tmp_path, "1", connect_any=0)
    [r] = cmd_preflight.check_selinux(ctx(tmp_path))
    assert r.status == FAIL
    assert "SELinux enforcing: boolean keepalived_connect_any is off" in r.text
    assert r.fix == "run: setsebool -P keepalived_connect_any on"


def test_selinux_permissive_only_warns_and_enforcing_with_boolean_on_passes(tmp_path):
    selinuxfs(tmp_path, "0", connect_any=0)
    [r] = cmd_preflight.check_selinux(ctx(tmp_path))
    assert r.status == WARN and "SELinux permissive" in r.text
    other = tmp_path / "b"
    other.mkdir()
    selinuxfs(other, "1", connect_any=1)
    [r] = cmd_preflight.check_selinux(ctx(other))
    assert r.status == PASS and r.text == "SELinux: enforcing, keepalived_connect_any on"


def lock(*names):
    return {"target": {}, "packages": [{"name": n, "filename": n + ".rpm", "arch": "x86_64"} for n in names]}


def installed(*names):
    return lambda: dict(((n, "x86_64"), [("0", "1", "1")]) for n in names)


def test_mysql_bundle_on_a_mariadb_server_host_fails(tmp_path):
    r = cmd_preflight.check_conflicts(ctx(tmp_path, lock=lock("mysql-community-server", "mysql-community-libs"),
                                          installed=installed("mariadb-server", "mariadb-libs")))
    assert r.status == FAIL
    assert r.text == ("mariadb-server is installed, but the bundle brings mysql-community-server: "
                      "they cannot be installed together")
    assert "rpm -e mariadb-server" in r.fix


def test_mysql_bundle_over_mariadb_libs_warns_about_libs_compat_unless_bundled(tmp_path):
    r = cmd_preflight.check_conflicts(ctx(tmp_path, lock=lock("mysql-community-server"),
                                          installed=installed("mariadb-libs", "postfix")))
    assert r.status == WARN and "mysql-community-libs replaces it" in r.text
    assert "mysql-community-libs-compat" in r.fix
    r = cmd_preflight.check_conflicts(ctx(tmp_path, lock=lock("mysql-community-server", "mysql-community-libs-compat"),
                                          installed=installed("mariadb-libs")))
    assert r.status == PASS and "(with mysql-community-libs-compat)" in r.text


def test_mariadb_bundle_on_a_mysql_host_fails_and_a_clean_host_passes(tmp_path):
    r = cmd_preflight.check_conflicts(ctx(tmp_path, lock=lock("mariadb-server"),
                                          installed=installed("mysql-community-server")))
    assert r.status == FAIL and r.text.startswith("mysql-community-server is installed")
    r = cmd_preflight.check_conflicts(ctx(tmp_path, lock=lock("mariadb-server"), installed=installed("bash")))
    assert r.status == PASS and r.text == "no conflicting database packages installed (mariadb bundle)"


def test_existing_data_is_reported_and_counted_in_the_space_needed(tmp_path):
    datadir = tmp_path / "mysql"
    for schema in ("mysql", "performance_schema", "itv", "ha_bundle"):
        (datadir / schema).mkdir(parents=True)
    (datadir / "itv" / "device.ibd").write_bytes(b"\0" * (3 << 20))
    (datadir / "ibdata1").write_bytes(b"\0" * 10)
    r = cmd_preflight.check_existing_data(ctx(tmp_path))
    assert r.status == WARN
    assert r.text.startswith("existing database data in %s: itv (3 MiB); it is kept" % datadir)
    assert "never overwrites it without --seed-from" in r.text
    r = cmd_preflight.check_db_space(ctx(tmp_path))
    assert "(need 1027 MiB)" in r.text
    empty = tmp_path / "empty"
    (empty / "mysql").mkdir(parents=True)
    r = cmd_preflight.check_existing_data(ctx(empty))
    assert r.status == PASS and "no existing application data" in r.text


def test_ports_names_the_listening_process():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    try:
        port = sock.getsockname()[1]
        owners = ports.listeners(port)
        assert (os.getpid(), open("/proc/self/comm").read().strip()) in owners
    finally:
        sock.close()
    assert ports.listeners(port) == []


def test_table_shows_fix_under_each_failure_and_aligns_chinese(monkeypatch):
    results = [checks.result("root", PASS, "running as root"),
               checks.result("vip-free", FAIL, "the VIP is used\n  by 1.2.3.4", "choose another")]
    table = checks.render_table(results).splitlines()
    assert table[0].split() == ["status", "check", "result"]
    assert table[1].startswith("PASS    root      ")
    assert table[2].startswith("FAIL    vip-free  the VIP is used")
    assert table[3] == " " * 18 + "  by 1.2.3.4"
    assert table[4] == " " * 18 + "-> fix: choose another"
    monkeypatch.setattr(messages, "current_lang", lambda environ=None: "zh_CN")
    zh = checks.render_table(results).splitlines()
    assert zh[1].startswith("通过  root")        # two CJK characters fill the 4-column status
    assert zh[4].endswith("-> 处理: choose another")


def test_collect_masks_assignments_and_known_values_and_detects_a_leak(tmp_path):
    text = ('password="Sup3rSecretValue"\n  auth_pass "vrrp1234"\nuser=root\n'
            "ps: mysql -pSup3rSecretValue -e select\nPassed checks\n")
    masked = cmd_collect.mask(text, ["Sup3rSecretValue", "vrrp1234"])
    assert "Sup3rSecretValue" not in masked and "vrrp1234" not in masked
    assert "password=***MASKED***" in masked and "user=root" in masked and "Passed checks" in masked
    path = str(tmp_path / "a.tar.gz")
    cmd_collect.write_archive(path, [("x.txt", text), ("y.txt", "token: abc\nnothing")], ["Sup3rSecretValue", "vrrp1234"])
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert cmd_collect.find_leak(path, ["Sup3rSecretValue", "vrrp1234"]) is None
    # a value collect did not know about is caught by the read-back check
    assert cmd_collect.find_leak(path, ["nothing"]).endswith("/y.txt")
    with tarfile.open(path) as tar:
        names = [m.name.split("/", 1)[1] for m in tar.getmembers()]
    assert names == ["x.txt", "y.txt"]


def test_every_new_module_is_python36_clean(py36):
    import subprocess
    from tests.conftest import STUBS
    code = ("import onsite.ops.preflight, onsite.ops.verify, onsite.ops.status, onsite.ops.collect, "
            "onsite.core.checks, onsite.host.ports; print('ok')")
    out = subprocess.run([py36, "-c", code], env=dict(os.environ, PYTHONPATH=str(STUBS)),
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.stdout.strip() == "ok", out.stdout
    out = subprocess.run(["vermin", "-q", "--no-tips", "--violations", "-t=3.6-", str(STUBS / "onsite")],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert out.returncode == 0 and out.stdout.strip() == "", out.stdout



def _dated_server(offset):
    """An HTTP server on 127.0.0.1 whose Date header is offset seconds off (a peer app with a
    wrong clock)."""
    import http.server
    import threading
    from email.utils import formatdate
    import time

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response_only(200)
            self.send_header("Date", formatdate(time.time() + offset, usegmt=True))
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *_):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _skew_ctx(port):
    from onsite.site import sitefile as site_mod
    site = site_mod.validate({"cluster": {"vip": "127.0.0.100/8"}, "app": {"port": port},
                              "node": [{"name": "ha1", "address": "127.0.0.2"}, {"name": "ha2", "address": "127.0.0.1"}]})
    return cmd_preflight.make_context(site=site, local=site_mod.Local(site.nodes[0], site.nodes[1], "lo"))


def test_clock_skew_from_the_peers_http_date_when_clockdiff_is_missing(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")          # no clockdiff: the HTTP fallback
    for offset, status in ((300, FAIL), (-8, WARN), (0, PASS)):
        server = _dated_server(offset)
        try:
            r = cmd_preflight.check_time(_skew_ctx(server.server_address[1]))
        finally:
            server.shutdown()
            server.server_close()
        assert r.status == status, r
        assert r.text.startswith("clock difference with ha2: ")
        measured = float(r.text.split(": ")[1].split(" s ")[0])
        assert abs(measured - offset) <= 1.1, r.text        # the Date header has 1 s steps
        assert r.text.endswith("(HTTP Date of the peer's app)")
        if status != PASS:
            assert "chronyc makestep" in r.fix


def test_clock_skew_unmeasurable_is_a_warning_that_says_why(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()                                          # nothing listens there
    r = cmd_preflight.check_time(_skew_ctx(port))
    assert r.status == WARN
    assert r.text.startswith("cannot measure the clock difference with ha2: no clockdiff; HTTP 127.0.0.1:%d" % port)
    assert "compare 'date -u' on both nodes" in r.fix
