"""The lockfile (bundle.lock.json) and the SBOM (CycloneDX 1.5 JSON) of a fetched target.

Both are pure functions of their inputs, so the same inputs give byte-identical files (the .run's
reproducibility rests on it): no wall-clock time unless SOURCE_DATE_EPOCH says so.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from builder import __version__, reproducible
from builder.manifest import Manifest
from builder.repos import RepoMetadata
from builder.packages import LOCAL_REPO_ID, Proof, ResolvedPackage, Resolution

LOCK_NAME = "bundle.lock.json"
SBOM_NAME = "sbom.cdx.json"
LOCK_VERSION = 1


def created_epoch(metas: list[RepoMetadata]) -> int:
    """SOURCE_DATE_EPOCH if set, else the newest repo revision: stable for the same inputs."""
    fixed = reproducible.source_date_epoch()
    if fixed is not None:
        return fixed
    revisions = [int(m.revision) for m in metas if m.revision.isdigit()]
    return max(revisions) if revisions else 0


def _entry(pkg: ResolvedPackage) -> dict[str, Any]:
    data = pkg.to_json()
    if pkg.repo == LOCAL_REPO_ID:
        data["location"] = pkg.filename  # the engineer's path is not part of the product
    data["filename"] = f"rpms/{pkg.filename}"
    return data


def make_lock(m: Manifest, res: Resolution, packages: list[ResolvedPackage], metas: list[RepoMetadata],
              proof: Proof | None = None) -> dict[str, Any]:
    by_name = {p.nevra: p for p in packages}
    upgrades = [by_name.get(p.nevra, p) for p in res.baseline_upgrades]
    data = {
        "lock_version": LOCK_VERSION,
        "tool": f"ha-bundle {__version__}",
        "created": created_epoch(metas),
        "target": {"name": m.target.name, "releasever": m.target.releasever, "basearch": m.target.basearch,
                   "os_ids": list(m.target.os_ids), "os_major": m.target.os_major,
                   **({"os_versions": list(m.target.os_versions)} if m.target.os_versions else {}),
                   **({"platform_id": m.target.platform_id} if m.target.platform_id else {})},
        "manifest": {"path": m.path.name, "sha256": m.sha256},
        # ids and repomd digests only: the baseurl (checkout path, --mirror) is in the build record
        "repos": [{"id": meta.repo.id, "repomd_sha256": meta.repomd_sha256} for meta in metas],
        "modules": {"enable": [f"{n}:{s}" for n, s in m.modules.enable], "disable": list(m.modules.disable)},
        # what onsite install writes to /etc/dnf/modules.d (journalled, undone by uninstall)
        "host_modules": res.host_modules,
        "packages": [_entry(p) for p in packages],
        "baseline": res.baseline,
        "baseline_upgrades": [_entry(p) for p in upgrades],
        "baseline_removals": res.baseline_removals,
        "bootstrap": [f"rpms/{p.filename}" for p in res.bootstrap],
    }
    if proof is not None:  # the closure proof passed on these very files (builder/closure.py)
        data["closure_proof"] = {"passed": proof.passed, "source": proof.source,
                                 "checked_packages": proof.checked_packages,
                                 "checked_requires": proof.checked_requires}
    return data


def lock_digest(lock: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(lock, sort_keys=True).encode()).hexdigest()


def _purl(p: dict[str, Any]) -> str:
    """package-url for an RPM, every component percent-encoded (purl spec)."""
    qualifiers = f"arch={quote(str(p['arch']), safe='')}"
    if str(p["epoch"]) not in ("", "0"):
        qualifiers += f"&epoch={quote(str(p['epoch']), safe='')}"
    version = quote(f"{p['version']}-{p['release']}", safe="")
    return f"pkg:rpm/{quote(str(p['name']), safe='')}@{version}?{qualifiers}"


def make_sbom(lock: dict[str, Any]) -> dict[str, Any]:
    digest = lock_digest(lock)
    timestamp = datetime.fromtimestamp(lock["created"], tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    name = f"ha-installer-{lock['target']['name']}"
    return {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'ha-bundle:' + digest)}",
        "version": 1,
        "metadata": {
            "timestamp": timestamp,
            "tools": {"components": [{"type": "application", "name": "ha-bundle", "version": __version__}]},
            "component": {"type": "application", "name": name, "version": digest[:12],
                          "bom-ref": name},
        },
        "components": [
            {"type": "library", "bom-ref": _purl(p), "name": p["name"],
             "version": f"{p['version']}-{p['release']}", "purl": _purl(p),
             "hashes": [{"alg": "SHA-256", "content": p["sha256"]}],
             "properties": [{"name": "ha-bundle:repo", "value": p["repo"]},
                            {"name": "ha-bundle:arch", "value": p["arch"]}]}
            for p in lock["packages"]
        ] + _app_components(lock.get("app")),
    }


def _app_components(app: dict[str, Any] | None) -> list[dict[str, Any]]:
    """The app release as one application component holding a file component per file."""
    if not app:
        return []
    return [{
        "type": "application", "bom-ref": f"app:{app['name']}@{app['version']}", "name": app["name"],
        "version": app["version"],
        "hashes": [{"alg": "SHA-256", "content": app["tree_sha256"]}],
        "properties": [{"name": "ha-bundle:files", "value": str(len(app["files"]))}],
        "components": [{"type": "file", "bom-ref": f"app:{app['name']}@{app['version']}:{f['path']}",
                        "name": f["path"], "hashes": [{"alg": "SHA-256", "content": f["sha256"]}]}
                       for f in app["files"]],
    }]
