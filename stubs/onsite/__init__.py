"""Onsite setup logic, run on the customer's host as ``python3 -m onsite``.

Runs on the target's own Python 3.6 with the standard library only (CentOS 7 python3,
EL8 platform-python). Check with ``vermin -t=3.6- stubs/onsite``. Layout (docs/onsite.md):
cli -> commands -> ops -> {db, failover} -> site -> host -> core.
"""

__version__ = "0.1.0"
