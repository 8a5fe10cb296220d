"""Where a program is: the one ``which`` of the onsite code.

PATH decides (the lab narrows PATH to hide tools, and so may a customer); callers that know a
program may live outside PATH (database servers in /usr/libexec) name those directories.
"""

import os

DEFAULT_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# where RHEL and the vendors put server binaries that are often not on a user's PATH
SERVER_DIRS = ("/usr/bin", "/usr/sbin", "/usr/libexec")


def which(name, extra_dirs=()):
    """Absolute path of the executable name, or None."""
    dirs = os.environ.get("PATH", DEFAULT_PATH).split(os.pathsep) + list(extra_dirs)
    for directory in dirs:
        path = os.path.join(directory, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def first(names, extra_dirs=()):
    """The first of names (e.g. ('mariadb', 'mysql')) that exists, or None."""
    for name in names:
        path = which(name, extra_dirs)
        if path:
            return path
    return None
