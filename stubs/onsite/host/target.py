"""Is this host (or the --root tree) the OS and arch the bundle was built for?

Reads <root>/etc/os-release (ID, ID_LIKE, VERSION_ID) and the machine arch, and compares
them with the lock's target: os_ids (ID or an ID_LIKE word, case-insensitive: openEuler writes
ID="openEuler"), then os_versions when the manifest gives them (VERSION_ID patterns with '*',
e.g. "22.03" or "V10" for Kylin), else os_major (VERSION_ID up to the first dot), and basearch.
What a target accepts comes from its manifest only, never from a list in this code.
"""

import fnmatch
import os
import platform
import shlex

from onsite.core.errors import BAD_INPUT, OnsiteError


def os_release(root="/"):
    """key -> value from <root>/etc/os-release (shell-quoted values unquoted)."""
    path = os.path.join(root, "etc/os-release")
    values = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, raw = line.partition("=")
            try:
                parts = shlex.split(raw)
            except ValueError:
                parts = [raw]
            values[key] = parts[0] if parts else ""
    return values


def describe_want(target):
    versions = "/".join(target.get("os_versions") or []) or target.get("os_major")
    return "{} {} {}".format("/".join(target.get("os_ids") or []), versions, target.get("basearch"))


def version_ok(target, version_id):
    """VERSION_ID against the target's os_versions patterns, else against its os_major."""
    patterns = target.get("os_versions") or []
    if patterns:
        return any(fnmatch.fnmatchcase(version_id.lower(), p.lower()) for p in patterns)
    return version_id.split(".")[0] == str(target.get("os_major"))


def check(lock, root="/"):
    """Raise OnsiteError unless the OS and arch match the bundle target; return a description."""
    target = lock.get("target") or {}
    want = describe_want(target)
    path = os.path.join(root, "etc/os-release")
    try:
        rel = os_release(root)
    except OSError:
        raise OnsiteError("os-release-missing", {"path": path, "want": want}, exit_code=BAD_INPUT)
    ids = [i.lower() for i in [rel.get("ID", "")] + rel.get("ID_LIKE", "").split()]
    have = "{} {}".format(rel.get("ID", "?"), rel.get("VERSION_ID", "?"))
    wanted_ids = set(i.lower() for i in target.get("os_ids") or [])
    if not wanted_ids.intersection(ids) or not version_ok(target, rel.get("VERSION_ID", "")):
        raise OnsiteError("wrong-os", {"have": have, "want": want}, exit_code=BAD_INPUT)
    machine = platform.machine()
    if target.get("basearch") not in (machine, "noarch"):
        raise OnsiteError("wrong-arch", {"have": machine, "want": target.get("basearch")}, exit_code=BAD_INPUT)
    return "{} ({})".format(have, machine)
