"""Who listens on a TCP port, from /proc (no ss/netstat needed; read-only).

/proc/net/tcp{,6} lists listening sockets of this network namespace with their inode; the
owning process is the one with a /proc/PID/fd link to socket:[inode] (root sees them all).
"""

import os

LISTEN = "0A"


def _listening_inodes(port):
    inodes = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as handle:
                lines = handle.read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) < 10 or fields[3] != LISTEN:
                continue
            if int(fields[1].rsplit(":", 1)[1], 16) == port:
                inodes.add(fields[9])
    return inodes


def listeners(port):
    """[(pid, command name)] of processes listening on TCP port; [(None, '?')] when a socket
    listens but its process is not visible (another PID namespace, not root); [] when free."""
    inodes = _listening_inodes(port)
    if not inodes:
        return []
    wanted = set("socket:[{}]".format(i) for i in inodes)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fd_dir = "/proc/{}/fd".format(entry)
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        links = []
        for fd in fds:
            try:
                links.append(os.readlink(os.path.join(fd_dir, fd)))
            except OSError:         # closed meanwhile (e.g. the fd listdir itself used)
                pass
        if wanted.intersection(links):
            try:
                with open("/proc/{}/comm".format(entry)) as handle:
                    comm = handle.read().strip()
            except OSError:
                comm = "?"
            found.append((int(entry), comm))
    return sorted(found) or [(None, "?")]
