"""pytest fixtures for the lab. Import the ones you use into your test module:

    from tests.lab.fixtures import lab          # one lab per test module, Debian keepalived
    from tests.lab.fixtures import make_lab     # factory: make_lab(keepalived="2.0.20", ...)

Every lab is torn down at the end of its scope, even when the test fails, killing only the
PID 1s of its own nodes (the kernel then ends every process inside them).
"""

from __future__ import annotations

import os
import uuid

import pytest

from tests.lab.core import Lab


def _can_namespace() -> str | None:
    if os.geteuid() != 0:
        return "the lab needs root (network/mount/PID namespaces)"
    if not os.path.exists("/proc/self/ns/net"):
        return "this kernel has no network namespaces"
    return None


def new_lab(**opts) -> Lab:
    reason = _can_namespace()
    if reason:
        pytest.skip(reason)
    lab_id = "%d%s" % (os.getpid(), uuid.uuid4().hex[:4])
    return Lab(lab_id=lab_id, **opts)


@pytest.fixture(scope="module")
def lab():
    """A lab with ha1, ha2, client and firewalld running in both nodes (shared per module)."""
    instance = new_lab()
    try:
        instance.up()
        yield instance
    finally:
        instance.down()


@pytest.fixture
def make_lab():
    """Factory for labs with options; every lab it made is torn down after the test."""
    made = []

    def factory(**opts) -> Lab:
        instance = new_lab(**opts)
        made.append(instance)
        return instance.up()

    try:
        yield factory
    finally:
        for instance in made:
            instance.down()
