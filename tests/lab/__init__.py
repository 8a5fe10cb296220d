"""Reusable test lab: HA nodes as namespaces with real daemons. See docs/lab.md."""

from tests.lab.core import (APP_PORT, CLIENT_ADDR, DEFAULT_NODES, KEEPALIVED_2020, Lab,  # noqa: F401
                            LabError, SUBNET)
