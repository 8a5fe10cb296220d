"""Build-side module boundaries: only the solver modules load libsolv, only builder.report
prints with rich, one SOURCE_DATE_EPOCH reader."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

BUILDER = REPO_ROOT / "builder"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module.split(".")[0])
    return out


def test_only_the_solver_modules_import_solv():
    users = sorted(p.name for p in BUILDER.glob("*.py") if "solv" in imported_modules(p))
    assert users == ["closure.py", "resolve.py"]


def test_reading_a_lock_or_building_a_run_does_not_load_libsolv():
    code = ("import sys, builder.lock, builder.fetch, builder.signatures, builder.compat, builder.bundle;"
            " print('solv' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, universal_newlines=True)
    assert out.stdout.strip() == "False", out.stderr


def test_only_report_prints_with_rich():
    users = sorted(p.name for p in BUILDER.glob("*.py") if "rich" in imported_modules(p)
                   and "from rich" in p.read_text().split("if TYPE_CHECKING:")[0])
    assert users == ["report.py"]


def test_one_source_date_epoch_reader():
    readers = sorted(p.name for p in BUILDER.glob("*.py") if "os.environ" in p.read_text()
                     and "SOURCE_DATE_EPOCH" in p.read_text())
    assert readers == ["reproducible.py"]


@pytest.mark.parametrize("value, expected", [("", None), ("1234567890", 1234567890)])
def test_source_date_epoch(monkeypatch, value, expected):
    from builder import reproducible
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    assert reproducible.source_date_epoch() == expected


def test_a_bad_source_date_epoch_is_refused_everywhere(monkeypatch):
    from builder import lock, reproducible
    from builder.errors import HaBundleError
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "yesterday")
    with pytest.raises(HaBundleError) as info:
        reproducible.source_date_epoch()
    assert info.value.reference == "bad-source-date-epoch"
    with pytest.raises(HaBundleError):
        lock.created_epoch([])          # before: the lock silently ignored it
    assert os.environ["SOURCE_DATE_EPOCH"] == "yesterday"
