"""Dates as FORMAT.md records them: ISO `YYYY-MM-DD` whatever the form prints."""

from __future__ import annotations

import datetime
import re

from .text import nfkc

# 2026-1-1, 2026/01/01, 2026.1.1, 2026年1月1日 (spaces allowed inside); a month-only date does not match.
_DATE = re.compile(r"(?<!\d)(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?(?!\d)")


def iso_date(text: str | None) -> str | None:
    """`2026/1/1`, `2026年1月1日`, `2026.01.01`, `2026-1-1` → `2026-01-01`. Anything else (a
    month-only `2026年1月`, a date that does not exist, a blank) is returned as given."""
    if text is None:
        return None
    clean = nfkc(text).strip()
    m = _DATE.fullmatch(clean)
    if not m:
        return text
    try:
        return datetime.date(*map(int, m.groups())).isoformat()
    except ValueError:  # 2026-02-30 is printed, not a date: keep it as printed
        return text


def iso_dates_in(text: str) -> set[str]:
    """Every full date printed in a text, as ISO: to check a normalised value against its source."""
    found = set()
    for m in _DATE.finditer(nfkc(text)):
        try:
            found.add(datetime.date(*map(int, m.groups())).isoformat())
        except ValueError:
            continue
    return found


def plan_year(start: str | None, end: str | None) -> int | None:
    """The one calendar year a plan's ISO start and end dates fall in (a declaration's 年度 when
    its title, which prints the year, is not in the text); None when they span years or are not
    both full dates."""
    days = [_iso_day(start), _iso_day(end)]
    if None in days or days[0].year != days[1].year:
        return None
    return days[0].year


def _iso_day(text: str | None) -> datetime.date | None:
    if text is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return None
    try:
        return datetime.date.fromisoformat(text)
    except ValueError:  # 2024-02-30: printed, not a date
        return None
