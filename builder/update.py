"""Update bundles: what changed since a previous lock, and which RPMs the update must carry.

``ha-bundle build MANIFEST --update-from OLD`` resolves and fetches as usual, then compares the
new lock with OLD's (a .run, checked first, or its bundle.lock.json) package by package, by
(name, arch), in rpm's version order (libsolv's evrcmp, the order rpm -U uses onsite):
added, upgraded, downgraded, removed. A downgrade is refused unless asked for. The update lock
is the whole new lock plus an ``update`` section: the old lock's digest and its packages (the
installed state the update applies to: onsite refuses any other host), the RPMs carried, and
the changes. The payload carries only the carried RPMs, the onsite code and the app release.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder import exitcodes
from builder.errors import HaBundleError

UPDATE_SUFFIX = "-update"
KEEP_FROM = ("name", "arch", "epoch", "version", "release", "filename", "sha256")


def evr(pkg: dict[str, Any]) -> str:
    epoch = str(pkg.get("epoch") or "0")
    text = f"{pkg['version']}-{pkg['release']}"
    return text if epoch == "0" else f"{epoch}:{text}"


@dataclass
class Changes:
    """The difference between two locks, each entry one line of text for people and JSON."""

    added: list[dict[str, str]] = field(default_factory=list)
    upgraded: list[dict[str, str]] = field(default_factory=list)
    downgraded: list[dict[str, str]] = field(default_factory=list)
    removed: list[dict[str, str]] = field(default_factory=list)
    rebuilt: list[dict[str, str]] = field(default_factory=list)
    carried: list[str] = field(default_factory=list)   # payload filenames (rpms/...)

    def to_json(self) -> dict[str, list[Any]]:
        return {"added": self.added, "upgraded": self.upgraded, "downgraded": self.downgraded,
                "removed": self.removed}

    def lines(self) -> list[str]:
        out = [f"  added      {c['name']}.{c['arch']} {c['to']}" for c in self.added]
        out += [f"  upgraded   {c['name']}.{c['arch']} {c['from']} -> {c['to']}" for c in self.upgraded]
        out += [f"  DOWNGRADED {c['name']}.{c['arch']} {c['from']} -> {c['to']}" for c in self.downgraded]
        out += [f"  removed    {c['name']}.{c['arch']} {c['from']} (stays installed onsite)" for c in self.removed]
        out += [f"  REBUILT    {c['name']}.{c['arch']} {c['to']} (same version, other bytes)" for c in self.rebuilt]
        return out or ["  no package changes"]


def _by_key(lock: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    from builder.bundle import locked_rpms

    return {(p["name"], p["arch"]): p for p in locked_rpms(lock)}


def compare(old: dict[str, Any], new: dict[str, Any]) -> Changes:
    """The package changes from old to new and the new RPMs an update must carry."""
    from builder.resolve import evr_order    # libsolv: only the solver modules load it

    before, after = _by_key(old), _by_key(new)
    changes = Changes()
    for key in sorted(after):
        pkg = after[key]
        entry = {"name": key[0], "arch": key[1], "to": evr(pkg)}
        if key not in before:
            changes.added.append(entry)
        else:
            order = evr_order(evr(pkg), evr(before[key]))
            entry["from"] = evr(before[key])
            if order > 0:
                changes.upgraded.append(entry)
            elif order < 0:
                changes.downgraded.append(entry)
            elif pkg.get("sha256") == before[key].get("sha256"):
                continue
            else:   # same version, other bytes: rpm -U onsite would not replace it
                changes.rebuilt.append(entry)
        changes.carried.append(pkg["filename"])
    for key in sorted(set(before) - set(after)):
        changes.removed.append({"name": key[0], "arch": key[1], "from": evr(before[key])})
    changes.carried.sort()
    return changes


def _lock_from_run(path: Path) -> bytes:
    from builder import runfile

    info = runfile.verify(path)       # a damaged old .run is no base for an update
    del info
    values = runfile.read_header(path)
    for member, data in runfile.walk_payload(path, values):
        if member.name == "bundle.lock.json" and data is not None:
            return data
    raise HaBundleError("update-from-bad", f"--update-from {path}: no bundle.lock.json inside",
                        exit_code=exitcodes.INPUT)


def load_old(path: Path) -> tuple[dict[str, Any], str]:
    """(lock, sha256 of its bytes) from a previous .run or bundle.lock.json."""
    path = Path(path)
    if not path.is_file():
        raise HaBundleError("update-from-missing", f"--update-from {path}: no such file",
                            hint="give the .run or the bundle.lock.json the site has installed",
                            exit_code=exitcodes.INPUT)
    with open(path, "rb") as handle:
        start = handle.read(2)
    data = _lock_from_run(path) if start == b"#!" else path.read_bytes()
    try:
        lock = json.loads(data)
    except ValueError as exc:
        raise HaBundleError("update-from-bad", f"--update-from {path}: not a .run or a lock ({exc})",
                            exit_code=exitcodes.INPUT) from None
    if not isinstance(lock, dict) or not isinstance(lock.get("packages"), list) \
            or not isinstance(lock.get("target"), dict):
        raise HaBundleError("update-from-bad", f"--update-from {path}: not a bundle lock (no target or packages)",
                            exit_code=exitcodes.INPUT)
    for pkg in lock["packages"] + list(lock.get("baseline_upgrades") or []):
        if not isinstance(pkg, dict) or not all(isinstance(pkg.get(k), str) for k in ("name", "arch", "version",
                                                                                      "release", "filename")):
            raise HaBundleError("update-from-bad", f"--update-from {path}: a package entry lacks name/arch/"
                                "version/release/filename", exit_code=exitcodes.INPUT)
    return lock, hashlib.sha256(data).hexdigest()


def check_same_target(old: dict[str, Any], target: dict[str, Any], path: Path) -> None:
    for key in ("name", "basearch", "os_major"):
        if str(old["target"].get(key)) != str(target.get(key)):
            raise HaBundleError("update-wrong-target", f"--update-from {path} is for target "
                                f"{old['target'].get('name')} ({old['target'].get('basearch')}, major "
                                f"{old['target'].get('os_major')}), this manifest builds {target.get('name')} "
                                f"({target.get('basearch')}, major {target.get('os_major')})",
                                hint="an update applies to the same target only: pick that target's lock",
                                exit_code=exitcodes.INPUT)


def update_section(old: dict[str, Any], old_sha: str, changes: Changes) -> dict[str, Any]:
    """The lock's ``update`` section (what onsite checks before it applies the update)."""
    from builder.bundle import locked_rpms

    app = old.get("app") or {}
    return {
        "from": {"lock_sha256": old_sha, "created": old.get("created"), "tool": old.get("tool"),
                 "app_version": app.get("version"),
                 "packages": [{k: p.get(k) for k in KEEP_FROM} for p in locked_rpms(old)]},
        "carried": changes.carried,
        "changes": changes.to_json(),
    }


def refuse_rebuilds(changes: Changes) -> None:
    """A same-version rebuild cannot be applied by rpm -U onsite (it is 'already installed')."""
    if changes.rebuilt:
        raise HaBundleError("update-rebuilt", f"{len(changes.rebuilt)} package(s) have the same version as in OLD "
                            "but other bytes", [f"{c['name']}.{c['arch']} {c['to']}" for c in changes.rebuilt],
                            hint="rpm onsite would keep the installed build: give the rebuild a new release "
                                 "(Release: tag), or build from the same RPM as OLD", exit_code=exitcodes.INPUT)


def refuse_downgrades(changes: Changes, allowed: bool) -> None:
    if changes.downgraded and not allowed:
        raise HaBundleError("update-downgrade", f"{len(changes.downgraded)} package(s) would be downgraded",
                            [f"{c['name']}.{c['arch']} {c['from']} -> {c['to']}" for c in changes.downgraded],
                            hint="pin the newer versions in the manifest, or pass --allow-downgrade if this is "
                                 "wanted (onsite rpm then installs the older builds with --oldpackage)",
                            exit_code=exitcodes.INPUT)
