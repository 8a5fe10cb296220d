"""The onsite program's shape, kept by test: packages by concern, dependencies one way.

commands -> ops -> upgrade -> {db, failover, app} -> site -> host -> core (and the vendored tomli). A package
may use its own modules and any package below it; db and failover never use each other;
commands never import commands. Nobody reaches into another module's private names and no
module keeps mutable state in globals. (test_runfile.py checks that the payload carries every
subpackage.)
"""

import ast
import collections
from pathlib import Path

import pytest

from tests.conftest import STUBS

ONSITE = STUBS / "onsite"
RANK = {"_vendor": 0, "core": 0, "host": 1, "site": 2, "db": 3, "failover": 3, "app": 3, "filesync": 3, "pair": 2.5, "upgrade": 3.5, "ops": 4,
        "commands": 5, "cli": 6, "__main__": 7}
PACKAGES = ("core", "host", "site", "failover", "db", "app", "filesync", "pair", "upgrade", "ops", "commands")


def modules():
    """{dotted name: path} of every onsite module except the vendored ones."""
    out = {}
    for path in sorted(ONSITE.rglob("*.py")):
        rel = path.relative_to(STUBS).with_suffix("")
        if "_vendor" in rel.parts:
            continue
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imports(path):
    """[(imported onsite module, line)] of every import in the file (functions included)."""
    found = []
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(a.name, node.lineno) for a in node.names if a.name.startswith("onsite")]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("onsite"):
            for alias in node.names:
                full = node.module + "." + alias.name
                # 'from onsite.core import messages' imports a module; 'from onsite.core.errors
                # import OnsiteError' a name of a module
                found.append((full if full.replace(".", "/") in MODULE_PATHS else node.module, node.lineno))
    return found


MODULES = modules()
MODULE_PATHS = {name.replace(".", "/") for name in MODULES}


def area(module):
    """'core', 'host', ... for onsite.core.x; 'cli', '__main__'; '' for the onsite package."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_module_lives_in_a_package_by_concern():
    loose = [name for name in MODULES if name.count(".") == 1
             and area(name) not in PACKAGES + ("cli", "__main__")]
    assert loose == [], "modules outside the packages: %s" % loose
    for package in PACKAGES:
        assert (ONSITE / package / "__init__.py").is_file()


def test_dependencies_point_one_way():
    wrong = []
    for name, path in MODULES.items():
        here = area(name)
        for target, line in imports(path):
            there = area(target)
            if there == "" or there == here and here != "commands":
                continue
            if here == "commands" and there == "commands":
                wrong.append("%s:%d imports %s (commands never import commands)" % (path.name, line, target))
            elif here and RANK.get(there, 99) >= RANK.get(here, -1):
                wrong.append("%s (%s) imports %s (%s)" % (name, here, target, there))
    assert wrong == [], "\n".join(wrong)


def test_no_import_cycles():
    graph = collections.defaultdict(set)
    for name, path in MODULES.items():
        for target, _line in imports(path):
            if target in MODULES and target != name:
                graph[name].add(target)
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                pytest.fail("import cycle: " + " -> ".join(trail + [node, nxt]))
            if nxt not in state:
                visit(nxt, trail + [node])
        state[node] = "done"

    for name in sorted(MODULES):
        if name not in state:
            visit(name, [])


def test_no_module_reaches_into_another_modules_private_names():
    wrong = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("onsite"):
                aliases |= {a.asname or a.name for a in node.names
                            if (node.module + "." + a.name).replace(".", "/") in MODULE_PATHS}
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                    and node.value.id in aliases and node.attr.startswith("_") \
                    and not node.attr.startswith("__"):
                wrong.append("%s:%d %s.%s" % (name, node.lineno, node.value.id, node.attr))
    assert wrong == [], wrong


def test_no_module_keeps_mutable_state_in_globals():
    wrong = []
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                wrong.append("%s:%d global statement" % (name, node.lineno))
        for node in tree.body:
            if not isinstance(node, ast.Assign):
                continue
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            mutable = isinstance(node.value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp)) or (
                isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                and node.value.func.id in ("list", "dict", "set"))
            # UPPER_CASE tables are constants by convention (read, never written)
            if mutable and any(not n.isupper() for n in names):
                wrong.append("%s:%d %s" % (name, node.lineno, names))
    assert wrong == [], wrong


def test_catalog_modules_are_data_only():
    for package in PACKAGES:
        path = ONSITE / package / "catalog.py"
        if path.exists():
            tree = ast.parse(path.read_text())
            assert not [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))], path


def test_one_exit_code_table_for_header_and_onsite():
    """docs/runfile.md lists every code once with its owner; the header's hb_die codes and the
    onsite table are exactly the documented ones, and no number belongs to both (130, Ctrl-C,
    means the same for both)."""
    import re
    from onsite.core import errors
    docs = (STUBS.parent / "docs" / "runfile.md").read_text()
    rows = re.findall(r"^\| ([0-9, ]+) \| (header|onsite|both) \|", docs, re.M)
    owner = {}
    for codes, who in rows:
        for code in codes.split(","):
            assert int(code) not in owner, "code %s documented twice" % code
            owner[int(code)] = who
    header = {int(c) for c in re.findall(r"hb_die (\d+) ", (STUBS / "header.sh").read_text())}
    header |= {1, 129, 130, 143}            # bad flag (exit 1) and the signal traps
    onsite = set(errors.EXIT_CODES)
    assert header & onsite == {0, 130} or header & onsite == {130}
    for code in header - {0}:
        assert owner.get(code) in ("header", "both"), code
    for code in onsite:
        assert owner.get(code) in ("onsite", "both"), code
    assert {c for c, who in owner.items() if who == "onsite"} == onsite - {0, 130}


# modules that start programs without tools.run, and why their output is never parsed as words
UNPARSED = {
    "ops/collect.py": "command output goes into the support bundle as it is",
    "ops/preflight.py": "ping: only the exit code",
    "db/client.py": "the database client: tab-separated data and the server's own messages",
    "db/step.py": "the role hook: exit code and output for the error message",
    "host/services.py": "systemctl/service: exit code, output shown on failure",
    "host/tools.py": "the C-locale runner itself",
    "filesync/agent.py": "the standalone sync agent: rsync's exit code; its output is only logged",
}


def test_parsed_tools_run_in_the_c_locale():
    starters = set()
    for name, path in MODULES.items():
        text = path.read_text()
        if "subprocess.run(" in text or "subprocess.Popen(" in text:
            starters.add(path.relative_to(ONSITE).as_posix())
    assert starters == set(UNPARSED), "run parsed tools through onsite.host.tools.run"
    from onsite.host import tools
    out = tools.run(["sh", "-c", 'echo "$LC_ALL/${LANGUAGE:-unset}"'])
    assert out.stdout.strip() == "C/unset"
