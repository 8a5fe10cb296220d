"""The one table of ``ha-bundle`` exit codes, and the mapping of any failure to a message + code.

``builder.cli.main`` calls ``describe()`` for everything that escapes a command, so no input
ends in a traceback: a HaBundleError keeps its own code, an OSError (disk full, read-only
disk, a file or symlink in the way, a name too long) becomes a sentence naming the path, and
anything else is reported as a bug in one line (``HA_BUNDLE_DEBUG=1`` shows the traceback).
docs/build.md prints the same table (a test checks they agree).
"""

from __future__ import annotations

import errno
import os
import traceback

from builder.errors import HaBundleError

OK = 0
INPUT = 1          # bad input or environment: manifest, repo metadata, mirror contents, signatures
UNSATISFIABLE = 2  # the package set cannot be installed on the target
DAMAGED = 3        # a .run file is damaged (inspect, verify); the header uses 3 for the same
DISK_FULL = 4      # no space left (or quota exceeded) on the output or cache disk
FILESYSTEM = 5     # cannot write where asked: read-only, permission, a file/symlink in the way, name too long
NETWORK = 6        # a mirror did not answer in time (timeouts, retries and the per-repo deadline ran out)
USAGE = 64         # wrong command line: unknown option, missing argument (not 2: that is "unsatisfiable")
INTERNAL = 70      # an unexpected error: a bug in ha-bundle
INTERRUPTED = 130  # Ctrl-C or SIGTERM; staging and assembly files were removed

TABLE: list[tuple[int, str]] = [
    (OK, "success"),
    (INPUT, "bad input or environment (manifest, repo metadata, mirror contents, signatures, missing tools)"),
    (UNSATISFIABLE, "the package set cannot be resolved for the target"),
    (DAMAGED, "the .run file is damaged (inspect, verify)"),
    (DISK_FULL, "no space left on the output or cache disk"),
    (FILESYSTEM, "cannot write where asked: read-only, permission denied, a file or symlink in the way, name too long"),
    (NETWORK, "a mirror did not answer in time (per-request --timeout, retries and the per-repo --deadline ran out)"),
    (USAGE, "wrong command line (unknown option, missing argument)"),
    (INTERNAL, "unexpected error: a bug in ha-bundle (HA_BUNDLE_DEBUG=1 shows the traceback)"),
    (INTERRUPTED, "interrupted (Ctrl-C or SIGTERM); temporary files were removed"),
]

_OS_SENTENCES: dict[int, tuple[int, str, str]] = {
    errno.ENOSPC: (DISK_FULL, "no space left on the disk of {path}",
                   "free space there (or point --out/--cache at a bigger disk) and run again; nothing was published"),
    errno.EDQUOT: (DISK_FULL, "disk quota exceeded while writing {path}",
                   "free space or raise the quota, then run again; nothing was published"),
    errno.EROFS: (FILESYSTEM, "{path} is on a read-only file system",
                  "choose an --out (or --cache) directory on a writable disk"),
    errno.EACCES: (FILESYSTEM, "permission denied: {path}",
                   "choose a directory you may write to, or fix its owner/permissions"),
    errno.EPERM: (FILESYSTEM, "operation not permitted on {path}",
                  "choose a directory you may write to, or fix its owner/permissions"),
    errno.EEXIST: (FILESYSTEM, "{path} already exists and is in the way",
                   "remove or rename it, or choose another --out directory"),
    errno.ENOTDIR: (FILESYSTEM, "a part of {path} is a file, not a directory",
                    "--out must be a directory (or not exist yet); remove the file or choose another path"),
    errno.EISDIR: (FILESYSTEM, "{path} is a directory where a file is expected",
                   "remove or rename that directory, or choose another --out"),
    errno.ENAMETOOLONG: (FILESYSTEM, "a file name is too long: {path}",
                         "use a shorter target name or output path (each name at most 255 bytes)"),
    errno.ELOOP: (FILESYSTEM, "{path} is a symlink loop (or a symlink where none is allowed)",
                  "remove the symlink, or choose another --out"),
    errno.EMFILE: (FILESYSTEM, "too many open files", "raise `ulimit -n` or use fewer --jobs"),
}


def describe(exc: BaseException) -> tuple[str, int]:
    """The message (already rendered, may span lines) and exit code for a failure."""
    if isinstance(exc, HaBundleError):
        return exc.render(), exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; temporary files were removed", INTERRUPTED
    if isinstance(exc, OSError):
        err = _os_error(exc)
        return err.render(), err.exit_code
    if isinstance(exc, RecursionError):
        err = HaBundleError("input-too-deep", "an input file is nested too deeply to read",
                            hint="check the manifest (or other input) for runaway brackets", exit_code=INPUT)
        return err.render(), err.exit_code
    detail = f"{type(exc).__name__}: {exc}"
    if os.environ.get("HA_BUNDLE_DEBUG"):
        detail = "".join(traceback.format_exception(exc)).rstrip()
    err = HaBundleError("internal-error", "ha-bundle hit an unexpected error (a bug)", [detail],
                        hint="re-run with HA_BUNDLE_DEBUG=1 for the traceback and report it with the command line",
                        exit_code=INTERNAL)
    return err.render(), err.exit_code


def _os_error(exc: OSError) -> HaBundleError:
    path = exc.filename if exc.filename is not None else "a file"
    if exc.filename2 is not None:
        path = f"{exc.filename} -> {exc.filename2}"
    code, sentence, hint = _OS_SENTENCES.get(
        exc.errno or 0, (FILESYSTEM, "cannot read or write {path}", "check the path, the disk and the permissions"))
    reason = exc.strerror or str(exc)
    return HaBundleError(f"os-{errno.errorcode.get(exc.errno or 0, 'error').lower()}", sentence.format(path=path),
                         [reason], hint=hint, exit_code=code)


def table_markdown() -> str:
    """The table as docs/build.md shows it."""
    rows = ["| code | meaning |", "| --- | --- |"]
    rows += [f"| {code} | {meaning} |" for code, meaning in TABLE]
    return "\n".join(rows)
