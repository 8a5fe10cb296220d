"""The one error shape onsite (mirrors builder.errors.HaBundleError, in 3.6 syntax).

Messages are looked up by reference in onsite.core.messages so they exist in en and zh_CN.
"""


class OnsiteError(Exception):
    """A failure field staff can act on.

    reference: stable kebab-case id; also the key of the message in onsite.core.messages
    params:    values substituted into the message and hint
    context:   extra detail lines (not translated: file names, command output)
    exit_code: non-zero process exit status
    """

    def __init__(self, reference, params=None, context=None, exit_code=1):
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
