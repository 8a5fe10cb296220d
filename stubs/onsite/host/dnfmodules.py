"""el8+ dnf module states in /etc/dnf/modules.d, written the way `dnf module disable/enable` does.

The bundle's lock says which streams the carried packages need enabled and which modules the
host's own dnf must leave alone (``host_modules``, decided at build time: e.g. el8's default
``mysql`` stream would hide or replace MySQL community packages). dnf keeps that state as one
INI file per module under <root>/etc/dnf/modules.d; the files belong to the rpm root (dnf
--installroot reads them there), so they follow ``--root``, and are journalled there too:
``uninstall`` puts back what was there before.
"""

import os
import re

from onsite.core import fileops

MODULES_D = os.path.join("etc", "dnf", "modules.d")
# module and stream names come from repo metadata: never let one become a path
_SAFE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*$")


def render(module, stream, state):
    """The exact text dnf 4 writes for `dnf module enable M:S` / `dnf module disable M`."""
    return "[{m}]\nname={m}\nstream={s}\nprofiles=\nstate={st}\n".format(m=module, s=stream, st=state)


def wanted(lock):
    """[(module, stream, state)] from the lock's host_modules; [] for bundles without modules.
    Names that are not plain module names are skipped (they never become file names)."""
    spec = lock.get("host_modules") or {}
    out = []
    for entry in spec.get("enable") or []:
        module, _, stream = str(entry).partition(":")
        if _SAFE.match(module) and _SAFE.match(stream):
            out.append((module, stream, "enabled"))
    for module in spec.get("disable") or []:
        if _SAFE.match(str(module)):
            out.append((str(module), "", "disabled"))
    return out


def path_for(root, module):
    return os.path.join(root or "/", MODULES_D, module + ".module")


def apply(lock, root="/"):
    """Write each module's state unless it is already so; returns the paths written."""
    changes = wanted(lock)
    written = []
    if not changes:
        return written
    directory = os.path.join(root or "/", MODULES_D)
    if not os.path.isdir(directory):
        fileops.ensure_dir(directory, 0o755, journal_root=root)
    for module, stream, state in changes:
        path = path_for(root, module)
        changed, _ = fileops.install(path, render(module, stream, state), 0o644, journal_root=root)
        if changed:
            written.append(path)
    return written
