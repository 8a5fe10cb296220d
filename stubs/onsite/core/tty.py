"""Talking to the person at the terminal: progress lines and yes/no questions."""

import os
import sys

from onsite.core import messages
from onsite.core.errors import REFUSED, OnsiteError

YES = ("y", "yes", "是")


def say(text):
    """One line to stdout, flushed (progress must show before a long step runs)."""
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def progress(text):
    """A progress line to stderr (keeps stdout for the result, e.g. verify --json)."""
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


def say_next(reference, **params):
    """'next: <hint>' for a message reference."""
    say("{}: {}".format(messages.text("word-next"), messages.hint(reference, **params)))


def accepted(yes_flag):
    """--yes, or --accept given to the .run (the header exports HA_INSTALLER_ACCEPT)."""
    return bool(yes_flag) or os.environ.get("HA_INSTALLER_ACCEPT") == "yes"


def confirm(question, declined, yes_flag=False, **params):
    """Ask question on a terminal unless accepted; scripts (no terminal) proceed. Raises
    OnsiteError(declined) unless the answer is yes."""
    if accepted(yes_flag) or not sys.stdin.isatty():
        return
    sys.stdout.write(messages.text(question, **params))
    sys.stdout.flush()
    if sys.stdin.readline().strip().lower() not in YES:
        raise OnsiteError(declined, exit_code=REFUSED)
