"""One error shape for every user-facing failure (pip's DiagnosticPipError, trimmed).

Only ``builder.cli`` turns these into exit codes; everything else raises.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# a 200k-name manifest must not print 25 MB of errors: the first lines say enough
MAX_CONTEXT = 40
MAX_LINE = 400


@dataclass
class HaBundleError(Exception):
    """A failure a build engineer can act on.

    reference: stable kebab-case id (grep-able, used in tests and docs)
    message:   one sentence saying what went wrong
    context:   details (file, key, URL, ...), one item per line
    hint:      what to do next
    exit_code: from builder.exitcodes (1 bad input/environment, 2 unsatisfiable, ...)
    """

    reference: str
    message: str
    context: list[str] = field(default_factory=list)
    hint: str = ""
    exit_code: int = 1

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.render()

    def render(self, max_context: int = MAX_CONTEXT) -> str:
        """Message, context (at most max_context lines, each at most MAX_LINE chars) and hint."""
        lines = [f"error: {self.message} [{self.reference}]"]
        shown = self.context[:max_context]
        lines += [f"  {c if len(c) <= MAX_LINE else c[:MAX_LINE] + '...'}" for c in shown]
        if len(self.context) > len(shown):
            lines.append(f"  ... and {len(self.context) - len(shown)} more")
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)


class ManifestError(HaBundleError):
    """The manifest file is missing, malformed or inconsistent."""


class RepoError(HaBundleError):
    """A repository could not be read or its metadata failed verification."""


class ResolveError(HaBundleError):
    """The requested package set cannot be installed on the target."""


class FetchError(HaBundleError):
    """One or more RPMs could not be downloaded and verified."""


class BundleError(HaBundleError):
    """The installer could not be assembled, or a .run file is damaged."""
