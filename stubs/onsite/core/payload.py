"""Where the extracted bundle is and what its lock says.

The header exports HA_INSTALLER_PAYLOAD; run from a source tree or an unpacked --noexec
directory, the payload is the directory that holds this onsite package.
"""

import json
import os

from onsite.core.errors import BAD_INPUT, OnsiteError


def payload_dir():
    env = os.environ.get("HA_INSTALLER_PAYLOAD")
    if env:
        return env
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # .../onsite
    return os.path.dirname(package)


def load_lock(directory=None):
    """The parsed bundle.lock.json of the payload."""
    directory = directory or payload_dir()
    path = os.path.join(directory, "bundle.lock.json")
    try:
        with open(path) as handle:
            return json.load(handle)
    except (OSError, ValueError):
        raise OnsiteError("payload-missing", {"path": path}, exit_code=BAD_INPUT)


def locked_packages(lock):
    """Packages and baseline upgrades, one per filename, sorted by filename."""
    seen = {}
    for section in ("packages", "baseline_upgrades"):
        for pkg in lock.get(section) or []:
            seen.setdefault(pkg["filename"], pkg)
    return [seen[name] for name in sorted(seen)]


def nevra(pkg):
    epoch = str(pkg.get("epoch") or "0")
    evr = "{}-{}".format(pkg["version"], pkg["release"])
    if epoch != "0":
        evr = epoch + ":" + evr
    return "{}-{}.{}".format(pkg["name"], evr, pkg["arch"])
