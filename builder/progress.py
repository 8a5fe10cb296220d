"""Log-friendly progress: one plain line every few seconds, whether or not stderr is a terminal.

A build run from CI or ``nohup`` used to print nothing for minutes (rich's bar is off without a
terminal). ``Ticker`` prints ``<label>: 12/40 files, 30.1/80.0 MB`` at most every
``HA_BUNDLE_PROGRESS_SECONDS`` (default 5) and once at the end when anything was printed.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import TextIO

DEFAULT_EVERY = 5.0


def _every() -> float:
    try:
        return max(0.0, float(os.environ.get("HA_BUNDLE_PROGRESS_SECONDS", DEFAULT_EVERY)))
    except ValueError:
        return DEFAULT_EVERY


def say(message: str, stream: TextIO | None = None) -> None:
    """One status line on stderr (retries, waits): flushed at once so logs show it."""
    out = stream or sys.stderr
    out.write(message + "\n")
    out.flush()


def megabytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


class Ticker:
    """Counts bytes (and items) done; prints a line when the interval has passed. Thread-safe."""

    def __init__(self, label: str, total_bytes: int = 0, total_items: int = 0, stream: TextIO | None = None,
                 every: float | None = None) -> None:
        self.label, self.total_bytes, self.total_items = label, total_bytes, total_items
        self.stream = stream or sys.stderr
        self.every = _every() if every is None else every
        self.bytes = self.items = 0
        self._lock = threading.Lock()
        self._start = self._last = time.monotonic()
        self._printed = False

    def advance(self, nbytes: int = 0, items: int = 0) -> None:
        with self._lock:
            self.bytes += nbytes
            self.items += items
            now = time.monotonic()
            if now - self._last >= self.every:
                self._last = now
                self._print(now)

    def _print(self, now: float) -> None:
        parts = []
        if self.total_items:
            parts.append(f"{self.items}/{self.total_items} files")
        if self.total_bytes:
            parts.append(f"{megabytes(self.bytes)}/{megabytes(self.total_bytes)}")
        else:
            parts.append(megabytes(self.bytes))
        say(f"{self.label}: {', '.join(parts)} ({now - self._start:.0f} s)", self.stream)
        self._printed = True

    def finish(self) -> None:
        with self._lock:
            if self._printed:
                self._print(time.monotonic())
