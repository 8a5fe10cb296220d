"""Plain records of the build side: resolved packages, the resolution, and the closure proof's
package facts and outcome.

Kept apart from ``resolve`` so that lock, fetch, signatures and compat read these types without
importing libsolv (only ``resolve`` and ``closure`` talk to the solver).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from builder.containment import rpm_filename

LOCAL_REPO_ID = "@local"


@dataclass(frozen=True, slots=True)  # slots: 70k of these on a big repo
class ResolvedPackage:
    name: str
    epoch: str
    version: str
    release: str
    arch: str
    repo: str
    location: str  # relative to the repo's baseurl; an absolute path for local RPMs
    sha256: str
    size: int
    requires: tuple[str, ...] = ()
    checksum: str = ""  # "type:hex" as the repo metadata gives it (sha256 for modern repos)

    @property
    def nevra(self) -> str:
        epoch = f"{self.epoch}:" if self.epoch and self.epoch != "0" else ""
        return f"{self.name}-{epoch}{self.version}-{self.release}.{self.arch}"

    @property
    def filename(self) -> str:
        """The payload name, from the NEVRA (checked safe and against the RPM header), never the href."""
        return rpm_filename(self.name, self.version, self.release, self.arch)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "epoch": self.epoch or "0", "version": self.version,
                "release": self.release, "arch": self.arch, "repo": self.repo,
                "location": self.location, "sha256": self.sha256, "size": self.size}


@dataclass
class Resolution:
    target: str
    packages: list[ResolvedPackage] = field(default_factory=list)  # everything to carry
    baseline_upgrades: list[ResolvedPackage] = field(default_factory=list)
    baseline_removals: list[str] = field(default_factory=list)  # NEVRAs obsoleted/replaced
    baseline: list[str] = field(default_factory=list)  # NEVRAs assumed installed
    bootstrap: list[ResolvedPackage] = field(default_factory=list)  # python3 for el7 onsite
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    testcase: str = ""
    baseline_repos: tuple[str, ...] = ()  # the repos the baseline was solved in (given or inferred)
    # el8+: module states the host's dnf must get (modularity.host_module_changes)
    host_modules: dict[str, list[str]] = field(default_factory=lambda: {"enable": [], "disable": []})
    # facts for the closure proof, read from the loaded metadata (not part of the JSON plan)
    world: Any = field(default=None, repr=False, compare=False)   # resolve.WorldSource

    def to_json(self, with_packages: bool = True) -> dict[str, Any]:
        """with_packages=False: without the (large) "packages" list, for streaming writers."""
        data = {
            "target": self.target,
            "packages": [p.to_json() for p in self.packages] if with_packages else None,
            "baseline_upgrades": [p.to_json() for p in self.baseline_upgrades],
            "baseline_removals": self.baseline_removals,
            "baseline": self.baseline,
            "bootstrap": [p.to_json() for p in self.bootstrap],
            "host_modules": self.host_modules,
            "problems": self.problems,
            "warnings": self.warnings,
        }
        if not with_packages:
            del data["packages"]
        return data


@dataclass(frozen=True, slots=True)
class PackageFacts:
    """What rpm sees of one package: identity, dependencies and the files others require."""

    name: str
    evr: str  # [epoch:]version-release
    arch: str
    origin: str  # repo id, or "rpm:<file>" when read from a downloaded RPM header
    provides: tuple[str, ...] = ()
    requires: tuple[str, ...] = ()
    conflicts: tuple[str, ...] = ()
    obsoletes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # only files some package may require (paths)

    @property
    def nevra(self) -> str:
        return f"{self.name}-{self.evr}.{self.arch}"


@dataclass
class Proof:
    """The outcome; ``failures`` name each unmet dependency and the package that needs it."""

    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    checked_packages: int = 0
    checked_requires: int = 0
    source: str = "metadata"

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        if self.failures:
            return f"{len(self.failures)} problems: " + "; ".join(self.failures[:20]) + \
                (" ..." if len(self.failures) > 20 else "")
        return (f"baseline + {self.checked_packages} packages closed: {self.checked_requires} requires met, "
                f"no conflicts, every upgrade/replacement listed ({self.source})")

    def to_json(self) -> dict[str, Any]:
        return {"passed": self.passed, "source": self.source, "failures": self.failures,
                "checked_packages": self.checked_packages, "checked_requires": self.checked_requires}
