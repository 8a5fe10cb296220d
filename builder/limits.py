"""Size and shape limits for manifests, checked before and right after parsing.

A manifest is a few KB written by a person. A 100k-deep ``[[[[`` (RecursionError in tomllib),
a multi-MB file or a list of 200k names is a mistake or an attack: say so in one sentence
instead of a traceback or 25 MB of per-name errors.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from builder.errors import ManifestError

MAX_MANIFEST_BYTES = 1 << 20
MAX_DEPTH = 8        # target/repo/install tables hold lists of strings: 3 levels are used
MAX_LIST = 5000      # entries in any one list (install.packages, baseline.packages, ...)
MAX_STRING = 4096


def _fail(path: Path, message: str, hint: str) -> ManifestError:
    return ManifestError("manifest-too-large", f"manifest {path.name}: {message}", [f"file: {path}"], hint=hint)


def too_deep(path: Path) -> ManifestError:
    return _fail(path, f"nested deeper than {MAX_DEPTH} levels", "a manifest is a few flat tables "
                 "(docs/manifest.md); check for runaway brackets")


def check_manifest_text(path: Path, raw: bytes) -> None:
    if len(raw) > MAX_MANIFEST_BYTES:
        raise _fail(path, f"{len(raw)} bytes, more than the {MAX_MANIFEST_BYTES} a manifest may have",
                    "a manifest lists the roots to install, not every package; see docs/manifest.md")
    depth = deepest = 0
    for byte in raw:  # brackets outside strings are what nests; counting all of them is a safe upper bound
        if byte in b"[{":
            depth += 1
            deepest = max(deepest, depth)
        elif byte in b"]}":
            depth = max(0, depth - 1)
    if deepest > 4 * MAX_DEPTH:
        raise too_deep(path)


def check_manifest_data(path: Path, data: Any, depth: int = 0, where: str = "") -> None:
    """Depth, list lengths and string sizes of the parsed TOML."""
    if depth > MAX_DEPTH:
        raise too_deep(path)
    if isinstance(data, dict):
        for key, value in data.items():
            check_manifest_data(path, value, depth + 1, f"{where}.{key}" if where else str(key))
    elif isinstance(data, list):
        if len(data) > MAX_LIST:
            raise _fail(path, f"{where} has {len(data)} entries, more than {MAX_LIST}",
                        "list the packages to install (their dependencies are found for you)")
        for value in data:
            check_manifest_data(path, value, depth + 1, where)
    elif isinstance(data, str) and len(data) > MAX_STRING:
        raise _fail(path, f"{where} holds a string of {len(data)} characters", "shorten it")
