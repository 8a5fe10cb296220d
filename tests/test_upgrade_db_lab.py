"""Rolling upgrade when the update changes the database server (issue 16, item 3).

A newer MySQL must not be the replication source of an older one, so with a database change
the procedure has a step 0: upgrade on the VIP holder pauses its replica channel from the
standby; the standby then upgrades; the holder's own upgrade resumes the channel once both
run the same version. A major version change (5.7 -> 8.0) is refused on either node with
nothing changed. (The lab's server is Debian's MariaDB; the fixture RPMs carry the version
the installer reasons about, as they would on a site.)
"""

from __future__ import annotations

import pytest

from tests.lab.fixtures import lab  # noqa: F401 (fixture)
from tests.ops_helpers import VIP
from tests.upgrade_helpers import (Poller, holder_and_standby, install_pair, journal, rpm_q, update_from_current,
                                   upgrade)

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def pair(lab, tmp_path_factory):
    return install_pair(lab, tmp_path_factory.mktemp("upgrade-db"), vrid=62)


def replica_running(lab, node):
    out = lab.run(node, ["mariadb", "-e", "SHOW SLAVE STATUS\\G"]).stdout
    return "Slave_IO_Running: Yes" in out and "Slave_SQL_Running: Yes" in out


def test_a_major_database_upgrade_is_refused_on_either_node(lab, pair):
    # every fixture repo: the newest of each package, whatever an earlier test left installed
    run = update_from_current(lab, pair, "2.0.0", repos=("updates-next", "mysql57-next", "mysql80-community"))
    for node in ("ha1", "ha2"):
        before = journal(lab, node)
        server = rpm_q(pair, node, "mysql-community-server")
        res = upgrade(lab, pair, node, run)
        assert res.returncode == 14, res.stdout + res.stderr
        assert "major database upgrade" in res.stdout + res.stderr and "8.0.36" in res.stdout + res.stderr
        assert rpm_q(pair, node, "mysql-community-server") == server
        assert journal(lab, node).get("upgrade") == before.get("upgrade")


def test_a_minor_database_upgrade_pauses_the_newer_to_older_channel(lab, pair):
    h, standby = holder_and_standby(lab)
    run = update_from_current(lab, pair, "1.5.0", repos=("updates-next", "mysql57-next"))
    with Poller(lab, writes=True) as poll:
        # the standby first: refused, the holder must pause its channel from the standby first
        res = upgrade(lab, pair, standby, run)
        assert res.returncode == 13, res.stdout + res.stderr
        assert "run upgrade on %s (the VIP holder) first" % h in res.stdout + res.stderr
        # step 0 on the holder: its channel from the standby stops, it keeps serving
        res = upgrade(lab, pair, h, run)
        assert res.returncode == 0, res.stdout + res.stderr
        assert "no longer replicates from %s" % standby in res.stdout and "next: on %s" % standby in res.stdout
        assert not replica_running(lab, h) and replica_running(lab, standby)
        assert rpm_q(pair, h, "mysql-community-server").startswith("mysql-community-server-5.7.44")
        # the standby upgrades while the channel stays paused
        res = upgrade(lab, pair, standby, run)
        assert res.returncode == 0, res.stdout + res.stderr
        assert rpm_q(pair, standby, "mysql-community-server").startswith("mysql-community-server-5.7.45")
        assert not replica_running(lab, h)
        # the holder: VIP to the standby, upgrade, channel back on; its verify fails on purpose:
        # it rolls back, but its database server already started on 5.7.45 and stays there
        res = upgrade(lab, pair, h, run, env={"HA_UPGRADE_FAIL_AT": "verify"})
        assert res.returncode == 15, res.stdout + res.stderr
        assert "mysql-community-server stays at 5.7.45" in res.stdout, res.stdout
        assert rpm_q(pair, h, "mysql-community-server").startswith("mysql-community-server-5.7.45")
        assert lab.wait_single_holder(VIP.split("/")[0], timeout=30) == standby
        # the old holder is the standby now and the peer already runs the bundle: no deadlock
        res = upgrade(lab, pair, h, run)
        assert res.returncode == 0, res.stdout + res.stderr
        assert rpm_q(pair, h, "mysql-community-server").startswith("mysql-community-server-5.7.45")
        lab.wait_for(lambda: replica_running(lab, h) and replica_running(lab, standby), timeout=30,
                     what="replication both ways again")
    assert journal(lab, h)["steps"]["upgrade-pause"]["status"] == "resumed"
    # every write the app acknowledged through the VIP is on both nodes
    assert poll.acked, "no write was acknowledged"
    for node in ("ha1", "ha2"):
        lab.wait_for(lambda n=node: set(poll.acked) <= set(lab.run(n, ["ls", "/var/lib/itv/uploads"]).stdout.split()),
                     timeout=30, what="every acknowledged upload on " + node)
