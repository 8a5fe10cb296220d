"""The lab: two HA nodes and a client as Linux namespaces on one bridge, with real daemons.

Layout (see docs/lab.md):
- a bridge netns ``hb-lab-<id>-br`` holding bridge ``br0``; each node/client has a veth whose
  inside end is called ``eth0``; addresses from 192.0.2.0/24 (TEST-NET-1).
- each node (ha1, ha2) has its own network, mount, UTS and PID namespace. Its PID 1 is
  tests/lab/nodeinit.py; killing that one PID kills every process of the node (the kernel
  tears down a PID namespace with its init), so teardown never kills by name.
- node-private directories are bind mounts of ``<base>/<node>/fs/<path>`` (e.g. /etc/keepalived,
  /run, /var/log, /var/lib/mysql): private like a tmpfs, but readable from the host for
  assertions and debugging (``lab.path(node, "/etc/keepalived/keepalived.conf")``).
- the client is a plain netns (no private mounts), used to reach the VIP like a user would.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterable, Sequence

LAB_DIR = Path(__file__).resolve().parent
REPO_ROOT = LAB_DIR.parent.parent
STUBS = REPO_ROOT / "stubs"
SHIM_BIN = LAB_DIR / "bin"
HOST_PY = "/usr/bin/python3"
# absolute: a test may give a node command a PATH without them
IP = shutil.which("ip") or "/usr/sbin/ip"
NSENTER = shutil.which("nsenter") or "/usr/bin/nsenter"  # Debian's python for lab helpers (app, shim, nodeinit)
KEEPALIVED_2020 = "/work/shared/keepalived-2.0.20/keepalived"

SUBNET = "192.0.2.0/24"
PREFIX = 24
DEFAULT_NODES = {"ha1": "192.0.2.11", "ha2": "192.0.2.12"}
CLIENT_ADDR = "192.0.2.50"
APP_PORT = 8081
NODE_PATH = ":".join([str(SHIM_BIN), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin",
                      "/usr/bin", "/sbin", "/bin"])

# node-private directories (bind mounts of <base>/<node>/fs/<dir>); /run first: later ones
# may live below it
PRIVATE_DIRS = ("/run", "/var/log", "/etc/keepalived", "/etc/firewalld", "/var/lib/ha-installer",
                "/etc/ha-installer", "/var/lib/mysql", "/etc/my.cnf.d", "/etc/mysql",
                "/var/lib/firewalld", "/etc/nftables", "/etc/sysconfig")
# copy-on-write node views of host directories (overlayfs, changes under <base>/<node>/ovl):
# what install changes there (a system user in /etc/passwd, a unit in /etc/systemd/system,
# app releases in /opt, app data in /var/lib, helpers in /usr/libexec) stays in the node
OVERLAY_DIRS = ("/etc", "/opt", "/var/lib", "/usr/libexec")
# RHEL-like MariaDB layout inside each node: /etc/my.cnf.d is what onsite writes to
NODE_MY_CNF = """# lab node: RHEL-like layout, onsite writes its settings to /etc/my.cnf.d
[client-server]
socket = /run/mysqld/mysqld.sock

[mysqld]
datadir = /var/lib/mysql
pid-file = /run/mysqld/mysqld.pid
log-error = /var/log/mariadb/mariadb.log
bind-address = 0.0.0.0
# /tmp is shared with the host and both nodes' mariadbd have the same PID in their own PID
# namespace, so their '#sql-temptable-<pid>-...' files collided there (install-db aborted)
tmpdir = /run/mysqld

