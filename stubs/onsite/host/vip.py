"""Who holds the VIP: the one answer for configure, preflight, verify, status and drill.

Seen from this node: the VIP is one of its addresses (``here``), and anything else that answers
ARP for it is the peer when its MAC is the peer's, else a foreign device.
"""

import collections

from onsite.host import addresses, arp

# here: bool; peer: bool; foreign: [MAC] of devices that are neither node
View = collections.namedtuple("View", "here peer foreign")


def view(vip, interface, peer_address, here=None, count=2, wait=2):
    """A View of the VIP. OnsiteError (arping-missing) when ARP cannot be asked."""
    if here is None:
        here = addresses.holds(vip)
    mine = arp.own_mac(interface)
    macs = [m for m in arp.who_has(interface, vip, count, wait) if m != mine]
    if not macs:
        return View(here, False, [])
    peer_macs = arp.who_has(interface, peer_address, count, wait)
    return View(here, any(m in peer_macs for m in macs), [m for m in macs if m not in peer_macs])


def holder(found):
    """'here', 'peer', 'none' or 'split' for a View."""
    count = int(found.here) + int(found.peer) + len(found.foreign)
    if count > 1 or (found.foreign and not found.here and not found.peer):
        return "split"
    if found.here:
        return "here"
    if found.peer:
        return "peer"
    return "none"


def view_from_route(vip, peer_address, count=1, wait=1):
    """A View when the caller knows no interface (the database status): the interface that
    reaches the peer. None when it cannot be told (no route, no arping)."""
    interface = addresses.route_interface(peer_address)
    if interface is None:
        return None
    try:
        return view(vip, interface, peer_address, count=count, wait=wait)
    except Exception:   # status must print even when arping is missing or fails
        return None
