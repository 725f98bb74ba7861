"""The amount unit as a form states it: in its 项目资金 label (项目资金（万元）) and in a note
printed near the table (本表金额单位为万元, 单位：万元, 金额单位：万元). One reading, shared by
the rules readers (which record it) and the validators (which check any reading against it),
so a form that states two units is caught the same way whoever read it."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .text import HAN_RANGE

LABEL = re.compile(r"项\s*目\s*资\s*金\s*[（(]\s*(万\s*元|元)\s*[)）]")
# A note's unit is a word of its own (not 实施单位：元江县…, nor a rate's 单位：元/人), and not the
# unit of a count an indicator prints (计量单位, 发放单位: the character before is checked apart, as a
# look-behind here would make the search try every position of the text, 15 times slower).
_NOTE = re.compile(r"单\s*位\s*(?:为|[：:])\s*(万\s*元|元)(?![" + HAN_RANGE + "/／每])")
_NOT_BEFORE_NOTE = frozenset("施量放管")


@dataclass(frozen=True)
class Stated:
    """One statement of the unit: 元 or 万元, where in the text, and whether label or note."""

    unit: str
    start: int
    end: int
    where: str  # "label" or "note"

    @property
    def printed(self) -> str:
        return "项目资金（" + self.unit + "）" if self.where == "label" else "单位：" + self.unit


def stated_units(text: str) -> list[Stated]:
    """Every statement of the amount unit in `text`, in text order (offsets into it)."""
    found = [Stated(re.sub(r"\s+", "", m.group(1)), m.start(1), m.end(1), where)
             for where, pattern in (("label", LABEL), ("note", _NOTE)) for m in pattern.finditer(text)
             if where == "label" or text[m.start() - 1:m.start()] not in _NOT_BEFORE_NOTE]
    return sorted(found, key=lambda s: s.start)


def notes_only(stated: list[Stated]) -> list[Stated]:
    return [s for s in stated if s.where == "note"]


def disagreement(unit: str, stated: list[Stated]) -> tuple[str, str] | None:
    """Why `unit` is in doubt (Chinese, English), when the form states another unit too; else None."""
    others = [s for s in stated if s.unit != unit]
    if not others:
        return None
    said = "、".join(dict.fromkeys(s.printed for s in others))
    return (f"金额单位读为{unit}，但表中另印有“{said}”：两处单位不一致，请对照原表",
            f"the amount unit was read as {unit}, but the form also states {said}: its statements of the unit "
            "disagree; check the page")
