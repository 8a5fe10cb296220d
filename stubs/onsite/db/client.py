"""Talk to a MySQL/MariaDB server through its own command-line client.

Why the CLI and not a driver: the target has Python 3.6 with the standard library only, and
the client is installed with every server package. Credentials never go on the command line
(other users can read /proc/*/cmdline): they go in a 0600 option file passed with
--defaults-extra-file, and SQL goes on stdin.
"""

import os
import shutil
import subprocess
import tempfile

from onsite.host import programs


class DbError(Exception):
    """The client failed: message is the client's stderr (it never contains the password)."""

    def __init__(self, message, sql_head=""):
        Exception.__init__(self, message)
        self.message = message
        self.sql_head = sql_head


def find_program(names):
    """First of names (e.g. ('mariadb', 'mysql')) found on PATH or in the server dirs."""
    return programs.first(names, programs.SERVER_DIRS)


def _option_value(value):
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


class Connection(object):
    """How to log in: user/password and either a unix socket or host/port."""

    def __init__(self, user="root", password=None, socket=None, host=None, port=None,
                 client=("mariadb", "mysql"), dump=("mariadb-dump", "mysqldump"),
                 connect_timeout=5):
        self.user = user
        self.password = password
        self.socket = socket
        self.host = host
        self.port = port
        self.client_names = tuple(client)
        self.dump_names = tuple(dump)
        self.connect_timeout = connect_timeout

    def describe(self):
        where = self.socket or "{}:{}".format(self.host, self.port or 3306)
        return "{}@{}".format(self.user, where)

    def with_password(self, password):
        other = Connection(self.user, password, self.socket, self.host, self.port,
                           self.client_names, self.dump_names, self.connect_timeout)
        return other

    def _write_options(self):
        lines = ["[client]", "user=" + _option_value(self.user)]
        if self.password is not None:
            lines.append("password=" + _option_value(self.password))
        if self.host:
            lines.append("host=" + _option_value(self.host))
            lines.append("protocol=TCP")
            if self.port:
                lines.append("port={}".format(int(self.port)))
        elif self.socket:
            lines.append("socket=" + _option_value(self.socket))
        # only the interactive client knows connect_timeout ([client] is read by mysqldump too)
        lines += ["[mysql]", "connect_timeout={}".format(int(self.connect_timeout))]
        fd, path = tempfile.mkstemp(prefix="ha-db-", suffix=".cnf")   # mkstemp: mode 0600
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")
        return path

    def _program(self, names):
        prog = find_program(names)
        if prog is None:
            raise DbError("client program not found: " + " or ".join(names))
        return prog

    def run(self, sql, extra_args=(), timeout=120):
        """Run SQL text; return the client's stdout (batch format, tab-separated)."""
        opts = self._write_options()
        try:
            cmd = [self._program(self.client_names), "--defaults-extra-file=" + opts,
                   "--batch"] + list(extra_args)
            proc = subprocess.run(cmd, input=sql, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, universal_newlines=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired:
            raise DbError("no answer from {} within {} s".format(self.describe(), timeout),
                          sql[:80])
        finally:
            os.unlink(opts)
        if proc.returncode != 0:
            raise DbError(proc.stderr.strip() or "client exit {}".format(proc.returncode),
                          sql.strip().splitlines()[0][:80] if sql.strip() else "")
        return proc.stdout

    def execute(self, statements):
        """Run statements (a list) in one session, in order; stops at the first error."""
        self.run("".join(s + ";\n" for s in statements))

    def query(self, sql):
        """Rows of one SELECT/SHOW as dicts (column name -> str or None for NULL)."""
        out = self.run(sql.rstrip().rstrip(";") + ";\n")
        lines = out.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not lines:
            return []
        header = lines[0].split("\t")
        rows = []
        for line in lines[1:]:
            values = [_unescape(v) for v in line.split("\t")]
            rows.append(dict(zip(header, values)))
        return rows

    def value(self, sql):
        """The first column of the first row, or None."""
        out = self.run(sql.rstrip().rstrip(";") + ";\n", extra_args=("--skip-column-names",))
        first = out.split("\n", 1)[0]
        if out == "":
            return None
        return _unescape(first.split("\t")[0])

    def ping(self):
        """True if we can log in."""
        try:
            self.value("SELECT 1")
            return True
        except DbError:
            return False

    def dump_to(self, args, path, timeout=3600):
        """mysqldump args > path (0600); raises DbError on failure and removes the partial file."""
        opts = self._write_options()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as handle:
                proc = subprocess.run([self._program(self.dump_names),
                                       "--defaults-extra-file=" + opts] + list(args),
                                      stdout=handle, stderr=subprocess.PIPE,
                                      universal_newlines=True, timeout=timeout)
        finally:
            os.unlink(opts)
        if proc.returncode != 0:
            os.unlink(path)
            raise DbError(proc.stderr.strip() or "dump exit {}".format(proc.returncode))
        return path

    def load_file(self, path, prefix_sql="", timeout=3600):
        """Feed prefix_sql then the file to the client in one session."""
        opts = self._write_options()
        err_file = tempfile.TemporaryFile(mode="w+")
        try:
            # stderr to a file and stdout discarded: no pipe can fill up while we write
            proc = subprocess.Popen([self._program(self.client_names),
                                     "--defaults-extra-file=" + opts, "--batch"],
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                    stderr=err_file, universal_newlines=True)
            try:
                proc.stdin.write(prefix_sql)
                with open(path) as handle:
                    shutil.copyfileobj(handle, proc.stdin)
                proc.stdin.close()
            except BrokenPipeError:
                pass
            proc.wait(timeout=timeout)
            err_file.seek(0)
            err = err_file.read()
        finally:
            err_file.close()
            os.unlink(opts)
        if proc.returncode != 0:
            raise DbError(err.strip() or "client exit {}".format(proc.returncode))


def _unescape(value):
    if value == "NULL":
        return None
    if "\\" not in value:
        return value
    out = []
    i = 0
    table = {"n": "\n", "t": "\t", "\\": "\\", "0": "\0"}
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            out.append(table.get(value[i + 1], value[i + 1]))
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)
