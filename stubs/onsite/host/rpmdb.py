"""Talk to rpm: what is installed, which bundle packages are still needed, run rpm -U.

Version comparison is rpm's own rpmvercmp algorithm (rpmio/rpmvercmp.c), re-implemented
because the target's python3 may have no rpm bindings. Judge rpm by its exit code and
``rpm -q``, never by stderr (Debian's rpm warns about Alien on every install).
"""

import re
import subprocess

from onsite.core import messages
from onsite.host import tools
from onsite.core.errors import BAD_INPUT, OnsiteError


def _split_alnum(text):
    return re.findall(r"~|\^|[0-9]+|[a-zA-Z]+", text)


def vercmp(a, b):
    """rpmvercmp: -1, 0 or 1 (handles ~ pre-releases and ^ snapshots)."""
    if a == b:
        return 0
    xs, ys = _split_alnum(a), _split_alnum(b)
    while xs or ys:
        x = xs.pop(0) if xs else None
        y = ys.pop(0) if ys else None
        if x == "~" or y == "~":
            if x != "~":
                return 1
            if y != "~":
                return -1
            continue
        if x == "^" or y == "^":
            if x is None:
                return -1
            if y is None:
                return 1
            if x != "^":
                return 1
            if y != "^":
                return -1
            continue
        if x is None:
            return -1
        if y is None:
            return 1
        if x.isdigit() != y.isdigit():
            return 1 if x.isdigit() else -1
        if x.isdigit():
            xi, yi = int(x), int(y)
            if xi != yi:
                return 1 if xi > yi else -1
        elif x != y:
            return 1 if x > y else -1
    return 0


def evr_cmp(e1, v1, r1, e2, v2, r2):
    """Compare (epoch, version, release) tuples like rpm."""
    c = vercmp(str(e1 or 0), str(e2 or 0)) if str(e1 or 0) != str(e2 or 0) else 0
    if c == 0:
        c = vercmp(v1, v2)
    if c == 0:
        c = vercmp(r1, r2)
    return c


def root_args(root):
    return [] if root in (None, "", "/") else ["--root", root]


def run(args, root="/", log=None):
    """Run rpm [--root R] ARGS in the C locale (explain() reads its English); return (exit
    code, combined output)."""
    cmd = ["rpm"] + root_args(root) + list(args)
    try:
        proc = tools.run(cmd)
    except OSError:
        raise OnsiteError("rpm-missing", exit_code=BAD_INPUT)
    if log is not None:
        log.write("$ " + " ".join(cmd))
        log.write(proc.stdout)
        log.write("exit {}".format(proc.returncode))
    return proc.returncode, proc.stdout


def installed(root="/"):
    """(name, arch) -> [(epoch, version, release)] of every installed package."""
    fmt = "%{NAME}\\t%{EPOCH}\\t%{VERSION}\\t%{RELEASE}\\t%{ARCH}\\n"
    cmd = ["rpm"] + root_args(root) + ["-qa", "--qf", fmt]
    try:
        proc = tools.run(cmd, stderr=subprocess.PIPE)
    except OSError:
        raise OnsiteError("rpm-missing", exit_code=BAD_INPUT)
    if proc.returncode != 0:
        where = "" if root in (None, "", "/") else " in " + root
        raise OnsiteError("rpm-query-failed", {"where": where, "rootopt": " ".join([""] + root_args(root))},
                          context=proc.stderr.strip().splitlines()[-3:])
    out = {}
    for line in proc.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) != 5:
            continue
        name, epoch, version, release, arch = parts
        epoch = "0" if epoch == "(none)" else epoch
        out.setdefault((name, arch), []).append((epoch, version, release))
    return out


def satisfied(pkg, have):
    """True when a same-or-newer build of pkg (same name and arch) is installed."""
    for epoch, version, release in have.get((pkg["name"], pkg["arch"]), []):
        if evr_cmp(epoch, version, release, pkg.get("epoch") or "0", pkg["version"], pkg["release"]) >= 0:
            return True
    return False


def needed(packages, have):
    """The locked packages that are not yet installed at the same or a newer version."""
    return [pkg for pkg in packages if not satisfied(pkg, have)]


_PATTERNS = [
    (re.compile(r"^\s*file (\S+) from install of (\S+) conflicts with file from package (\S+)"),
     lambda m: messages.text("rpm-file-conflict", path=m.group(1), a=m.group(2), b=m.group(3))),
    (re.compile(r"^\s*(.+?) is needed by (?:\(installed\) )?(\S+)$"),
     lambda m: messages.text("rpm-needs", dep=m.group(1), pkg=m.group(2))),
    (re.compile(r"^\s*(.+?) conflicts with (?:\(installed\) )?(\S+)$"),
     lambda m: messages.text("rpm-conflict", a=m.group(1), b=m.group(2))),
    (re.compile(r"^\s*(\S+) is obsoleted by (?:\(installed\) )?(\S+)$"),
     lambda m: messages.text("rpm-obsoleted", a=m.group(1), b=m.group(2))),
    (re.compile(r"^\s*package (\S+) is intended for a different architecture"),
     lambda m: messages.text("rpm-wrong-arch", a=m.group(1))),
]


def explain(output):
    """Turn rpm's problem lines into plain sentences (unknown lines are kept as they are)."""
    # Issue 11 (lead): when rpm -U --test fails because the host's installed set differs from
    # the manifest baseline, the sentence that says so belongs here (a new _PATTERNS entry and
    # its message in host/catalog.py); preflight and install both print explain()'s lines.
    out = []
    for line in output.splitlines():
        text = line.strip()
        if not text or "Alien" in text or "assuming you know what you are doing" in text \
                or text.startswith("error: Failed dependencies") \
                or text.startswith("warning:") or text.startswith("Preparing"):
            continue
        for pattern, make in _PATTERNS:
            match = pattern.match(line)
            if match:
                out.append(make(match))
                break
        else:
            out.append(text)
    return out


def nevra_name(nevra):
    """'mariadb-libs-1:5.5.68-1.el7.x86_64' -> 'mariadb-libs'."""
    return nevra.rsplit(".", 1)[0].rsplit("-", 2)[0]


def baseline_differences(lock, have, output=""):
    """How this host differs from the host the bundle was built for (the lock's baseline).

    Returns (missing, unexpected): baseline package names this host lacks, and installed
    package names that rpm's complaints (``output``) mention although the baseline does not
    list them and the bundle does not carry them. Names only: versions are rpm's business.
    """
    wanted = set(nevra_name(n) for n in lock.get("baseline") or [])
    installed = set(name for name, _arch in have)
    missing = sorted(wanted - installed)
    carried = set(pkg.get("name") for pkg in (lock.get("packages") or []))
    words = set(re.findall(r"[^\s()]+", output))
    unexpected = []
    for name in sorted(installed - wanted - carried):
        prefix = name + "-"
        if any(w.startswith(prefix) and w[len(prefix):len(prefix) + 1].isdigit() for w in words):
            unexpected.append(name)
    return missing, unexpected


def difference_lines(missing, unexpected, limit=10):
    """Sentences for field staff naming each package (at most ``limit`` of each kind)."""
    lines = [messages.text("rpm-host-lacks", pkg=name) for name in missing[:limit]]
    lines += [messages.text("rpm-host-has", pkg=name) for name in unexpected[:limit]]
    return lines
