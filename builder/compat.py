"""Compatibility checks beyond the solver: what a solvable set can still get wrong on a real host.

Two moments: ``check()`` after resolution (arch, glibc/openssl sonames against the baseline,
known conflicts with what customers' hosts often carry) and ``check_rpm_files()`` after download
(``rpmlib(...)`` features and payload compression the target's own rpm must support; createrepo
drops rpmlib requires from primary.xml, so only the RPM headers tell).
Per-target facts are data (tables below), not branches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
import rpmfile

from builder.manifest import Manifest
from builder.packages import Proof, Resolution

# rpmlib() features each rpm release understands (rpm 4.11.3 on el7, 4.14.3 on el8 and Anolis 8,
# 4.15 on Kylin V10, 4.16 on el9, 4.17 on openEuler 22.03, 4.18 on openEuler 24.03), from
# `rpm --showrc`/`rpm -q --querytags` of those releases (docs/targets.md).
_COMMON = {"CompressedFileNames", "PayloadFilesHavePrefix", "FileDigests", "PayloadIsBzip2", "PayloadIsXz",
           "PayloadIsLzma", "PartialHardlinkSets", "ScriptletInterpreterArgs", "VersionedDependencies",
           "HeaderLoadSortsTags", "ExplicitPackageProvide", "TildeInVersions", "BuiltinLuaScripts",
           "FileCaps", "ScriptletExpansion", "LargeFiles"}
_RPM_414 = _COMMON | {"RichDependencies", "PayloadIsZstd", "CaretInVersions"}
_RPM_416 = _RPM_414 | {"DynamicBuildRequires"}
RPMLIB_FEATURES: dict[str, set[str]] = {
    "4.11": _COMMON, "4.14": _RPM_414, "4.15": _RPM_414, "4.16": _RPM_416, "4.17": _RPM_416, "4.18": _RPM_416,
}
# payload compressors each rpm release can unpack
PAYLOAD_COMPRESSORS: dict[str, set[str]] = {
    "4.11": {"gzip", "bzip2", "xz", "lzma"},
    **{v: {"gzip", "bzip2", "xz", "lzma", "zstd"} for v in ("4.14", "4.15", "4.16", "4.17", "4.18")},
}
# the rpm release of each target: (os id, os_major) for the non-RHEL systems, else the el major
TARGET_RPM: dict[tuple[str, str], str] = {
    ("openeuler", "22"): "4.17", ("openeuler", "24"): "4.18", ("kylin", "10"): "4.15", ("anolis", "8"): "4.14",
}
EL_RPM = {"7": "4.11", "8": "4.14", "9": "4.16"}


def target_rpm(manifest: Manifest) -> str | None:
    """The rpm release the target runs (None: not in the tables)."""
    t = manifest.target
    for os_id in t.os_ids:
        if (os_id, t.os_major) in TARGET_RPM:
            return TARGET_RPM[(os_id, t.os_major)]
    return EL_RPM.get(t.os_major)


@dataclass(frozen=True)
class KnownConflict:
    """A package in the bundle that clashes with something customer hosts often have."""

    os_majors: tuple[str, ...]
    when_carried: str  # package name in the bundle
    customer_has: str  # package customers often have installed
    needs: str  # package that must then also be carried ("" = just warn)
    detail: str


KNOWN_CONFLICTS = (
    KnownConflict(("7",), "mysql-community-libs", "postfix", "mysql-community-libs-compat",
                  "mysql-community-libs obsoletes mariadb-libs, and el7's postfix needs libmysqlclient.so.18, "
                  "which only mysql-community-libs-compat then provides"),
    KnownConflict(("7", "8", "9"), "mysql-community-server", "mariadb-server", "",
                  "a host with mariadb-server installed will have it replaced (obsoleted); "
                  "its data directory must be backed up first"),
    KnownConflict(("8",), "mysql-community-server", "mysql-server", "",
                  "el8's mysql module must be disabled ([modules] disable = [\"mysql\"])"),
)
# the distribution a build was made for, from its release: 317.el7 -> el7, 1.module_el8.6.0+... -> el8,
# 2.oe2203sp3 -> oe2203, 5.ky10 -> ky10, 1.an8 -> an8
_DIST_TAG_RE = re.compile(r"(?:^|\.)(?:module[_+])?([a-z]{2,}\d+)")
_SONAME_RE = re.compile(r"^(libc\.so\.6|libcrypto\.so\.[0-9.]+|libssl\.so\.[0-9.]+)\(([^)]*)\)")


@dataclass
class Report:
    rows: list[tuple[str, str, str, str]] = field(default_factory=list)  # check, subject, status, detail

    def add(self, check: str, subject: str, status: str, detail: str) -> None:
        self.rows.append((check, subject, status, detail))

    @property
    def failures(self) -> list[str]:
        return [f"{c} {s}: {d}" for c, s, st, d in self.rows if st == "FAIL"]

    def to_json(self) -> list[dict[str, str]]:
        return [{"check": c, "subject": s, "status": st, "detail": d} for c, s, st, d in self.rows]


def check(manifest: Manifest, res: Resolution, proof: Proof | None = None) -> Report:
    report = Report()
    if proof is not None:
        report.add("closure", "baseline + bundle", "PASS" if proof.passed else "FAIL", proof.summary())
    arch = manifest.target.basearch
    bad_arch = [p.nevra for p in res.packages if p.arch not in (arch, "noarch")]
    report.add("arch", arch, "FAIL" if bad_arch else "PASS",
               f"not {arch}/noarch: {', '.join(bad_arch)}" if bad_arch else f"all {len(res.packages)} are {arch} or noarch")

    upgraded = {p.name: p for p in res.baseline_upgrades}
    needs: dict[str, set[str]] = {}
    for p in res.packages:
        for req in p.requires:
            m = _SONAME_RE.match(req)
            if m:
                needs.setdefault(m.group(1), set()).add(m.group(2) or "")
    for soname, versions in sorted(needs.items()):
        family = "glibc" if soname.startswith("libc.") else "openssl-libs"
        symbol_versions = sorted(v for v in versions if v and v != "64bit")
        subject = f"{soname} {' '.join(symbol_versions)}".strip()
        if family in upgraded:
            report.add("abi", subject, "WARN",
                       f"the bundle upgrades the target's {family} to {upgraded[family].nevra}: test this host image")
        else:
            report.add("abi", subject, "PASS", f"provided by the target's own {family}")

    carried = {p.name for p in res.packages}
    baseline_names = {nevra.rsplit("-", 2)[0] for nevra in res.baseline}
    for kc in KNOWN_CONFLICTS:
        if manifest.target.os_major not in kc.os_majors or kc.when_carried not in carried:
            continue
        if kc.needs and kc.needs not in carried:
            report.add("conflict", f"{kc.when_carried} vs {kc.customer_has}",
                       "FAIL" if kc.customer_has in baseline_names else "WARN",
                       f"{kc.detail}; add {kc.needs} to [install] packages")
        elif kc.needs:
            report.add("conflict", f"{kc.when_carried} vs {kc.customer_has}", "PASS", f"{kc.needs} is carried")
        else:
            report.add("conflict", f"{kc.when_carried} vs {kc.customer_has}", "WARN", kc.detail)
    for nevra in res.baseline_removals:
        report.add("replaces", nevra, "WARN", "this package of the target's base install will be replaced")
    _origin(report, res, proof)
    _keepalived_floor(report, res)
    return report


KEEPALIVED_FLOOR = (2, 0, 20)   # onsite writes keepalived.conf with 2.0.20's keywords (failover/keepalived.py)


def _at_least(version: str, floor: tuple[int, ...]) -> bool:
    """version >= floor as rpm orders them for keepalived's x.y.z numbers: "~" marks a
    pre-release (2.0.20~rc1 is older than 2.0.20), a letter suffix a later build (2.0.20a)."""
    release, tilde, _pre = version.partition("~")
    numbers = tuple(int(part) for part in re.findall(r"\d+", release)[:3])
    return numbers > floor or (numbers == floor and not tilde)


def _keepalived_floor(report: Report, res: Resolution) -> None:
    """The keepalived the bundle carries should read the configuration onsite writes: 2.0.20 or
    later (el7's own 1.3.5 has no track_file and no `-t` check). WARN, not FAIL: onsite's
    `keepalived -t` refuses a configuration the installed keepalived cannot read."""
    floor = ".".join(map(str, KEEPALIVED_FLOOR))
    for p in res.packages:
        if p.name != "keepalived":
            continue
        if _at_least(p.version, KEEPALIVED_FLOOR):
            report.add("keepalived", p.nevra, "PASS", f"{p.version} reads the configuration onsite writes "
                       f"(keepalived {floor} keywords)")
        else:
            report.add("keepalived", p.nevra, "WARN", f"{p.version} is older than {floor}, the oldest keepalived "
                       f"the onsite configuration is written for: carry a {floor} or later build (local_rpms)")


def dist_tag(release: str) -> str | None:
    match = _DIST_TAG_RE.search(release)
    return match.group(1) if match else None


def _origin(report: Report, res: Resolution, proof: Proof | None) -> None:
    """A carried package built for another distribution than the target's own (its release tag,
    e.g. .el8 on an openEuler target) is named, with whether the target's own packages meet
    its requires (the closure proof)."""
    tags: dict[str, int] = {}
    own = None
    for nevra in res.baseline:
        tag = dist_tag(nevra.rsplit("-", 1)[-1].rsplit(".", 1)[0])
        if tag:
            tags[tag] = tags.get(tag, 0) + 1
            if nevra.rsplit("-", 2)[0] == "glibc":
                own = tag              # the C library says which distribution this is
    if not tags:
        return
    own = own or max(sorted(tags), key=lambda t: tags[t])
    met = "met" if proof is None or proof.passed else "NOT met (see the closure row)"
    for p in res.packages:
        tag = dist_tag(p.release)
        if tag and tag != own:
            report.add("origin", p.nevra, "WARN" if proof is None or proof.passed else "FAIL",
                       f"built for {tag}, the target's own packages are {own}; its requires are {met} by the "
                       "target's baseline and the bundle: test it on this OS")


def check_rpm_files(manifest: Manifest, files: list[Path]) -> Report:
    """rpmlib() features and payload compression against the target's rpm, from RPM headers."""
    report = Report()
    release = target_rpm(manifest)
    subject = f"{manifest.target.name} rpm {release}" if release else f"{manifest.target.name} rpm"
    features = RPMLIB_FEATURES.get(release or "")
    compressors = PAYLOAD_COMPRESSORS.get(release or "")
    if features is None or compressors is None:
        report.add("rpmlib", subject, "WARN", "no rpm feature table for this OS release; not checked")
        return report
    bad: list[str] = []
    for path in files:
        with rpmfile.open(str(path)) as rpm:
            h = rpm.headers
        names = h.get("requirename") or []
        names = names if isinstance(names, (list, tuple)) else [names]
        for raw in names:
            req = raw.decode() if isinstance(raw, bytes) else str(raw)
            if req.startswith("rpmlib(") and req[7:-1] not in features:
                bad.append(f"{path.name} needs {req}")
        comp = h.get("archive_compression") or b"gzip"
        comp = comp.decode() if isinstance(comp, bytes) else str(comp)
        if comp not in compressors:
            bad.append(f"{path.name} has a {comp} payload")
    report.add("rpmlib", subject, "FAIL" if bad else "PASS",
               "; ".join(bad) + " (the target's rpm cannot install these)" if bad
               else f"all {len(files)} RPMs use features the target's rpm supports")
    return report
