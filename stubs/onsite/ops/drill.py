"""``drill``: a planned failover test for handover, run on the node that holds the VIP.

Stops keepalived here (it sends a priority-0 advert and drops the VIP; the app and the database
keep running, so no data path is killed), measures the time until the VIP answers from the
peer, checks that replication is healthy both ways and that the peer became writable, then
starts keepalived again: this node rejoins as the standby. The VIP stays on the peer (no second
outage); run drill there to move it back. The result goes to the state journal.
"""

import threading
import time

from onsite.core import messages, state
from onsite.core.errors import BAD_INPUT, REFUSED, OnsiteError
from onsite.db import canary
from onsite.db import pairing as db_pairing
from onsite.db import status as db_status
from onsite.filesync import probe as fs_probe
from onsite.host import addresses, arp, probes, services, vrrp
from onsite.host import vip as host_vip

SERVICE = "keepalived"


def app_target(site, address):
    return probes.app_target(site.app.health_url, site.app.port, address)


def check_ready(site, local):
    """Everything that must hold before the drill; raises (nothing changed) otherwise."""
    vip = site.cluster.vip
    if not addresses.holds(vip):
        seen = host_vip.view(vip, local.interface, local.peer.address, here=False, count=1, wait=1)
        if not seen.peer and not seen.foreign:
            raise OnsiteError("drill-no-holder", {"vip": vip}, exit_code=BAD_INPUT)
        raise OnsiteError("drill-not-holder", {"name": local.me.name, "vip": vip,
                                               "holder": local.peer.name}, exit_code=BAD_INPUT)
    if not services.is_active(SERVICE):
        raise OnsiteError("drill-keepalived-down", exit_code=BAD_INPUT)
    if not probes.probe(app_target(site, local.peer.address), timeout=1.0)[0]:
        raise OnsiteError("drill-peer-app-down", {"address": local.peer.address, "port": site.app.port,
                                                  "peer": local.peer.name}, exit_code=REFUSED)
    found = db_status.logins()
    if found:
        facts, admin = found.facts, found.local
        problems = db_pairing.health(facts, db_pairing.replica_status(facts, admin))
        if problems:
            raise OnsiteError("drill-replication-unhealthy", {"detail": problems[0]}, exit_code=REFUSED)
    return found


def check_files(local):
    """File sync before the hand-over: a canary file written here (the holder) must be on the
    peer, read back from the peer's daemon; seconds it took, or None without file sync."""
    cfg = fs_probe.load_config()
    if cfg is None:
        return None
    ok, seconds, detail = fs_probe.canary(cfg, True, wait=10.0)
    if not ok:
        raise OnsiteError("drill-files-unhealthy", {"peer": local.peer.name, "detail": detail[-200:]},
                          exit_code=REFUSED)
    return seconds


def fail_over(site, local, timeout):
    """Stop keepalived here (in a thread, so the clock runs while it shuts down) and wait until
    the VIP answers from the peer. Returns (outage seconds, released seconds, peer MAC)."""
    vip = site.cluster.vip
    target = app_target(site, vip)
    errors = []

    def stop():
        try:
            services.stop(SERVICE)
        except OnsiteError as exc:
            errors.append(exc)

    started = time.time()
    worker = threading.Thread(target=stop)
    worker.start()
    released = None
    while time.time() - started < timeout:
        if released is None:
            if addresses.holds(vip):
                time.sleep(0.005)
                continue
            released = time.time() - started
        if probes.probe(target, timeout=0.2)[0]:
            outage = time.time() - started
            worker.join(60)
            macs = arp.who_has(local.interface, vip, count=1, wait=1)
            return outage, released, ", ".join(macs) or "?"
        time.sleep(0.01)
    worker.join(60)
    if errors:
        raise errors[0]
    return None, released, None


def check_replication(local, found, timeout):
    """After the switch: the peer writable, this node read-only, both channels healthy, a row
    from here seen on the peer. Returns the canary's travel time."""
    facts, admin, peer = found.facts, found.local, found.peer
    deadline = time.time() + timeout
    while True:
        peer_ro = peer.value("SELECT @@GLOBAL.read_only")
        here_ro = admin.value("SELECT @@GLOBAL.read_only")
        if peer_ro in ("0", "OFF") and here_ro in ("1", "ON"):
            break
        if time.time() > deadline:
            raise OnsiteError("drill-replication-unhealthy", {
                "detail": "read_only is {} on {} and {} on {}".format(
                    peer_ro, local.peer.name, here_ro, local.me.name)}, exit_code=REFUSED)
        time.sleep(0.2)
    problems = db_pairing.wait_healthy(facts, admin, timeout)
    if problems:
        raise OnsiteError("drill-replication-unhealthy", {"detail": problems[0]}, exit_code=REFUSED)
    return canary.roundtrip(facts, admin, peer, local.me.name, local.peer.name, timeout, "drill")


def restore(local, timeout):
    """keepalived back on here; it must settle as BACKUP while the peer keeps the VIP."""
    if not services.is_active(SERVICE):
        services.start(SERVICE)
    deadline = time.time() + timeout
    while vrrp.read_state()[0] != "BACKUP":
        if time.time() > deadline:
            raise OnsiteError("drill-not-restored", {"seconds": timeout, "state": vrrp.read_state()[0] or "unknown"})
        time.sleep(0.1)


def drill(site, local, timeout, say):
    """The whole drill (checks, hand-over, replication, restore); returns the result dict that
    also goes to the state journal. say: callable(str) for progress lines."""
    found = check_ready(site, local)
    files = check_files(local)
    say(messages.text("drill-start", name=local.me.name, vip=site.cluster.vip, peer=local.peer.name))
    state.mark("drill", "started", node=local.me.name)
    result = {"node": local.me.name, "peer": local.peer.name, "vip": site.cluster.vip}
    try:
        outage, released, mac = fail_over(site, local, timeout)
        result["released_seconds"] = None if released is None else round(released, 3)
        if outage is None:
            restore(local, timeout)
            raise OnsiteError("drill-no-takeover", {"peer": local.peer.name, "seconds": timeout})
        result.update(outage_seconds=round(outage, 3), answered_from=mac)
        say(messages.text("drill-outage", seconds=outage, peer=local.peer.name, mac=mac))
        if files is not None:
            result["files_canary_seconds"] = round(files, 3)
            say(messages.text("drill-files-ok", name=local.me.name, peer=local.peer.name, seconds=round(files, 2)))
        if found:
            seconds = check_replication(local, found, 30)
            result["replication"] = "healthy"
            result["canary_seconds"] = round(seconds, 3)
            say(messages.text("drill-repl-ok", peer=local.peer.name, name=local.me.name, seconds=seconds))
        else:
            result["replication"] = "not configured"
            say(messages.text("drill-repl-none"))
        restore(local, timeout)
        result["restored"] = True
    except BaseException:
        if not services.is_active(SERVICE):
            services.start(SERVICE)    # never leave this node without keepalived
        state.mark("drill", "failed", **result)
        raise
    state.mark("drill", "done", **result)
    return result
