"""Tables for a terminal: cells cleaned of control characters, columns fitted to its width."""

from __future__ import annotations

import re
import shutil
import unicodedata
from collections.abc import Sequence
from typing import Any, TextIO

ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-_])")
MIN_WIDTH = 8
OTHER_CAP = 16  # a column other than the widest, when the table is too wide
WIDEST_SHARE = 0.55  # of the room left by the key columns, for the widest other column
GAP = 2


def clean(text: str, keep_newlines: bool = False) -> str:
    """Text safe to print: terminal escape sequences and other control characters removed."""
    text = ESCAPES.sub("", text)
    keep = "\n" if keep_newlines else ""
    return "".join(
        c if c in keep or unicodedata.category(c) not in ("Cc", "Cf") or c == "\u200c" else " "
        for c in text
    )


def cell(value: Any) -> str:
    """A value as one line of a table cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, list):
        if value and isinstance(value[0], dict):
            return "; ".join(str(v.get("text") or v) for v in value)
        return "; ".join(str(v) for v in value)
    return " ".join(clean(str(value)).split())


def width(text: str) -> int:
    """Columns the text takes on a terminal (wide East Asian characters take two)."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def fit(text: str, size: int, middle: bool = False) -> str:
    """The text cut (with …, at the end or in the middle) or padded to `size` columns."""
    if width(text) <= size:
        return text + " " * (size - width(text))
    if middle and size > MIN_WIDTH:
        head = fit(text, (size + 1) // 2).rstrip(" …")
        tail = ""
        for ch in reversed(text):
            if width(head) + 1 + width(ch + tail) > size:
                break
            tail = ch + tail
        return fit(head + "…" + tail, size)
    out, used = [], 0
    for ch in text:
        w = width(ch)
        if used + w > size - 1:
            break
        out.append(ch)
        used += w
    return "".join(out) + "…" + " " * (size - 1 - used)


def fitted_widths(natural: list[int], keys: set[int], total: int) -> list[int]:
    """Column widths that fit `total`: key columns keep their width; the other columns are
    cut to OTHER_CAP, less if need be to leave the widest of them WIDEST_SHARE of the room,
    and the widest takes what is left."""
    widths = list(natural)
    budget = total - GAP * (len(widths) - 1)
    flexible = [i for i in range(len(widths)) if i not in keys]
    if sum(widths) <= budget or not flexible:
        return widths
    widest = max(flexible, key=natural.__getitem__)
    others = [i for i in flexible if i != widest]
    room = budget - sum(natural[i] for i in keys)
    wanted = min(natural[widest], max(MIN_WIDTH, int(room * WIDEST_SHARE)))
    cap = OTHER_CAP
    while cap > MIN_WIDTH and room - sum(min(natural[i], cap) for i in others) < wanted:
        cap -= 1
    for i in others:
        widths[i] = min(natural[i], cap)
    widths[widest] = max(MIN_WIDTH, min(natural[widest], room - sum(widths[i] for i in others)))
    slack = room - sum(widths[i] for i in flexible)
    for i in others:  # room the widest did not need goes back to the others
        grow = min(slack, natural[i] - widths[i])
        widths[i] += max(0, grow)
        slack -= max(0, grow)
    return widths


def write_table(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    out: TextIO,
    keys: Sequence[str] = (),
    total: int | None = None,
) -> None:
    """Aligned columns fitting the terminal; key columns (an id, a URL) are never cut."""
    if not rows:
        out.write("(nothing matches)\n")
        return
    cells = [[cell(r.get(c)) for c in columns] for r in rows]
    natural = [max(width(c), *(width(row[i]) for row in cells)) for i, c in enumerate(columns)]
    total = total or shutil.get_terminal_size((120, 20)).columns
    key_index = {i for i, c in enumerate(columns) if c in keys}
    widths = fitted_widths(natural, key_index, total)
    middles = [c.endswith("url") for c in columns]  # an address keeps its end in view
    for line in ([list(columns)], cells):
        for row in line:
            fitted = (fit(c, w, m) for c, w, m in zip(row, widths, middles, strict=True))
            out.write((" " * GAP).join(fitted).rstrip() + "\n")
