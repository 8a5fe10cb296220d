"""This host's IPv4 addresses and routes, from ``ip`` (read-only)."""

import subprocess

from onsite.host import tools


def ipv4():
    """[(interface, address, prefixlen)] of this host's IPv4 addresses (from `ip -o -4 addr`)."""
    proc = tools.run(["ip", "-o", "-4", "addr", "show"], stderr=subprocess.DEVNULL)
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(proc.returncode, proc.args)
    result = []
    for line in proc.stdout.splitlines():
        fields = line.split()
        if "inet" in fields:
            ifname = fields[1].split("@")[0]
            addr, _, plen = fields[fields.index("inet") + 1].partition("/")
            result.append((ifname, addr, int(plen or 32)))
    return result


def holds(address, addresses=None):
    """True when address is one of this host's addresses."""
    if addresses is None:
        addresses = ipv4()
    return address in [a[1] for a in addresses]


def route_interface(address):
    """The interface this host uses to reach address, or None."""
    try:
        fields = tools.run(["ip", "-o", "-4", "route", "get", address],
                           stderr=subprocess.DEVNULL).stdout.split()
    except OSError:
        return None
    return fields[fields.index("dev") + 1] if "dev" in fields[:-1] else None
