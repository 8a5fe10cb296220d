"""Reproducible builds: the one reader of SOURCE_DATE_EPOCH (reproducible-builds.org)."""

from __future__ import annotations

import os

from builder.errors import HaBundleError


def source_date_epoch() -> int | None:
    """The SOURCE_DATE_EPOCH environment value, or None when unset; a value that is not a whole
    number of seconds is refused (never silently ignored: the build would not be reproducible)."""
    env = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not env:
        return None
    if not env.isdigit():
        raise HaBundleError("bad-source-date-epoch", f"SOURCE_DATE_EPOCH must be an integer, got {env!r}",
                            hint="unset it, or set it to a Unix time in seconds")
    return int(env)
