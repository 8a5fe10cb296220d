"""Is an address already answering ARP on the LAN? (a VIP must be free before we claim it)

Uses the host's arping. Two flavours exist: iputils (RHEL/CentOS: ``-I iface``, replies as
``Unicast reply from A [MAC]``) and Thomas Habets' (Debian's ``arping`` package: ``-i iface``,
``60 bytes from MAC (A)``); both exit 0 only when something replied.
"""

import re

from onsite.core.errors import BAD_INPUT, OnsiteError
from onsite.host import tools
from onsite.host.programs import which

MAC = re.compile(r"\b([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})\b")


def flavour():
    path = which("arping")
    if path is None:
        raise OnsiteError("arping-missing", exit_code=BAD_INPUT)
    out = tools.run([path, "-V"]).stdout
    if "Habets" in out or "ARPing 2" in out:
        return "habets"
    return "iputils"


def who_has(interface, address, count=2, wait=2):
    """MAC addresses (lower case) that answered ARP for address on interface."""
    kind = flavour()
    if kind == "habets":
        argv = ["arping", "-c", str(count), "-C", "1", "-w", str(wait), "-i", interface, address]
    else:
        argv = ["arping", "-c", str(count), "-w", str(wait), "-I", interface, address]
    out = tools.run(argv).stdout
    macs = []
    for line in out.splitlines():
        if "reply from" in line.lower() or "bytes from" in line.lower():
            for mac in MAC.findall(line):
                if mac.lower() not in macs:
                    macs.append(mac.lower())
    return macs


def own_mac(interface):
    """This host's MAC on interface (lower case), or None."""
    try:
        with open("/sys/class/net/{}/address".format(interface)) as handle:
            return handle.read().strip().lower() or None
    except OSError:
        return None

