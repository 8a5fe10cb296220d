"""One shape for check results (preflight, verify), and the two ways we print them.

A field engineer reads a table (PASS/WARN/FAIL, and for each FAIL what to do); a program reads
the same results as JSON (``--json``). Keeping one shape means install can show preflight and
verify results the same way and a ticket always has the same columns.
"""

import collections
import json

from onsite.core import messages
from onsite.core.columns import display_width, pad

PASS, WARN, FAIL = "PASS", "WARN", "FAIL"

# name: stable id (e.g. "vip-free"); status: PASS/WARN/FAIL; text: what was found (translated);
# fix: what to do (translated, empty on PASS); side: "here", "peer" or "both" (who must act)
Result = collections.namedtuple("Result", "name status text fix side")


def result(name, status, text, fix="", side="here"):
    return Result(name, status, text, fix or "", side)


def from_error(name, exc, side="here", status=FAIL):
    """An OnsiteError turned into a result: its message is the text, its hint the fix."""
    return result(name, status, messages.text(exc.reference, **exc.params),
                  messages.hint(exc.reference, **exc.params), side)


def failed(results):
    return [r for r in results if r.status == FAIL]


def as_dicts(results):
    return [dict(r._asdict()) for r in results]


def render_table(results):
    """Aligned table; each FAIL/WARN is followed by its fix, indented."""
    words = dict((s, messages.text("chk-" + s)) for s in (PASS, WARN, FAIL))
    head = messages.text("chk-header").split("|")
    width_status = max([display_width(words[s]) for s in words] + [display_width(head[0])])
    width_name = max([display_width(r.name) for r in results] + [display_width(head[1])])
    lines = ["{}  {}  {}".format(pad(head[0], width_status), pad(head[1], width_name), head[2])]
    for r in results:
        text_lines = str(r.text).splitlines() or [""]
        lines.append("{}  {}  {}".format(pad(words[r.status], width_status),
                                         pad(r.name, width_name), text_lines[0]))
        indent = " " * (width_status + width_name + 4)
        for extra in text_lines[1:]:
            lines.append(indent + extra)
        if r.fix and r.status != PASS:
            lines.append("{}-> {}: {}".format(indent, messages.text("chk-fix"), r.fix))
    return "\n".join(lines)


def render_json(results, **extra):
    doc = dict(extra)
    doc["ok"] = not failed(results)
    doc["checks"] = as_dicts(results)
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False)