!includedir /etc/my.cnf.d
"""


class LabError(RuntimeError):
    pass


def sh(argv: Sequence[str], check: bool = True, timeout: float = 60, input: str | None = None,
       env: dict | None = None) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(argv), input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise LabError("command failed (%d): %s\nstdout: %s\nstderr: %s"
                       % (proc.returncode, " ".join(argv), proc.stdout, proc.stderr))
    return proc


def _alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Lab:
    """One lab instance. ``Lab(...).up()``; always ``down()`` (the pytest fixture does)."""

    def __init__(self, lab_id: str | None = None, nodes: dict[str, str] | None = None,
                 keepalived: str | None = None, firewalld: bool = True,
                 systemd: bool = True, base: str | None = None):
        """keepalived: None = Debian's /usr/sbin/keepalived, "2.0.20" or a path = that binary
        bind-mounted over /usr/sbin/keepalived inside the nodes (what the target runs).
        firewalld: start real firewalld (private dbus) in every node at up().
        systemd: create /run/systemd/system in nodes so onsite picks systemctl (the shim);
        False makes onsite fall back to SysV service/chkconfig (also shimmed)."""
        self.id = lab_id or str(os.getpid())
        self.prefix = "hb-lab-%s" % self.id
        self.nodes = dict(nodes or DEFAULT_NODES)
        if keepalived == "2.0.20":
            keepalived = KEEPALIVED_2020
        self.keepalived = keepalived
        self.firewalld = firewalld
        self.systemd = systemd
        self.base = Path(base or "/tmp/%s" % self.prefix)
        self.init_pids: dict[str, int] = {}
        self._procs: dict[str, subprocess.Popen] = {}
        self.is_up = False

    # --- names ---------------------------------------------------------------------------
    def netns(self, name: str) -> str:
        """Network namespace name of a node, "client" or "br"."""
        return "%s-%s" % (self.prefix, name)

    def port_name(self, name: str) -> str:
        """Bridge-side veth of a node (15-char limit: ids are shortened)."""
        return ("v%s-%s" % (self.id[-6:], name))[:15]

    def addr(self, node: str) -> str:
        return CLIENT_ADDR if node == "client" else self.nodes[node]

    def path(self, node: str, inside: str) -> Path:
        """Host path of a node-private file, e.g. path("ha1", "/etc/keepalived/keepalived.conf")."""
        for d in sorted(PRIVATE_DIRS, key=len, reverse=True):
            if inside == d or inside.startswith(d + "/"):
                return self.base / node / "fs" / inside.lstrip("/")
        raise LabError("%s is not node-private (private: %s)" % (inside, ", ".join(PRIVATE_DIRS)))

    def read(self, node: str, inside: str) -> str:
        """A file as the node sees it (works for the copy-on-write directories too)."""
        return self.run(node, ["cat", inside]).stdout

    # --- lifecycle -----------------------------------------------------------------------
    def up(self) -> "Lab":
        if self.base.exists():
            shutil.rmtree(self.base)
        self.base.mkdir(parents=True)
        self._save_state()
        try:
            self._make_network()
            for node in self.nodes:
                self._start_node(node)
            self.is_up = True
            self._save_state()
            if self.firewalld:
                for node in self.nodes:
                    self.run(node, ["systemctl", "start", "firewalld"], timeout=60)
        except BaseException:
            self.down()
            raise
        return self

    def _make_network(self) -> None:
        br = self.netns("br")
        for name in ["br", "client"] + list(self.nodes):
            sh(["ip", "netns", "add", self.netns(name)])
        sh(["ip", "-n", br, "link", "set", "lo", "up"])
        sh(["ip", "-n", br, "link", "add", "br0", "type", "bridge", "forward_delay", "0",
            "mcast_snooping", "0"])
        sh(["ip", "-n", br, "link", "set", "br0", "up"])
        for name in ["client"] + list(self.nodes):
            ns = self.netns(name)
            port = self.port_name(name)
            sh(["ip", "-n", br, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                "netns", ns])
            sh(["ip", "-n", br, "link", "set", port, "master", "br0", "up"])
            sh(["ip", "-n", ns, "link", "set", "lo", "up"])
            sh(["ip", "-n", ns, "addr", "add", "%s/%d" % (self.addr(name), PREFIX), "dev", "eth0"])
            sh(["ip", "-n", ns, "link", "set", "eth0", "up"])

    def _start_node(self, node: str) -> None:
        root = self.base / node / "fs"
        binds = []
        for d in PRIVATE_DIRS:
            src = root / d.lstrip("/")
            src.mkdir(parents=True, exist_ok=True)
            binds.append([str(src), d])
        shutil.copytree("/etc/firewalld", root / "etc/firewalld", dirs_exist_ok=True)
        file_binds = []
        if self.keepalived:
            file_binds.append([self.keepalived, "/usr/sbin/keepalived"])
        dirs = [["/run/mysqld", "mysql", "755"], ["/var/lib/mysql", "mysql", "755"],
                ["/var/log/mariadb", "mysql", "750"],
                ["/run/hb-lab", "root", "755"], ["/run/dbus", "root", "755"],
                ["/var/log/firewalld", "root", "755"], ["/run/tmp", "root", "1777"]]
        if self.systemd:
            dirs.append(["/run/systemd/system", "root", "755"])
        overlays = [[d, str(self.base / node / "ovl" / d.strip("/").replace("/", "_") / "upper"),
                     str(self.base / node / "ovl" / d.strip("/").replace("/", "_") / "work")]
                    for d in OVERLAY_DIRS]
        spec = {"hostname": node, "overlays": overlays, "binds": binds, "file_binds": file_binds, "owned_dirs": dirs,
                "files": {"/etc/mysql/my.cnf": NODE_MY_CNF},
                "ready": str(self.base / node / "ready")}
        spec_path = self.base / node / "spec.json"
        spec_path.write_text(json.dumps(spec, indent=1))
        log = open(self.base / node / "init.log", "ab")
        proc = subprocess.Popen(
            ["ip", "netns", "exec", self.netns(node), "unshare", "--mount", "--propagation",
             "private", "--pid", "--fork", "--mount-proc", "--uts", HOST_PY,
             str(LAB_DIR / "nodeinit.py"), "--spec", str(spec_path)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
        self._procs[node] = proc
        ready = self.base / node / "ready"
        end = time.monotonic() + 20
        while not ready.exists():
            if proc.poll() is not None or time.monotonic() > end:
                raise LabError("node %s did not start: %s" % (node, (self.base / node / "init.log").read_text()))
            time.sleep(0.05)
        # host pid of the node's PID 1: the only child of the unshare process
        children = Path("/proc/%d/task/%d/children" % (proc.pid, proc.pid)).read_text().split()
        if len(children) != 1:
            raise LabError("node %s: cannot find its init (children of unshare: %s)" % (node, children))
        self.init_pids[node] = int(children[0])
        self._save_state()

    def down(self) -> None:
        """Kill the nodes' PID 1s (the kernel then kills everything inside), delete namespaces."""
        for node, pid in list(self.init_pids.items()):
            if _alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        for node, proc in list(self._procs.items()):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        for pid in self.init_pids.values():
            end = time.monotonic() + 20
            while _alive(pid) and time.monotonic() < end:
                time.sleep(0.05)
        for name in list(self.nodes) + ["client", "br"]:
            if os.path.exists("/run/netns/" + self.netns(name)):
                sh(["ip", "netns", "del", self.netns(name)], check=False)
        self.init_pids.clear()
        self._procs.clear()
        self.is_up = False
        if self.base.exists():
            shutil.rmtree(self.base, ignore_errors=True)

    def _save_state(self) -> None:
        state = {"id": self.id, "owner_pid": os.getpid(), "nodes": self.nodes, "init_pids": self.init_pids,
                 "keepalived": self.keepalived, "base": str(self.base)}
        (self.base / "lab.json").write_text(json.dumps(state, indent=1))

    @classmethod
    def attach(cls, base: str) -> "Lab":
        """Re-open a lab started by another process (the CLI), from <base>/lab.json."""
        state = json.loads((Path(base) / "lab.json").read_text())
        lab = cls(lab_id=state["id"], nodes=state["nodes"], keepalived=state["keepalived"],
                  base=state["base"])
        lab.init_pids = {k: int(v) for k, v in state["init_pids"].items()}
        lab.owner_pid = state.get("owner_pid")
        lab.is_up = True
        return lab

    # --- running things inside ---------------------------------------------------------------
    def node_argv(self, node: str, argv: Sequence[str], cwd: str | None = None) -> list[str]:
        """The host argv that runs argv inside node (or the client netns)."""
        if node == "client" or node not in self.init_pids:
            if node not in ("client",) and node not in self.nodes:
                raise LabError("no such lab node: %s" % node)
            return [IP, "netns", "exec", self.netns(node)] + list(argv)
        return [NSENTER, "-t", str(self.init_pids[node]), "-n", "-m", "-p", "-u",
                "--wd=" + (cwd or str(REPO_ROOT)), "--"] + list(argv)

    def node_env(self, extra: dict | None = None) -> dict:
        # TMPDIR: /tmp is shared with the host and the other nodes (so pytest's tmp_path works
        # inside); programs that honour TMPDIR get a node-private one instead
        env = {"PATH": NODE_PATH, "LANG": "C.UTF-8", "HOME": "/root", "TMPDIR": "/run/tmp",
               "TERM": os.environ.get("TERM", "dumb")}
        env.update(extra or {})
        return env

    def run(self, node: str, argv: Sequence[str], check: bool = True, timeout: float = 60,
            input: str | None = None, env: dict | None = None, cwd: str | None = None
            ) -> subprocess.CompletedProcess:
        """Run argv inside node ("ha1", "ha2" or "client"); text output; raises LabError on
        non-zero exit when check is true."""
        return sh(self.node_argv(node, argv, cwd), check=check, timeout=timeout, input=input,
                  env=self.node_env(env))

    def exec_python_onsite(self, node: str, args: Sequence[str], check: bool = False,
                           timeout: float = 120, input: str | None = None, env: dict | None = None,
                           python: str | None = None) -> subprocess.CompletedProcess:
        """``python3.6 -m onsite ARGS`` inside node, from the source tree (stubs/)."""
        if python is None:
            from tests.conftest import find_python36
            python = find_python36()
            if python is None:
                raise LabError("no Python 3.6 found (set HA_BUNDLE_PY36)")
        extra = {"PYTHONPATH": str(STUBS), "PYTHONDONTWRITEBYTECODE": "1"}
        extra.update(env or {})
        return self.run(node, [python, "-m", "onsite"] + list(args), check=check, timeout=timeout,
                        input=input, env=extra)

    # --- the app ---------------------------------------------------------------------------
    def start_app(self, node: str, port: int = APP_PORT) -> None:
        """Start the HTTP app (answers 200 with the node's name) on port; returns once listening.
        Any port works, e.g. 3306 as a stand-in listener for firewall tests."""
        ready = self.path(node, "/run/hb-lab/app-%d.ready" % port)
        if ready.exists():
            ready.unlink()
        self.run(node, ["sh", "-c", "%s %s --name %s --port %d --ready /run/hb-lab/app-%d.ready "
                        ">>/var/log/hb-lab-app.log 2>&1 & echo $! >/run/hb-lab/app-%d.pid"
                        % (HOST_PY, LAB_DIR / "app.py", node, port, port, port)])
        end = time.monotonic() + 10
        while not ready.exists():
            if time.monotonic() > end:
                raise LabError("app on %s did not start: %s" % (node, self.log(node, "hb-lab-app.log")))
            time.sleep(0.02)

    def kill_app(self, node: str, port: int = APP_PORT) -> None:
        """SIGKILL the app (a crash, not a clean stop)."""
        self.run(node, ["sh", "-c", "kill -9 $(cat /run/hb-lab/app-%d.pid) && rm -f /run/hb-lab/app-%d.ready"
                        % (port, port)])

    def app_running(self, node: str, port: int = APP_PORT) -> bool:
        return self.run(node, ["sh", "-c", "kill -0 $(cat /run/hb-lab/app-%d.pid)" % port],
                        check=False).returncode == 0

    # --- observing -----------------------------------------------------------------------
    def addresses(self, node: str) -> list[str]:
        out = sh(["ip", "-n", self.netns(node), "-o", "-4", "addr", "show", "dev", "eth0"]).stdout
        return [line.split()[3] for line in out.splitlines() if " inet " in line]

    def vip_holders(self, vip: str) -> list[str]:
        """Nodes that currently have vip (bare address, no prefix) on eth0."""
        return [n for n in self.nodes if any(a.split("/")[0] == vip for a in self.addresses(n))]

    def vip_holder(self, vip: str) -> str | None:
        """The one node holding vip; None if nobody; LabError if several (split brain)."""
        holders = self.vip_holders(vip)
        if len(holders) > 1:
            raise LabError("split brain: %s all hold %s" % (holders, vip))
        return holders[0] if holders else None

    def wait_for(self, predicate, timeout: float = 15, interval: float = 0.05, what: str = "condition"):
        """Poll predicate() until it returns a truthy value; returns it; LabError on timeout."""
        end = time.monotonic() + timeout
        last = None
        while time.monotonic() < end:
            try:
                last = predicate()
            except LabError as exc:
                last = exc
            else:
                if last:
                    return last
            time.sleep(interval)
        raise LabError("timed out after %ss waiting for %s (last: %r)" % (timeout, what, last))

    def wait_single_holder(self, vip: str, timeout: float = 20, not_node: str | None = None) -> str:
        def one():
            holders = self.vip_holders(vip)
            if len(holders) == 1 and holders[0] != not_node:
                return holders[0]
            return None
        return self.wait_for(one, timeout, what="exactly one holder of %s%s" % (vip, " other than %s" % not_node if not_node else ""))

    def http_get(self, url: str, node: str = "client", timeout: float = 1.0) -> tuple[int, str]:
        """(HTTP status, body) of url fetched from node (default: the client); (0, error) if
        no answer."""
        proc = self.run(node, ["curl", "-s", "-m", str(timeout), "-w", "\n%{http_code}", url],
                        check=False, timeout=timeout + 10)
        body, _, code = proc.stdout.rpartition("\n")
        try:
            return int(code), body.strip()
        except ValueError:
            return 0, proc.stderr

    def log(self, node: str, name: str) -> str:
        """A node's log under /var/log, e.g. log("ha1", "hb-lab-keepalived.log")."""
        path = self.path(node, "/var/log/" + name)
        return path.read_text(errors="replace") if path.exists() else ""

    # --- breaking the network (rules live in the bridge netns, never in the nodes) -----------
    def _bridge_nft(self, script: str) -> None:
        sh(["ip", "netns", "exec", self.netns("br"), "nft", "-f", "-"], input=script)

    def _set_bridge_rules(self, name: str, rules: Iterable[str]) -> None:
        self._clear_bridge_rules(name)
        body = "\n".join("    " + r for r in rules)
        self._bridge_nft("table bridge hb_lab_%s {\n  chain filter_fwd {\n    type filter hook forward priority 0;\n%s\n  }\n}\n" % (name, body))

    def _clear_bridge_rules(self, name: str) -> None:
        sh(["ip", "netns", "exec", self.netns("br"), "nft", "delete", "table", "bridge",
            "hb_lab_" + name], check=False)

    def _between_nodes(self, match: str) -> list[str]:
        ports = [self.port_name(n) for n in self.nodes]
        return ['iifname "%s" oifname "%s" %s drop' % (a, b, match)
                for a in ports for b in ports if a != b]

    def block_vrrp(self) -> None:
        """Drop VRRP (IP protocol 112) between the nodes, as the old site's firewall did."""
        self._set_bridge_rules("vrrp", self._between_nodes("ip protocol 112"))

    def unblock_vrrp(self) -> None:
        self._clear_bridge_rules("vrrp")

    def block_tcp(self, port: int) -> None:
        """Drop TCP to one port between the nodes (e.g. the database: the peer unreachable
        for verify and status while VRRP still flows)."""
        self._set_bridge_rules("tcp%d" % port, self._between_nodes("tcp dport %d" % port))

    def unblock_tcp(self, port: int) -> None:
        self._clear_bridge_rules("tcp%d" % port)

    def partition(self) -> None:
        """Drop all traffic (ARP too) between the nodes; the client still sees both."""
        self._set_bridge_rules("partition", self._between_nodes(""))

    def heal(self) -> None:
        self._clear_bridge_rules("partition")

    def link_down(self, node: str) -> None:
        """Pull the node's cable: its eth0 loses carrier."""
        sh(["ip", "-n", self.netns("br"), "link", "set", self.port_name(node), "down"])

    def link_up(self, node: str) -> None:
        sh(["ip", "-n", self.netns("br"), "link", "set", self.port_name(node), "up"])

    def __enter__(self) -> "Lab":
        return self.up()

    def __exit__(self, *exc) -> None:
        self.down()
