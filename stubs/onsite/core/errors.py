"""The one error shape onsite (mirrors builder.errors.HaBundleError, in 3.6 syntax), and the one
table of exit codes.

Messages are looked up by reference in the message catalog so they exist in en and zh_CN.
Exit codes start at 10 so that, through the .run, no number means two things: the header's own
codes are 1-7 (docs/runfile.md lists both tables; a test keeps them apart).
"""

import collections

OK = 0
CHECKS_FAILED = 10     # preflight or verify found problems (the table says which, and the fix)
BAD_INPUT = 11         # bad site file, flags or host for this bundle; nothing was changed
NOT_ROOT = 12          # the command must run as root; nothing was changed
PEER_NOT_READY = 13    # this node's side is done; the other node must act first
REFUSED = 14           # refused to protect data or the service (data differs, drill unsafe, declined)
FAILED = 15            # a step failed part way (rpm, a service, SQL); fix the cause, run again
INTERNAL_ERROR = 70    # a bug in ha-bundle (catch-all: log path and 'collect' are printed)
INTERRUPTED = 130      # Ctrl-C (the header uses 130 for SIGINT too: same meaning)

EXIT_CODES = collections.OrderedDict([
    (OK, "success"),
    (CHECKS_FAILED, "checks found problems"),
    (BAD_INPUT, "bad input, nothing changed"),
    (NOT_ROOT, "not root, nothing changed"),
    (PEER_NOT_READY, "waiting for the other node"),
    (REFUSED, "refused to protect data or service"),
    (FAILED, "a step failed; fix and run again"),
    (INTERNAL_ERROR, "internal error"),
    (INTERRUPTED, "interrupted"),
])


class OnsiteError(Exception):
    """A failure field staff can act on.

    reference: stable kebab-case id; also the key of the message in the catalog
    params:    values substituted into the message and hint
    context:   extra detail lines (not translated: file names, command output)
    exit_code: one of the codes above
    """

    def __init__(self, reference, params=None, context=None, exit_code=FAILED):
        if exit_code not in EXIT_CODES or exit_code == OK:
            raise ValueError("exit code {} is not in the table".format(exit_code))
        self.reference = reference
        self.params = dict(params or {})
        self.context = list(context or [])
        self.exit_code = exit_code
        Exception.__init__(self, reference)

    def render(self, lang=None):
        from onsite.core import messages

        text = messages.text(self.reference, lang, **self.params)
        hint = messages.hint(self.reference, lang, **self.params)
        lines = ["{}: {} [{}]".format(messages.text("word-error", lang), text, self.reference)]
        lines += ["  " + c for c in self.context]
        if hint:
            lines.append("{}: {}".format(messages.text("word-next", lang), hint))
        return "\n".join(lines)


def require_root(geteuid=None):
    """OnsiteError(not-root) unless running as root."""
    import os
    if (geteuid or os.geteuid)() != 0:
        raise OnsiteError("not-root", exit_code=NOT_ROOT)
