"""Render stubs/header.sh's one block of baked-in values (pure: text in, text out, no I/O).

Like conda constructor's ``get_header()``: the template is a real sh file that passes shellcheck
as it is; only the lines between the ``# @@ baked values begin`` and ``end`` markers are
replaced, and every ``HB_NAME=`` line there must get a value (a missing or extra value is an
error, constructor's StrictUndefined). ``builder.bundle`` does the packing, ``builder.runfile``
the reading; both use ``digest_region`` so the builder, the header and ``ha-bundle verify``
hash exactly the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from builder.errors import BundleError

BEGIN_MARK = "# @@ baked values begin"
END_MARK = "# @@ baked values end"
DIGEST_NAME = "HB_SHA256"
ZERO_DIGEST = "0" * 64
_NAME_RE = re.compile(r"^(HB_[A-Z0-9_]+)=")
# values the renderer derives from the text itself
_DERIVED = ("HB_DIGEST_LINE", "HB_DIGEST_END", "HB_HEADER_SIZE", "HB_TOTAL_SIZE")


@dataclass(frozen=True)
class HeaderFields:
    """Everything the header needs to know about its payload (HB_<FIELD> in header.sh)."""

    sha256: str
    store_size: int
    meta_size: int
    compression: str
    unpacked_kb: int
    tool: str
    target: str
    target_os: str
    target_arch: str
    build_date: str
    packages: int
    lock_sha256: str
    bootstrap: str
    has_site: str
    applies_to: str = "any host, full bundle"

    def values(self) -> dict[str, str | int]:
        return {"HB_" + f.name.upper(): getattr(self, f.name) for f in fields(self)}


def _quote(value: str | int) -> str:
    """Shell text for one value: bare integers and hex digests, everything else single-quoted."""
    if isinstance(value, bool):
        raise BundleError("header-bad-value", f"booleans are not header values: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise BundleError("header-bad-value", f"negative header value: {value}")
        return str(value)
    if "\n" in value or "\0" in value:
        raise BundleError("header-bad-value", f"header values are one line: {value!r}")
    return "'" + value.replace("'", "'\\''") + "'"


def _block(template: str) -> tuple[list[str], int, int]:
    lines = template.splitlines(keepends=True)
    try:
        begin = next(i for i, line in enumerate(lines) if line.startswith(BEGIN_MARK))
        end = next(i for i, line in enumerate(lines) if line.startswith(END_MARK))
    except StopIteration:
        raise BundleError("header-template-broken", "header.sh has no baked-values block",
                          hint=f"keep the '{BEGIN_MARK}' and '{END_MARK}' lines") from None
    return lines, begin, end


def template_names(template: str) -> list[str]:
    """The HB_ names the template's baked block asks for, in order."""
    lines, begin, end = _block(template)
    names = []
    for line in lines[begin + 1:end]:
        match = _NAME_RE.match(line)
        if not match:
            raise BundleError("header-template-broken", f"unexpected line in the baked block: {line!r}")
        names.append(match.group(1))
    if not names or names[0] != DIGEST_NAME:
        raise BundleError("header-template-broken", f"the baked block must start with {DIGEST_NAME}=")
    return names


def render(template: str, header_fields: HeaderFields) -> str:
    """The header text with every baked value filled in (sizes and offsets computed here)."""
    names = template_names(template)
    given = header_fields.values()
    if not re.fullmatch(r"[0-9a-f]{64}", str(given[DIGEST_NAME])):
        raise BundleError("header-bad-value", "the sha256 must be 64 lowercase hex digits")
    wanted = set(names) - set(_DERIVED)
    missing = sorted(wanted - set(given))
    extra = sorted(set(given) - wanted)
    if missing or extra:
        raise BundleError("header-values-mismatch", "header.sh and builder.header disagree on the baked values",
                          context=[f"missing: {missing}", f"unknown: {extra}"])
    lines, begin, end = _block(template)
    values: dict[str, str | int] = dict(given)
    # the digest line's position does not depend on any value (it is the block's first line)
    digest_line = begin + 2
    values["HB_DIGEST_LINE"] = digest_line
    values["HB_DIGEST_END"] = len("".join(lines[:begin + 1]).encode()) + len(f"{DIGEST_NAME}='{ZERO_DIGEST}'\n")
    # header size appears inside the header: iterate until the number of digits settles
    size = 0
    for _ in range(5):
        values["HB_HEADER_SIZE"] = size
        values["HB_TOTAL_SIZE"] = size + int(given["HB_STORE_SIZE"]) + int(given["HB_META_SIZE"])
        block = []
        for name in names:
            # quoted too: a damaged digest byte (e.g. 'a' -> '`') must not become shell syntax
            text = f"'{values[name]}'" if name == DIGEST_NAME else _quote(values[name])
            block.append(f"{name}={text}\n")
        text = "".join(lines[:begin + 1] + block + lines[end:])
        if len(text.encode()) == size:
            return text
        size = len(text.encode())
    raise BundleError("header-size-unstable", "the header size did not settle")  # pragma: no cover


def parse_values(header: str) -> dict[str, str]:
    """Read the baked values back from a rendered header (for inspect/verify; no shell)."""
    lines, begin, end = _block(header)
    out: dict[str, str] = {}
    for line in lines[begin + 1:end]:
        match = _NAME_RE.match(line)
        if not match:
            continue
        raw = line[match.end():].rstrip("\n")
        if raw.startswith("'") and raw.endswith("'") and len(raw) >= 2:
            raw = raw[1:-1].replace("'\\''", "'")
        out[match.group(1)] = raw
    return out


def digest_region(data_prefix: bytes, digest_line: int, digest_end: int) -> tuple[bytes, int]:
    """The bytes before the digest line, and the offset where hashing resumes.

    The sha256 covers the first ``digest_line - 1`` lines and everything from ``digest_end``
    to the end of the file: the whole file except the digest itself (header.sh's hb_verify
    does ``head -n`` + ``tail -c +N``).
    """
    pos = 0
    for _ in range(digest_line - 1):
        nl = data_prefix.index(b"\n", pos)
        pos = nl + 1
    return data_prefix[:pos], digest_end
