"""Real MariaDB servers for tests: one datadir, socket and port per server under a temp dir.

Each server reads <base>/my.cnf, which includes <base>/my.cnf.d/ (standing in for the target's
/etc/my.cnf + /etc/my.cnf.d/), so the drop-in written by onsite.db.server is really used.
Servers listen on 127.0.0.1 only and are stopped by PID.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


class MariaServer:
    def __init__(self, base: Path, name: str, port: int, bind: str = "127.0.0.1"):
        self.base = base / name
        self.name = name
        self.port = port
        self.bind = bind
        self.datadir = self.base / "data"
        self.cnf_dir = self.base / "my.cnf.d"
        self.socket = str(self.base / "mysqld.sock")
        self.pidfile = self.base / "mysqld.pid"
        self.errlog = self.base / "error.log"
        self.proc: subprocess.Popen | None = None

    def install(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        self.cnf_dir.mkdir(exist_ok=True)
        (self.base / "my.cnf").write_text(
            "[mysqld]\n"
            f"datadir = {self.datadir}\n"
            f"socket = {self.socket}\n"
            f"pid-file = {self.pidfile}\n"
            f"log-error = {self.errlog}\n"
            f"bind-address = {self.bind}\n"
            f"port = {self.port}\n"
            "user = root\n"
            "skip-name-resolve\n"
            "innodb_buffer_pool_size = 16M\n"
            "innodb_log_file_size = 8M\n"
            "performance_schema = OFF\n"
            f"!includedir {self.cnf_dir}\n")
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={self.datadir}",
                        "--user=root", "--auth-root-authentication-method=socket",
                        "--skip-test-db"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)

    def start(self, timeout: float = 30) -> None:
        self.proc = subprocess.Popen(["mariadbd", f"--defaults-file={self.base / 'my.cnf'}"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd {self.name} exited: {self.errlog.read_text()[-2000:]}")
            if os.path.exists(self.socket):
                out = subprocess.run(["mariadb-admin", f"--socket={self.socket}", "-uroot", "ping"],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                if out.returncode == 0 or b"Access denied" in out.stdout:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"mariadbd {self.name} did not start")

    def stop(self, timeout: float = 30) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def sql(self, text: str, user: str = "root", password: str | None = None,
            database: str | None = None) -> str:
        """Run SQL as OS root through the socket (unix_socket auth); tab-separated rows."""
        cmd = ["mariadb", "--no-defaults", f"--socket={self.socket}", f"-u{user}", "-N", "-B"]
        if password is not None:
            cmd.append(f"-p{password}")
        if database:
            cmd.append(database)
        out = subprocess.run(cmd, input=text, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        if out.returncode != 0:
            raise RuntimeError(out.stderr)
        return out.stdout
