"""OUT/: refuse what is in the way, stage in owned directories, sweep leftovers, commit lock + .run together.

- ``prepare_out`` runs before any download: OUT must be a directory we may write (not a file, not
  a dangling symlink), and ``OUT/<target>`` and ``OUT/ha-installer-<target>.run`` must not be
  symlinks or of the wrong type (we never delete through a symlink).
- Staging (``.hb-stage-*``) and assembly (``.hb-assemble-*``) directories carry an owner file
  (host + pid). ``sweep`` removes the ones whose process is gone (a kill -9), so leftovers live
  only until the next run; on a normal exit or Ctrl-C/SIGTERM they are removed at once.
- ``commit`` publishes a staged target: a journal (``.hb-commit-<target>.json``) is written
  first, then the .run and ``OUT/<target>/`` are moved into place. A run killed in between is
  completed by the next run (``finish_pending``), so the lock beside the .run always ends up
  being the lock inside it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

from builder import exitcodes
from builder.errors import HaBundleError

STAGE_PREFIX = ".hb-stage-"
ASSEMBLE_PREFIX = ".hb-assemble-"
OLD_PREFIX = ".hb-old-"
OWNER_FILE = ".hb-owner"
JOURNAL_PREFIX = ".hb-commit-"
MAX_NAME = 255


def run_name(target: str) -> str:
    return f"ha-installer-{target}.run"


def _in_the_way(path: Path, what: str, hint: str) -> HaBundleError:
    return HaBundleError("output-in-the-way", f"{path} {what}", hint=hint, exit_code=exitcodes.FILESYSTEM)


def check_names(target: str) -> None:
    """The output names fit a file system (255 bytes per name)."""
    longest = max(len(run_name(target).encode()), len(f"{JOURNAL_PREFIX}{target}.json.tmp".encode()),
                  len(f"{STAGE_PREFIX}{target}-{'9' * 10}-xxxxxxxx".encode()))
    if longest > MAX_NAME:
        raise HaBundleError("target-name-too-long", f"target name {target[:40]}... is too long for file names "
                            f"({len(target)} characters)", hint="use a target name of at most 200 characters",
                            exit_code=exitcodes.INPUT)


def prepare_out(out: Path, target: str) -> Path:
    """OUT ready to receive this target (created if missing); finishes or sweeps what others left."""
    out = Path(out)
    check_names(target)
    if out.is_symlink() and not out.exists():
        raise _in_the_way(out, "is a dangling symlink", "remove it or choose another --out directory")
    if out.exists() and not out.is_dir():
        raise _in_the_way(out, "exists and is not a directory", "--out needs a directory: remove the file or "
                                                                 "choose another path")
    out.mkdir(parents=True, exist_ok=True)
    if not os.access(out, os.W_OK | os.X_OK):
        raise HaBundleError("output-not-writable", f"{out} is not writable", hint="choose another --out directory",
                            exit_code=exitcodes.FILESYSTEM)
    for path, kind in ((out / target, "directory"), (out / run_name(target), "file")):
        if path.is_symlink():
            raise _in_the_way(path, "is a symlink; refusing to replace it (or anything it points to)",
                              "remove the symlink, or choose another --out directory")
        if path.exists() and (path.is_dir() != (kind == "directory")):
            raise _in_the_way(path, f"exists and is not a {kind}", "move it away, or choose another --out directory")
    finish_pending(out)
    sweep(out)
    return out


def _owner() -> dict[str, object]:
    return {"host": socket.gethostname(), "pid": os.getpid()}


def _alive(owner: dict[str, object]) -> bool:
    if owner.get("host") != socket.gethostname():
        return True  # another machine's run (shared disk): never ours to judge
    pid = owner.get("pid")
    if not isinstance(pid, int) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_MADE_IN: set[tuple[Path, str]] = set()   # (parent, prefix) of every owned_dir this process made


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl-C/SIGTERM wait until the block is done (then raise KeyboardInterrupt): a directory
    made and marked, or a commit, is never cut in half by them. Main thread only (elsewhere
    Python delivers no signal anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    saved = {sig: signal.signal(sig, lambda signum, _frame: caught.append(signum))
             for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)
    if caught:
        raise KeyboardInterrupt


def owned_dir(parent: Path, prefix: str) -> Path:
    """A new private directory under parent, marked with its owner (for ``sweep``)."""
    with signals_deferred():
        _MADE_IN.add((Path(parent), prefix))
        path = Path(tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=parent))
        (path / OWNER_FILE).write_text(json.dumps(_owner()))
    return path


def remove_unfinished() -> list[Path]:
    """On Ctrl-C/SIGTERM: this process's staging and assembly directories still there (a
    published one was renamed; commits run with signals deferred), for an interrupt that
    landed before the caller's own cleanup. Only directories whose owner file names this
    process: another host's build with the same pid on a shared OUT is left alone."""
    removed = []
    for parent, prefix in sorted(_MADE_IN):
        if prefix not in (STAGE_PREFIX, ASSEMBLE_PREFIX):
            continue
        for path in sorted(parent.glob(f"{prefix}{os.getpid()}-*")):
            if path.is_dir() and not path.is_symlink() and _read_owner(path) == _owner():
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
    return removed


