"""Is an address already answering ARP on the LAN? (a VIP must be free before we claim it)

Uses the host's arping. Two flavours exist: iputils (RHEL/CentOS: ``-I iface``, replies as
``Unicast reply from A [MAC]``) and Thomas Habets' (Debian's ``arping`` package: ``-i iface``,
``60 bytes from MAC (A)``); both exit 0 only when something replied.
"""

import re
import subprocess

from onsite.core import messages
from onsite.core.errors import OnsiteError
from onsite.host.services import which

MAC = re.compile(r"\b([0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5})\b")

messages.register({
    "arping-missing": {
        "en": ("arping is not installed: cannot check that the VIP is free",
               "install iputils (it provides arping), then run again"),
        "zh_CN": ("未安装 arping: 无法检查 VIP 是否空闲", "请安装 iputils (包含 arping), 然后重新运行"),
    },
})


def flavour():
    path = which("arping")
    if path is None:
        raise OnsiteError("arping-missing", exit_code=2)
    out = subprocess.run([path, "-V"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True).stdout
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
    out = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                         universal_newlines=True).stdout
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


def vip_view(interface, vip, peer_address, here):
    """Who holds the VIP, seen from this node: (here, peer, foreign MACs).

    here: the VIP is one of this host's addresses (the caller knows). Anything else that
    answers ARP for the VIP is the peer when its MAC is the peer's, else a foreign device."""
    mine = own_mac(interface)
    macs = [m for m in who_has(interface, vip) if m != mine]
    if not macs:
        return here, False, []
    peer_macs = who_has(interface, peer_address)
    return here, any(m in peer_macs for m in macs), [m for m in macs if m not in peer_macs]
