"""EL8+ modularity, decided in Python (PyPI's libsolv has no modulemd reader; DESIGN.md s.3).

libdnf's rules, which we follow: a package that is an artifact of a module stream is visible only
when that stream is active (enabled in the manifest, or the module's default stream when the
module is neither enabled nor disabled); a non-modular package whose name matches an artifact of
an active stream is hidden, unless its repo sets ``module_hotfixes``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from builder.errors import ManifestError
from builder.manifest import Modules


@dataclass
class ModuleIndex:
    # (module, stream) -> set of artifact NEVRAs "name-epoch:version-release.arch"
    streams: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    defaults: dict[str, str] = field(default_factory=dict)
    platform: str = ""     # the target's platform stream ("an8"); "" = every context counts
    # (module, stream) -> the platforms of the contexts skipped for another platform
    elsewhere: dict[tuple[str, str], set[str]] = field(default_factory=dict)

    def add_yaml(self, path: Path) -> None:
        import yaml  # only el8+ repos carry modules.yaml

        with open(path, "rb") as handle:
            for doc in yaml.safe_load_all(handle):
                if not isinstance(doc, dict):
                    continue
                data = doc.get("data") or {}
                if doc.get("document") == "modulemd":
                    key = (str(data.get("name")), str(data.get("stream")))
                    if not self.platform_allows(data.get("dependencies")):
                        # a context built for another platform (dnf skips it too)
                        self.elsewhere.setdefault(key, set()).update(_platforms(data.get("dependencies")))
                        continue
                    rpms = (data.get("artifacts") or {}).get("rpms") or []
                    self.streams.setdefault(key, set()).update(str(r) for r in rpms)
                elif doc.get("document") == "modulemd-defaults" and data.get("stream") is not None:
                    self.defaults[str(data["module"])] = str(data["stream"])

    def platform_allows(self, dependencies: object) -> bool:
        """modulemd v2 `dependencies`: the context is usable when one entry's `requires.platform`
        is absent or empty (any platform), names our platform, or only excludes ("-el8")
        platforms that are not ours (libmodulemd's stream expansion rules)."""
        if not self.platform or not isinstance(dependencies, list) or not dependencies:
            return True
        for streams in _platform_lists(dependencies):
            if not streams:
                return True
            wanted = [s for s in streams if not s.startswith("-")]
            excluded = [s[1:] for s in streams if s.startswith("-")]
            if self.platform in wanted or (not wanted and self.platform not in excluded):
                return True
        return False

    @property
    def modules(self) -> set[str]:
        return {name for name, _ in self.streams}

    def active_streams(self, choice: Modules) -> set[tuple[str, str]]:
        enabled = dict(choice.enable)
        for name, stream in enabled.items():
            if (name, stream) not in self.streams:
                known = sorted(s for n, s in self.streams if n == name)
                details = [f"known streams of {name}: {', '.join(known) or 'none (no such module)'}"]
                if (name, stream) in self.elsewhere:
                    details.append(f"{name}:{stream} is in the repos only for platform "
                                   f"{', '.join(sorted(self.elsewhere[(name, stream)]))}, not this target's "
                                   f"platform:{self.platform}: these are another distribution's repos")
                raise ManifestError(
                    "module-stream-unknown", f"module stream {name}:{stream} is not in the repos", details,
                    hint="fix [modules] enable in the manifest, or point the repos at this target's own")
        active = set(enabled.items())
        for name, stream in self.defaults.items():
            if name not in enabled and name not in choice.disable and (name, stream) in self.streams:
                active.add((name, stream))
        return active


def _platform_lists(dependencies: object) -> list[list[str]]:
    """Each `dependencies` entry's `requires.platform` list ([] when it names none)."""
    out = []
    for entry in dependencies if isinstance(dependencies, list) else []:
        requires = entry.get("requires") if isinstance(entry, dict) else None
        streams = requires.get("platform") if isinstance(requires, dict) else None
        out.append([str(s) for s in streams or []])
    return out


def _platforms(dependencies: object) -> set[str]:
    return {s for streams in _platform_lists(dependencies) for s in streams}


def normalise_nevra(name: str, epoch: str, version: str, release: str, arch: str) -> str:
    return f"{name}-{epoch or '0'}:{version}-{release}.{arch}"


@dataclass(frozen=True)
class Visibility:
    """Which packages the solver may see: the answer to 'is this NEVRA hidden by modularity?'."""

    modular: frozenset[str]  # every artifact of every stream
    active: frozenset[str]  # artifacts of active streams
    active_names: frozenset[str]  # package names in active streams

    def hidden(self, nevra: str, name: str, hotfix_repo: bool, provides: frozenset[str] = frozenset()) -> bool:
        """provides: the names the package provides; libdnf hides a non-modular package whose
        name *or any provide* is a package name of an active stream (mysql-community-server
        provides mysql-server, so el8's default mysql:8.0 hides it)."""
        if nevra in self.modular:
            return nevra not in self.active
        if hotfix_repo:
            return False
        return name in self.active_names or not self.active_names.isdisjoint(provides)


def visibility(index: ModuleIndex, choice: Modules) -> Visibility:
    active_streams = index.active_streams(choice)
    modular = set().union(*index.streams.values()) if index.streams else set()
    active = set().union(*(index.streams[k] for k in active_streams)) if active_streams else set()
    names = {nevra.rsplit("-", 2)[0] for nevra in active}
    return Visibility(frozenset(modular), frozenset(active), frozenset(names))


def host_module_changes(index: ModuleIndex, choice: Modules,
                        carried: list[tuple[str, str, frozenset[str]]]) -> dict[str, list[str]]:
    """What the target's own dnf must be told so it does not fight the installed packages.

    carried: (name, normalised NEVRA, provided names) of every package the bundle carries. A
    module whose default stream ships a package name that a carried non-modular package has or
    provides (MySQL community's packages vs el8's ``mysql`` module) would make the host's dnf
    hide or replace them: disable it, as `dnf module disable` does. Streams the manifest
    enables are enabled.
    """
    modular = set().union(*index.streams.values()) if index.streams else set()
    plain_names: set[str] = set()
    for name, nevra, provides in carried:
        if nevra not in modular:
            plain_names |= {name} | set(provides)
    enabled = dict(choice.enable)
    disable = set(choice.disable)
    for module, stream in index.defaults.items():
        if module in enabled or (module, stream) not in index.streams:
            continue
        if {nevra.rsplit("-", 2)[0] for nevra in index.streams[(module, stream)]} & plain_names:
            disable.add(module)
    return {"enable": [f"{m}:{s}" for m, s in sorted(enabled.items())], "disable": sorted(disable)}
