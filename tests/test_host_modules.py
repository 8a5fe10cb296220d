"""Which el8+ module states the onsite install must give the host's dnf (builder side)."""

from __future__ import annotations

from builder.manifest import Modules
from builder.modularity import ModuleIndex, host_module_changes


def index() -> ModuleIndex:
    idx = ModuleIndex()
    idx.streams[("mysql", "8.0")] = {"mysql-server-0:8.0.32-1.module_el8.x86_64", "mysql-libs-0:8.0.32-1.module_el8.x86_64"}
    idx.streams[("mariadb", "10.3")] = {"mariadb-server-3:10.3.39-1.module_el8.x86_64"}
    idx.streams[("mariadb", "10.5")] = {"mariadb-server-3:10.5.22-1.module_el8.x86_64"}
    idx.defaults.update({"mysql": "8.0", "mariadb": "10.3"})
    return idx


def test_a_default_stream_shipping_a_carried_name_is_disabled():
    carried = [("mysql-libs", "mysql-libs-0:8.0.35-1.el8.x86_64"), ("keepalived", "keepalived-0:2.1.5-9.el8.x86_64")]
    assert host_module_changes(index(), Modules(), carried) == {"enable": [], "disable": ["mysql"]}


def test_manifest_choices_are_recorded_and_modular_packages_do_not_trigger():
    carried = [("mariadb-server", "mariadb-server-3:10.5.22-1.module_el8.x86_64")]
    got = host_module_changes(index(), Modules((("mariadb", "10.5"),), ("mysql",)), carried)
    assert got == {"enable": ["mariadb:10.5"], "disable": ["mysql"]}
    assert host_module_changes(index(), Modules(), carried) == {"enable": [], "disable": []}
