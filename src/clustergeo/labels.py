"""Short forms of school and cluster names for keys, labels and printed tables."""

from __future__ import annotations

import re

#: Words shortened first (in this order) when a name does not fit, before any is cut.
ABBREVIATIONS = [
    (r"\bChurch of England\b", "CE"), (r"\bVoluntary Aided\b", "VA"), (r"\bVoluntary Controlled\b", "VC"),
    (r"\bRoman Catholic\b", "RC"), (r"\bCatholic\b", "Cath."), (r"\bPrimary School\b", "Pri."),
    (r"\bHigh School\b", "High"), (r"\bInfant School\b", "Inf."), (r"\bJunior School\b", "Jun."),
    (r"\bNursery School\b", "Nursery"), (r"\band Sixth Form\b", "& 6th Form"), (r"\bAcademy\b", "Acad."),
    (r"\bSchool\b", "Sch."), (r"\bPrimary\b", "Pri."), (r"\bCommunity\b", "Comm."),
]


def shorten(text: object, width: int) -> str:
    """``text`` in at most ``width`` characters: common words abbreviated, then cut in the middle.

    The end of a name ("... cluster", a town) tells schools apart as often as its start, so a
    name that is still too long loses characters from its middle, marked with "...".

    Examples
    --------
    >>> shorten("St Mary's Catholic Primary School cluster", 30)
    "St Mary's Cath. Pri. cluster"
    >>> shorten("short", 30)
    'short'
    """
    s = "" if text is None else str(text)
    if len(s) <= width:
        return s
    for pattern, short in ABBREVIATIONS:
        s = re.sub(pattern, short, s)
        if len(s) <= width:
            return s
    if width <= 5:
        return s[:width]
    head = (width - 3 + 1) // 2
    tail = width - 3 - head
    return s[:head].rstrip() + "..." + (s[-tail:].lstrip() if tail else "")
