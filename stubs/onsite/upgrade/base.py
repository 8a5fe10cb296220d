"""What an update applies to, what it changes on this host, and the RPMs kept for a way back.

An update bundle's lock names the lock it applies to and that lock's packages (builder/update.py).
The packages the update carries must be installed here at exactly the old lock's build (or, for a
run resumed after a kill, already at the new one); the others at that build or newer (a site may
have applied OS errata since). install and upgrade keep every RPM they install under
/var/lib/ha-installer/packages, with its sha256 in the journal, so a failed upgrade can put the
previous builds back with ``rpm -U --oldpackage`` although the site has no repository.
"""

import os
import re
import shutil
import time

from onsite.core import fileops, payload, state
from onsite.core.errors import BAD_INPUT, OnsiteError
from onsite.host import rpmdb

KEEP_DIR = "/var/lib/ha-installer/packages"
DB_SERVERS = ("mysql-community-server", "mariadb-server", "MariaDB-server", "mysql-server")
# the packages released together with each server (their Requires pin one another's version)
DB_FAMILIES = {"mysql-community-server": "mysql-community-", "mariadb-server": "mariadb",
               "MariaDB-server": "MariaDB-", "mysql-server": "mysql"}
SAFE_FILENAME = re.compile(r"^rpms/[A-Za-z0-9][A-Za-z0-9._+~^-]*\.rpm$")


def evr_of(pkg):
    return (str(pkg.get("epoch") or "0"), pkg["version"], pkg["release"])


def evr_text(evr):
    epoch, version, release = evr
    return ("" if str(epoch) == "0" else str(epoch) + ":") + "{}-{}".format(version, release)


def has_exactly(have, name, arch, evr):
    return any(rpmdb.evr_cmp(e, v, r, *evr) == 0 for e, v, r in have.get((name, arch), []))


def carried(lock):
    """The RPMs this payload carries (an update: only its new or changed ones); every filename
    checked (it becomes a path: never trusted as it comes)."""
    pkgs = payload.locked_packages(lock)
    update = lock.get("update")
    if update:
        names = set(update.get("carried") or [])
        pkgs = [p for p in pkgs if p["filename"] in names]
    bad = [p["filename"] for p in pkgs if not SAFE_FILENAME.match(p["filename"])]
    if bad:
        raise OnsiteError("payload-rpm-name-unsafe", {"count": len(bad)}, context=bad[:10], exit_code=BAD_INPUT)
    return pkgs


def base_problems(lock, have):
    """Lines naming each package whose installed build is not one the update applies to."""
    update = lock.get("update")
    if not update:
        return []
    new = {(p["name"], p["arch"]): p for p in carried(lock)}
    problems = []
    for old in update["from"]["packages"]:
        key = (old["name"], old["arch"])
        if key in new:
            if has_exactly(have, key[0], key[1], evr_of(old)) or has_exactly(have, key[0], key[1], evr_of(new[key])):
                continue        # the build it replaces, or already the new one (a resumed run)
            want = evr_text(evr_of(old))
        elif rpmdb.satisfied(old, have):
            continue            # not touched by the update: that build or newer (OS errata) is fine
        else:
            want = evr_text(evr_of(old)) + " or newer"
        found = ", ".join(evr_text(e) for e in have.get(key, [])) or "not installed"
        problems.append("{}.{}: {} here, the update expects {}".format(key[0], key[1], found, want))
    return problems


def todo(lock, have):
    """The carried packages not installed at exactly their locked build."""
    return [p for p in carried(lock) if not has_exactly(have, p["name"], p["arch"], evr_of(p))]


def downgrades(lock, pkgs, have):
    """(allowed, refused): packages of pkgs older than the build installed now; allowed are
    those the update lists as downgraded (the build engineer passed --allow-downgrade)."""
    listed = {(c["name"], c["arch"]) for c in ((lock.get("update") or {}).get("changes") or {}).get("downgraded", [])}
    allowed, refused = [], []
    for pkg in pkgs:
        builds = have.get((pkg["name"], pkg["arch"]), [])
        if builds and all(rpmdb.evr_cmp(e, v, r, *evr_of(pkg)) > 0 for e, v, r in builds):
            (allowed if (pkg["name"], pkg["arch"]) in listed else refused).append(payload.nevra(pkg))
    return allowed, refused


def kept_path(name, arch, evr):
    _epoch, version, release = evr
    return os.path.join(KEEP_DIR, "{}-{}-{}.{}.rpm".format(name, version, release, arch))


def keep(files):
    """Copy installed RPM files into KEEP_DIR (once each), journalled first (uninstall removes
    them) with their sha256 (a kept file is checked before it is used)."""
    if not os.path.isdir(KEEP_DIR):
        state.append("created_dirs", KEEP_DIR)
        os.makedirs(KEEP_DIR, 0o700)
    for path in files:
        dest = os.path.join(KEEP_DIR, os.path.basename(path))
        digest = fileops.sha256_of(path)
        kept = state.load().get("kept_rpms") or {}
        if os.path.isfile(dest) and kept.get(os.path.basename(dest)) == digest:
            continue                           # kept before, with this very digest
        state.append("created", dest)
        shutil.copyfile(path, dest + ".partial")
        os.chmod(dest + ".partial", 0o600)
        os.rename(dest + ".partial", dest)
        journal = state.load()
        journal.setdefault("kept_rpms", {})[os.path.basename(dest)] = digest
        state.save(journal)


def way_back(lock, pkgs, have):
    """(replaced, added, missing): for each package about to change, the kept RPM of the build
    installed now (its sha256 checked against the old lock's, else against the one recorded
    when it was kept), the packages new to this host ({name, arch, evr}), and the builds no
    good kept RPM exists for."""
    update = lock.get("update") or {}
    old_sha = {(p["name"], p["arch"]): p.get("sha256") for p in (update.get("from") or {}).get("packages", [])}
    recorded = state.load().get("kept_rpms") or {}
    replaced, added, missing = [], [], []
    for pkg in pkgs:
        key = (pkg["name"], pkg["arch"])
        builds = have.get(key, [])
        if not builds:
            added.append({"name": key[0], "arch": key[1], "evr": list(evr_of(pkg))})
            continue
        for evr in builds:
            path = kept_path(key[0], key[1], evr)
            want = old_sha.get(key) or recorded.get(os.path.basename(path))
            if not os.path.isfile(path) or not want or fileops.sha256_of(path) != want:
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


def in_db_family(server, name):
    prefix = DB_FAMILIES.get(server)
    return bool(prefix) and name.startswith(prefix)


def major_minor(version):
    parts = version.split(".")[:2]
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


def rename_added(root, lock, added_here):
    """install's list of the packages it added (uninstall --remove-packages erases them) follows
    the upgrade: the new build's NEVRA for each one upgraded, plus those the upgrade added
    (added_here: [{name, arch, evr}])."""
    journal = state.load(root)
    entry = journal.get("steps", {}).get("install")
    if not entry or not isinstance(entry.get("added"), list):
        return
    new = {(p["name"], p["arch"]): payload.nevra(p) for p in payload.locked_packages(lock)}
    old = {payload.nevra(p): (p["name"], p["arch"])
           for p in ((lock.get("update") or {}).get("from") or {}).get("packages", [])}
    names = [new.get(old.get(n), n) for n in entry["added"]]
    for item in added_here:
        nevra = new.get((item["name"], item["arch"]))
        if nevra and nevra not in names:
            names.append(nevra)
    entry["added"] = names
    state.save(journal, root)
