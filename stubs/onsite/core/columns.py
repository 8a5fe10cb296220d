"""Text columns for a terminal: a Chinese character takes two columns, so tables are padded by
display width, never by len()."""

import unicodedata


def display_width(text):
    """Columns text takes in a terminal (East Asian wide and fullwidth characters count 2)."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def pad(text, width):
    """text followed by spaces up to width display columns."""
    return text + " " * max(0, width - display_width(text))


def table(rows, indent="  ", gap="  "):
    """Lines of rows (lists of str) with every column padded to its widest cell."""
    if not rows:
        return []
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [(indent + gap.join(pad(cell, w) for cell, w in zip(row, widths))).rstrip() for row in rows]
