"""What an update applies to, what it changes on this host, and the RPMs kept for a way back.

An update bundle's lock names the lock it applies to and that lock's packages (builder/update.py);
this host must have exactly those installed (or, for a run resumed after a kill, already the new
build of a package the update carries). install and upgrade keep every RPM they install under
/var/lib/ha-installer/packages, so a failed upgrade can put the previous builds back with
``rpm -U --oldpackage`` although the site has no repository.
"""

import hashlib
import os
import shutil
import time

from onsite.core import payload, state
from onsite.host import rpmdb

KEEP_DIR = "/var/lib/ha-installer/packages"
DB_SERVERS = ("mysql-community-server", "mariadb-server", "MariaDB-server", "mysql-server")


def evr_of(pkg):
    return (str(pkg.get("epoch") or "0"), pkg["version"], pkg["release"])


def evr_text(evr):
    epoch, version, release = evr
    return ("" if str(epoch) == "0" else str(epoch) + ":") + "{}-{}".format(version, release)


def has_exactly(have, name, arch, evr):
    return any(rpmdb.evr_cmp(e, v, r, *evr) == 0 for e, v, r in have.get((name, arch), []))


def carried(lock):
    """The RPMs this payload carries (an update: only its new or changed ones)."""
    pkgs = payload.locked_packages(lock)
    update = lock.get("update")
    if not update:
        return pkgs
    names = set(update.get("carried") or [])
    return [p for p in pkgs if p["filename"] in names]


def base_problems(lock, have):
    """Lines naming each package whose installed build is not the one the update applies to."""
    update = lock.get("update")
    if not update:
        return []
    new = {(p["name"], p["arch"]): p for p in carried(lock)}
    problems = []
    for old in update["from"]["packages"]:
        key = (old["name"], old["arch"])
        if has_exactly(have, key[0], key[1], evr_of(old)):
            continue
        if key in new and has_exactly(have, key[0], key[1], evr_of(new[key])):
            continue           # already upgraded by a run that was interrupted
        found = ", ".join(evr_text(e) for e in have.get(key, [])) or "not installed"
        problems.append("{}.{}: {} here, the update expects {}".format(key[0], key[1], found,
                                                                     evr_text(evr_of(old))))
    return problems


def todo(lock, have):
    """The carried packages not installed at exactly their locked build."""
    return [p for p in carried(lock) if not has_exactly(have, p["name"], p["arch"], evr_of(p))]


def kept_path(name, arch, evr):
    epoch, version, release = evr
    del epoch
    return os.path.join(KEEP_DIR, "{}-{}-{}.{}.rpm".format(name, version, release, arch))


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def keep(files):
    """Copy installed RPM files into KEEP_DIR (once each); journalled so uninstall removes them."""
    if not os.path.isdir(KEEP_DIR):
        state.append("created_dirs", KEEP_DIR)
        os.makedirs(KEEP_DIR, 0o700)
    for path in files:
        dest = os.path.join(KEEP_DIR, os.path.basename(path))
        if os.path.isfile(dest) and os.path.getsize(dest) == os.path.getsize(path):
            continue
        state.append("created", dest)          # journalled first: uninstall removes it
        shutil.copyfile(path, dest + ".partial")
        os.chmod(dest + ".partial", 0o600)
        os.rename(dest + ".partial", dest)


def way_back(lock, pkgs, have):
    """(replaced, added, missing): for each package about to change, the kept RPM of the build
    installed now (checked against the old lock's sha256 when the update names it), the
    packages that are new to this host, and the builds no kept RPM exists for."""
    update = lock.get("update") or {}
    old_sha = {(p["name"], p["arch"]): p.get("sha256") for p in (update.get("from") or {}).get("packages", [])}
    replaced, added, missing = [], [], []
    for pkg in pkgs:
        key = (pkg["name"], pkg["arch"])
        builds = have.get(key, [])
        if not builds:
            added.append(payload.nevra(pkg))
            continue
        for evr in builds:
            path = kept_path(key[0], key[1], evr)
            want = old_sha.get(key)
            if not os.path.isfile(path) or (want and _sha256(path) != want):
                missing.append("{}-{}.{}".format(key[0], evr_text(evr), key[1]))
            else:
                replaced.append(path)
    return replaced, added, missing


def db_server_change(lock, have):
    """(name, from version, to version) when the update changes the database server package."""
    for pkg in carried(lock):
        if pkg["name"] in DB_SERVERS:
            builds = have.get((pkg["name"], pkg["arch"]), [])
            if builds and not has_exactly(have, pkg["name"], pkg["arch"], evr_of(pkg)):
                return pkg["name"], builds[0][1], pkg["version"]
    return None


def major_minor(version):
    parts = [p for p in version.split(".")[:2]]
    return tuple(int("".join(ch for ch in p if ch.isdigit()) or 0) for p in parts)


def record_installed(lock_sha, lock):
    """Journal which bundle lock this host now runs (upgrade checks it, status shows it)."""
    journal = state.load()
    journal["installed_lock"] = {"sha256": lock_sha, "created": lock.get("created"),
                                 "app_version": (lock.get("app") or {}).get("version"),
                                 "time": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    state.save(journal)


def keep_installed(lock, directory, root):
    """Keep the payload RPMs whose exact build is installed (the next upgrade's way back)."""
    have = rpmdb.installed(root)
    files = [os.path.join(directory, p["filename"]) for p in carried(lock)
             if has_exactly(have, p["name"], p["arch"], evr_of(p))]
    keep([f for f in files if os.path.isfile(f)])