def _read_owner(path: Path) -> dict[str, object]:
    try:
        data = json.loads((path / OWNER_FILE).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def sweep(out: Path) -> list[Path]:
    """Remove staging/assembly directories whose owner process is gone; returns what was removed."""
    removed = []
    for entry in sorted(out.iterdir()):
        if not entry.name.startswith((STAGE_PREFIX, ASSEMBLE_PREFIX, OLD_PREFIX)):
            continue
        if entry.is_symlink() or not entry.is_dir():
            continue
        owner = _read_owner(entry)
        if not owner and _died_before_its_owner_file(entry):
            removed.append(entry)
            continue
        if _alive(owner):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed


def _died_before_its_owner_file(entry: Path) -> bool:
    """A kill -9 between mkdtemp and the owner file leaves an empty directory named after the
    pid: removed when that pid is gone here (rmdir: never anything in it to lose). On an OUT
    shared between hosts, another host's build inside that same microsecond window would then
    fail writing its owner file (an error, nothing lost)."""
    match = re.match(r"\.hb-[a-z]+-(\d+)-", entry.name)
    if not match or _alive({"host": socket.gethostname(), "pid": int(match.group(1))}):
        return False
    try:
        entry.rmdir()
    except OSError:
        return False
    return True


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def commit(out: Path, target: str, staging: Path, with_run: bool) -> None:
    """Move staging/<run> to OUT/<run> and staging to OUT/<target>, journalled (see module doc)."""
    journal = out / f"{JOURNAL_PREFIX}{target}.json"
    tmp = journal.with_name(journal.name + ".tmp")
    data = {"target": target, "stage": staging.name, "run": run_name(target) if with_run else "", **_owner()}
    with signals_deferred():       # an interrupt lands after the commit, never inside it
        with open(tmp, "w") as handle:
            handle.write(json.dumps(data))
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, journal)
        _fsync_dir(out)
        _apply(out, data)
        journal.unlink()
        _fsync_dir(out)


def _apply(out: Path, data: dict[str, object]) -> None:
    """Idempotent: each step checks whether it already happened (a crash may stop it anywhere)."""
    target, stage, run = str(data["target"]), out / str(data["stage"]), str(data.get("run") or "")
    if run:
        # the signature travels with its .run; a stale one beside an unsigned rebuild goes
        sig = run + ".asc"
        if (stage / sig).exists():
            os.replace(stage / sig, out / sig)
        elif (stage / run).exists() and (out / sig).exists():
            (out / sig).unlink()
    if run and (stage / run).exists():
        os.replace(stage / run, out / run)
    if stage.is_dir() and not stage.is_symlink():
        final = out / target
        if final.is_dir() and not final.is_symlink():
            old = owned_dir(out, OLD_PREFIX)
            final.rename(old / target)
            (stage / OWNER_FILE).unlink(missing_ok=True)
            stage.rename(final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            (stage / OWNER_FILE).unlink(missing_ok=True)
            stage.rename(final)


def finish_pending(out: Path) -> None:
    """Complete commits that a killed run started (their journal is still there)."""
    for journal in sorted(out.glob(f"{JOURNAL_PREFIX}*.json")):
        try:
            data = json.loads(journal.read_text())
        except (OSError, ValueError):
            journal.unlink(missing_ok=True)
            continue
        if not isinstance(data, dict) or _alive(data) or "target" not in data or "stage" not in data:
            continue
        stage, target, run = str(data["stage"]), str(data["target"]), str(data.get("run") or "")
        if ("/" in stage + target + run or not stage.startswith(STAGE_PREFIX) or target.startswith(".")
                or (run and run != run_name(target))):
            journal.unlink(missing_ok=True)  # not one of ours: never act on it
            continue
        _apply(out, data)
        journal.unlink(missing_ok=True)
