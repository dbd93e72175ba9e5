"""Short forms of school and cluster names for keys, labels and printed tables."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    import pandas as pd

#: Words shortened first (in this order) when a name does not fit, before any is cut.
ABBREVIATIONS = [
    (r"\bChurch of England\b", "CE"),
    (r"\bVoluntary Aided\b", "VA"),
    (r"\bVoluntary Controlled\b", "VC"),
    (r"\bRoman Catholic\b", "RC"),
    (r"\bCatholic\b", "Cath."),
    (r"\bPrimary School\b", "Pri."),
    (r"\bHigh School\b", "High"),
    (r"\bInfant School\b", "Inf."),
    (r"\bJunior School\b", "Jun."),
    (r"\bNursery School\b", "Nursery"),
    (r"\band Sixth Form\b", "& 6th Form"),
    (r"\bAcademy\b", "Acad."),
    (r"\bSchool\b", "Sch."),
    (r"\bPrimary\b", "Pri."),
    (r"\bCommunity\b", "Comm."),
]


def shorten(text: object, width: int) -> str:
    """``text`` in at most ``width`` characters: common words abbreviated, then cut in the middle.

    The end of a name ("... cluster", a town) tells schools apart as often as its start, so a
    name that is still too long loses characters from its middle, marked with "...".

    Examples
    --------
    >>> shorten("St Mary's Catholic Primary School cluster", 30)
    "St Mary's Cath. Pri. cluster"
    >>> shorten("Breckland; North Norfolk; South Norfolk", 20)
    'Breckland +2'
    >>> shorten("short", 30)
    'short'
    """
    s = "" if text is None else str(text)
    if len(s) <= width:
        return s
    if "; " in s:  # a list: as many whole items as fit, then how many more
        items = s.split("; ")
        for n in range(len(items) - 1, 0, -1):
            head = "; ".join(shorten(x, width) for x in items[:n]) + f" +{len(items) - n}"
            if len(head) <= width:
                return head
        s = items[0] + f" +{len(items) - 1}"
        if len(s) <= width:
            return s
    for pattern, short in ABBREVIATIONS:
        s = re.sub(pattern, short, s)
        if len(s) <= width:
            return s
    if width <= 5:
        return s[:width]
    front = (width - 3 + 1) // 2
    tail = width - 3 - front
    return s[:front].rstrip() + "..." + (s[-tail:].lstrip() if tail else "")


#: Narrowest a text column is shortened to when a table must fit its width.
MIN_TEXT_WIDTH = 12


def _cell(v: object) -> str:
    """A value of a mixed column: whole numbers with thousands separators, others to 3 figures."""
    import numbers

    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if isinstance(v, bool) or not isinstance(v, numbers.Number):
        return str(v)
    # the numbers a table holds (int, float, numpy scalars, Decimal) all convert like a float
    x = cast(float, v)
    if float(x).is_integer():
        return f"{int(x):,}"
    return f"{x:,.1f}" if abs(x) >= 100 else f"{x:.3g}"


def text_table(
    df: pd.DataFrame, *, width: int = 100, limit: int | None = None, keep: dict[str, int] | None = None
) -> str:
    """``df`` as plain text no wider than ``width`` characters, without the index.

    Numbers are rounded to one decimal; the widest text columns are shortened (see
    :func:`shorten`) until the table fits, never below 12 characters; rows past ``limit`` are
    counted, not printed. ``keep`` gives columns a wider floor (e.g. ``{"cluster": 28}``): names
    that tell rows apart are shortened last.

    Examples
    --------
    >>> import pandas as pd
    >>> print(text_table(pd.DataFrame({"cluster": ["A long name for a cluster"], "pupils": [3000]}), width=24))
    cluster           pupils
    A long...luster    3,000
    """
    import pandas as pd

    more = 0
    if limit is not None and len(df) > limit:
        more, df = len(df) - limit, df.head(limit)
    df = df.copy()
    for c in df.columns:
        if pd.api.types.is_float_dtype(df[c]):
            df[c] = [("-" if pd.isna(v) else f"{v:,.1f}") for v in df[c]]
        elif pd.api.types.is_integer_dtype(df[c]):
            df[c] = [("-" if pd.isna(v) else f"{v:,}") for v in df[c]]
        else:
            df[c] = [_cell(v) for v in df[c]]
    caps = {c: max([len(str(c))] + [len(v) for v in df[c]]) for c in df.columns}
    numeric = {
        c
        for c in df.columns
        if all(v.replace(",", "").replace(".", "").replace("-", "").isdigit() or v == "-" for v in df[c])
    }

    def total() -> int:
        return sum(caps.values()) + 2 * (len(caps) - 1)

    while total() > width:
        floor = {c: max(MIN_TEXT_WIDTH, len(str(c)), (keep or {}).get(c, 0)) for c in df.columns}
        text = [c for c in df.columns if c not in numeric and caps[c] > floor[c]]
        if not text:
            text = [c for c in df.columns if c not in numeric and caps[c] > max(MIN_TEXT_WIDTH, len(str(c)))]
        if not text:
            break
        widest = max(text, key=lambda c: caps[c])
        caps[widest] -= 1
    lines = [
        "  ".join(
            (str(c)[: caps[c]].rjust(caps[c]) if c in numeric else str(c)[: caps[c]].ljust(caps[c])) for c in df.columns
        ).rstrip()
    ]
    for _, row in df.iterrows():
        lines.append(
            "  ".join(
                row[c].rjust(caps[c]) if c in numeric else shorten(row[c], caps[c]).ljust(caps[c]) for c in df.columns
            ).rstrip()
        )
    if more:
        lines.append(f"... and {more} more rows")
    return "\n".join(lines)


def plural(word: str) -> str:
    """district -> districts, locality -> localities, school -> schools."""
    return word[:-1] + "ies" if word.endswith("y") and word[-2:-1] not in "aeiou" else word + "s"


def counted(n: int, word: str) -> str:
    """``n`` and the word, singular or plural: "1 school", "3 schools", "0 rules".

    Examples
    --------
    >>> counted(1, "school"), counted(2, "locality")
    ('1 school', '2 localities')
    """
    return f"{n:,} {word if n == 1 else plural(word)}"
