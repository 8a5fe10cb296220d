"""A working pair per new target (issue 17), in the lab, exactly as el7's demo pair is proved.

For openEuler 22.03, openEuler 24.03, Kylin V10 and Anolis 8: the target's .run, built from its
fixture repos, installed through its POSIX-sh header on both nodes at once; each node's rpm
root holds the target's own baseline and os-release (the host the bundle must accept). Each
target runs on the interpreter and keepalived closest to what it ships that this machine has:
Kylin V10's keepalived 2.0.20 (the customer build), Debian's 2.2.7 for the 2.1.5-2.2.8 the
others carry; openEuler 24.03's system python is 3.11 (this machine's python3), the others run
the 3.6 floor. Then `verify` through the .run passes on both nodes: keepalived, one VIP holder,
firewall to the peer only, MariaDB master-master with canary rows both ways.
"""

from __future__ import annotations

import shutil
import sys

import pytest

from tests.lab.fixtures import make_lab  # noqa: F401 (fixture)
from tests.ops_helpers import VIP, on_both, py36_path, run_file_install, write_site
from tests.runfile_helpers import rpm_q
from tests.test_new_targets import TARGETS, build_target, root_for
from tests.test_os_detection import OS_RELEASE

pytestmark = pytest.mark.lab

# target -> (keepalived in the lab, python the header finds first)
RUNTIME = {"openeuler2203": (None, "3.6"), "openeuler2403": (None, "host"), "kylin10": ("2.0.20", "3.6"),
           "anolis8": (None, "3.6")}
RUN_INSIDE = "/run/ha-installer-demo.run"     # where run_file_install copies the .run


def python_path(base, which):
    if which == "3.6":
        return py36_path(base)
    bindir = base / "hostpy"
    bindir.mkdir(exist_ok=True)
    (bindir / "python3").symlink_to(sys.executable)
    return "%s:%s" % (bindir, py36_path(base).split(":", 1)[1])


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_pair_of_the_targets_own_hosts_installs_and_verifies(make_lab, tmp_path, name):
    built = build_target(name, tmp_path / "build")
    keepalived, python = RUNTIME[name]
    lab = make_lab(keepalived=keepalived)
    _tree, system, _others, expect = TARGETS[name]
    site = write_site(tmp_path, vrid=61)
    path = python_path(tmp_path, python)
    roots = {n: root_for(tmp_path / n, system, built["baseline"]) for n in ("ha1", "ha2")}
    for node in ("ha1", "ha2"):
        lab.start_app(node)
    res = on_both(lambda n: run_file_install(lab, n, built["run"], site, roots[n], path))
    rel = dict(line.split("=", 1) for line in OS_RELEASE[system].splitlines())
    for node in ("ha1", "ha2"):
        out = res[node].stdout + res[node].stderr
        assert res[node].returncode == 0, out
        assert "%s %s" % (rel["ID"].strip('"'), rel["VERSION_ID"].strip('"')) in out
        for nevra in expect:
            assert rpm_q(roots[node], nevra).returncode == 0, nevra
    version = lab.run("ha1", ["keepalived", "--version"], check=False)
    assert ("v2.0.20" if keepalived else "v2.2.7") in version.stdout + version.stderr
    lab.wait_single_holder(VIP.split("/")[0], timeout=30)
    for node in ("ha1", "ha2"):
        shutil.copy(str(built["run"]), str(lab.path(node, RUN_INSIDE)))
    ver = on_both(lambda n: lab.run(n, ["sh", RUN_INSIDE, "--", "verify", "--site", site, "--timeout", "60"],
                                    check=False, timeout=180, env={"PATH": path}))
    for node in ("ha1", "ha2"):
        out = ver[node].stdout + ver[node].stderr
        assert ver[node].returncode == 0 and "verify passed: the pair works end to end" in out, out
    # preflight names the interpreter the header found: the one chosen for this target
    pre = lab.run("ha1", ["sh", RUN_INSIDE, "--", "preflight", "--site", site, "--root", str(roots["ha1"])],
                  check=False, timeout=180, env={"PATH": path})
    want = "3.6" if python == "3.6" else "%d.%d" % sys.version_info[:2]
    assert "python %s." % want in pre.stdout, pre.stdout + pre.stderr
