"""Dependencies and files of an RPM file, read from its own header (rpmfile; no rpm needed).

Used where the file itself is the truth: local RPMs the resolver loads, and the downloaded
packages the closure proof checks at build time.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import rpmfile

# RPMSENSE_* flag bits as stored in rpm headers
_SENSE_LESS, _SENSE_GREATER, _SENSE_EQUAL = 0x02, 0x04, 0x08
_DEP_TAGS = {"provides": ("provides", "provideflags", "provideversion"),
             "requires": ("requirename", "requireflags", "requireversion"),
             "conflicts": ("conflictname", "conflictflags", "conflictversion"),
             "obsoletes": ("obsoletename", "obsoleteflags", "obsoleteversion")}


def text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def evr(epoch: str, version: str, release: str) -> str:
    joined = f"{version}-{release}" if release else version
    return f"{epoch}:{joined}" if epoch and epoch not in ("0", "") else joined


def operator(flags: int) -> str:
    """RPMSENSE bits -> '<', '<=', '=', '>=', '>' ('' when unversioned)."""
    op = ("<" if flags & _SENSE_LESS else "") + (">" if flags & _SENSE_GREATER else "")
    return op + "=" if flags & _SENSE_EQUAL else op


def read(path: Path) -> dict[str, Any]:
    """The header as a dict; raises ValueError with the reason for a damaged file."""
    try:
        with rpmfile.open(str(path)) as rpm:
            return dict(rpm.headers)
    except Exception as exc:  # rpmfile raises assorted errors on damaged files
        raise ValueError(f"{path}: not a readable RPM ({exc})") from None


def identity(h: dict[str, Any]) -> tuple[str, str, str]:
    """(name, [epoch:]version-release, arch) as rpm -q prints them."""
    arch = "noarch" if h.get("sourcepackage") else text(h.get("arch"))
    return text(h.get("name")), evr(text(h.get("epoch")), text(h.get("version")), text(h.get("release"))), arch


def dependencies(h: dict[str, Any], kind: str) -> list[tuple[str, str, str]]:
    """[(name, op, evr)] for kind in provides/requires/conflicts/obsoletes."""
    name_tag, flags_tag, version_tag = _DEP_TAGS[kind]
    names, flags, versions = as_list(h.get(name_tag)), as_list(h.get(flags_tag)), as_list(h.get(version_tag))
    out = []
    for i, raw in enumerate(names):
        version = text(versions[i]) if i < len(versions) else ""
        op = operator(int(flags[i])) if i < len(flags) and version else ""
        out.append((text(raw), op, version if op else ""))
    return out


def file_names(h: dict[str, Any]) -> list[str]:
    bases, dirs, idx = as_list(h.get("basenames")), as_list(h.get("dirnames")), as_list(h.get("dirindexes"))
    return [text(dirs[i]) + text(b) for b, i in zip(bases, idx)]
