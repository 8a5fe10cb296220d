"""Building blocks of the lab's site.toml (192.0.2.0/24, nodes ha1/ha2), shared by tests and benches."""

from __future__ import annotations

VIP = "192.0.2.100/24"
NODES = """[[node]]
name = "ha1"
address = "192.0.2.11"
priority = 150
[[node]]
name = "ha2"
address = "192.0.2.12"
priority = 100
"""
APP = "[app]\nport = 8081\n"
DATABASE = '[database]\nschemas = ["itv"]\nport = 3306\n'
# str.format placeholders: the caller fills in the shared passwords
SECRETS = ('[secrets]\nreplication_password = "{repl}"\nseed_password = "{seed}"\n'
           'sync_password = "lab-file-sync-secret-1"\n')


def cluster(vrid: int | str = 51, *extra: str) -> str:
    """The [cluster] table; extra lines (e.g. 'vrrp_version = 3') go after vrid."""
    return "\n".join(["[cluster]", f'vip = "{VIP}"', f"vrid = {vrid}", *extra]) + "\n"
