"""The template's indicator taxonomy: its 一级 → 二级 labels, how split or partial labels are
recognised, and what kind of measure each 二级 holds, read off a row's words and value.

The vocabulary is the template's, not a reader's: the readers, the
validators and the fake model all take it from here.

The template gives every 二级 its own kind of measure: 数量指标 counts (个, 次, 人, 场…),
质量指标 standards and rates (合格, 达标, 完好…), 时效指标 time (及时, 按时, 年底前, 天…),
成本指标 money (元, 万元, 预算), and the 效益 groups their effect (经济: 产业, 收入…; 社会:
参与, 覆盖, 知晓…; 生态: 环境…; 可持续: 长效, 机制…), 满意度 satisfaction. A row's kind
between two candidate labels is evidence only when it fits exactly one of them; a rate (%)
or a generic word (完成率, 提升) fits several, so it tells nothing. `boundary` uses this to
end a group whose label the layout printed apart from its rows (after a page break)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .text import HAN, compact

LEVEL1 = ("产出指标", "效益指标", "满意度指标", "成本指标")
LEVEL2 = {
    "数量指标": ("产出指标",),
    "质量指标": ("产出指标",),
    "时效指标": ("产出指标",),
    "成本指标": ("产出指标",),
    "经济效益指标": ("效益指标",),
    "社会效益指标": ("效益指标",),
    "生态效益指标": ("效益指标",),
    "可持续影响指标": ("效益指标",),
    "服务对象满意度指标": ("满意度指标",),
    "经济成本指标": ("成本指标",),
    "社会成本指标": ("成本指标",),
    "生态环境成本指标": ("成本指标",),
}
# 财预〔2020〕10号: "原则上…产出指标50%、效益指标30%、服务对象满意度指标10%" (VALIDATION.md SE-T3).
DEFAULT_SHARES = {"产出指标": 50.0, "效益指标": 30.0, "满意度指标": 10.0}
VERTICAL = ("绩效指标", "年度总体目标", "项目绩效目标", "绩效目标")
_LABELS = (*LEVEL2, *LEVEL1)  # label_prefix's order: a 二级 before the 一级 it may start with (成本指标)


def label_prefix(name: str) -> str | None:
    """The 一级/二级 label a name opens with, when more follows it (a label cell and a name
    cell run together); None for a name that is only a label or opens with none."""
    if not name.startswith(_LABELS):  # one test for most names (every row's name is asked)
        return None
    return next((label for label in _LABELS if name.startswith(label) and len(name) > len(label)), None)


@lru_cache(maxsize=4096)
def is_full_label(text: str) -> bool:
    key = compact(text)
    return key in LEVEL1 or key in LEVEL2


@lru_cache(maxsize=4096)
def is_vertical_label(text: str, prefix: bool = False) -> bool:
    key = compact(text)
    return any(v.startswith(key) if prefix else v == key for v in VERTICAL)


def _is_prefix(key: str, labels) -> bool:
    return len(key) >= 2 and any(label.startswith(key) for label in labels)


@lru_cache(maxsize=4096)
def level_of(text: str, current_level1: str | None = None) -> int | None:
    """1 or 2 if the text is a 一级 or 二级 label or the start of one, else None.

    成本指标 is both (一级 in 2024 declarations, 二级 under 产出 before): it is 二级
    where the current 一级 admits it."""
    key = compact(text)
    if key in LEVEL2 and key in LEVEL1:
        return 2 if current_level1 in LEVEL2[key] else 1
    if key in LEVEL1:
        return 1
    if key in LEVEL2:
        return 2
    if _is_prefix(key, LEVEL2):
        return 2
    if _is_prefix(key, LEVEL1):
        return 1
    return None


def parent_of(level2: str) -> tuple[str, ...]:
    return LEVEL2.get(compact(level2), ())


def is_complete(label: str) -> bool:
    return label in LEVEL1 or label in LEVEL2 or label.endswith("指标")


def joined(head: str, tail: str) -> tuple[str, str] | None:
    """Join a label cut by a page or line break: (joined label, what is left of `tail`).

    Handles a plain continuation (满意 + 度指标), an overlap that the break printed twice
    (可持续影响 + 响指标), and a continuation followed by the next label
    (社会效益 + 指标可持续影响指标). None when `tail` does not continue `head`."""
    labels = (*LEVEL1, *LEVEL2)
    for overlap in range(0, min(len(head), len(tail)) + 1):
        if overlap and not head.endswith(tail[:overlap]):
            continue
        rest = tail[overlap:]
        for cut in range(len(rest), 0, -1):
            candidate = head + rest[:cut]
            if candidate in labels and (cut == len(rest) or level_of(rest[cut:]) or is_complete(rest[cut:])):
                return candidate, rest[cut:]
    return None


# --- what kind of measure each 二级 holds -------------------------------------------------

# A figure's unit: `≥4.00(次)`, `=100.00 (%)`, `33家`, `>=1200人`, `≥1.00(名/场)`.
_UNIT = re.compile(r"\d[\d.,]*\s*(?:[(（]\s*([^()（）]{1,6}?)\s*[)）]|(%)|(" + HAN + r"{1,3}))\s*$")
_COUNTS = frozenset("个 次 人 场 项 册 本 家 名 户 件 篇 期 台 套 处 座 所 份 批 部 支 条 张 幅 块 课 节 间 辆".split()
                    + "场次 人次 万人次 户次 学时 课时 万册 个数".split())
_TIMES = frozenset("天 日 月 年 周 小时 工作日 个工作日 分钟 个月".split())
_MONEY = frozenset("元 万元 亿元 千元".split())
# A date or a deadline as a target: 12月中旬, 2024-12-31, 年底前, 6月底.
_DEADLINE = re.compile(r"\d{4}[-/.年]\d{1,2}|\d{1,2}月|[上中下]旬|[年月季]底|[年月]末|前完成|之前")


@dataclass(frozen=True)
class _Kind:
    words: tuple[str, ...] = ()  # in the name or a qualitative value
    units: frozenset[str] = frozenset()
    deadline: bool = False


_SOCIAL = _Kind(("社会", "参与", "覆盖", "知晓", "群众", "居民", "受益", "获得感", "幸福感", "安全感", "宣传",
                 "影响力", "文明", "和谐", "关爱"))
_ECONOMIC = _Kind(("经济", "产业", "企业", "收入", "增收", "产值", "税收", "营收", "创收", "投资", "消费", "效益金额"),
                  _MONEY)
_COST = _Kind(("成本", "预算", "费用", "经费", "单价", "资金"), _MONEY)
KINDS = {
    "数量指标": _Kind(("数量", "次数", "人数", "场次", "个数", "户数", "册数", "件数"), _COUNTS),
    "质量指标": _Kind(("质量", "合格", "达标", "完好", "准确", "标准", "规范", "合规", "正确", "优良", "完整")),
    "时效指标": _Kind(("及时", "按时", "按期", "时效", "时限", "期限", "进度"), _TIMES, deadline=True),
    "成本指标": _COST,
    "经济成本指标": _COST,
    "社会成本指标": _COST,
    "生态环境成本指标": _COST,
    "经济效益指标": _ECONOMIC,
    "社会效益指标": _SOCIAL,
    "生态效益指标": _Kind(("生态", "环境", "绿化", "节能", "减排", "污染", "垃圾", "绿色", "环保", "能耗")),
    "可持续影响指标": _Kind(("长效", "机制", "可持续", "制度", "长期", "持续")),
    "服务对象满意度指标": _Kind(("满意",)),
}


# The words of each 二级's row names, for placing rows under labels printed apart from them
# (one cell per line, the labels in a block): a row adds its fit to a group, so these are
# fewer than KINDS' words but take single characters (率, 数, 次) that KINDS, deciding
# between two labels only when exactly one fits, must leave out.
PLACING = {"时效指标": ("及时", "时效", "按时", "期限"), "成本指标": ("成本", "预算", "费用"),
           "经济成本指标": ("成本", "预算"), "服务对象满意度指标": ("满意",),
           "可持续影响指标": ("长效", "机制", "可持续", "制度"), "经济效益指标": ("经济",),
           "生态效益指标": ("生态",), "质量指标": ("率", "质量", "达标", "合格", "完好", "准确"),
           "数量指标": ("数", "量", "次", "场"), "社会效益指标": ("提升", "覆盖", "参与", "知晓", "社会")}
# Words many names hold whatever their group (`完成及时率`, `完成数`): half a fit.
_WEAK = {"率": 0.5, "数": 0.5, "量": 0.5}


def affinity(label: str, words: str) -> float:
    """How well a row's words (its name and target) fit the 二级 `label` for placing it:
    1 for a telling word, 0.5 for a word many names hold, 0 for none."""
    return max((_WEAK.get(w, 1.0) for w in PLACING.get(label, ()) if w in words), default=0.0)


def unit_of(value: str | None) -> str | None:
    """The unit a figure is printed with (`次`, `%`, `名/场`), None for a figure without one
    or a value that is no figure."""
    match = _UNIT.search(compact(value or ""))
    return next((g for g in match.groups() if g), None) if match else None


def fits(label: str, name: str | None, values: tuple[str | None, ...]) -> bool:
    """Whether a row (its name and its target/actual values) has the kind of the 二级 `label`."""
    kind = KINDS.get(label)
    if kind is None:
        return False
    text = compact(name or "") + "".join(compact(v or "") for v in values)
    if any(word in text for word in kind.words):
        return True
    # A ratio (名/场, 元/人) is a standard, not a count or an amount: only a plain unit counts.
    units = {unit_of(v) for v in values} - {None}
    if any(u in kind.units for u in units):
        return True
    return kind.deadline and any(_DEADLINE.search(compact(v or "")) for v in values)


def side(row: tuple[str | None, tuple[str | None, ...]], above: str, below: str) -> str | None:
    """'above' or 'below' when the row has the kind of exactly one of the two labels, else None."""
    a, b = fits(above, *row), fits(below, *row)
    return None if a == b else ("above" if a else "below")


def boundary(rows: list[tuple[str | None, tuple[str | None, ...]]], above: str, below: str,
             first: int, after: list[tuple[str | None, tuple[str | None, ...]]]) -> int | None:
    """Where the group of `below` starts among `rows` (read under `above`; the layout allows
    the split no earlier than `first`), when the rows' kinds say so clearly; else None.

    A group's rows are contiguous, so the split lies after every row of the `above` kind and
    at or before every row of the `below` kind. It is decided only when the row just before
    it is of the `above` kind and the one at it is of the `below` kind (or is the first row
    printed under the `below` label), and the rows whose group the layout is sure of (before
    `first`; `after`, printed under the `below` label) do not contradict their labels: where
    they do, the words do not tell the two groups apart on this form."""
    sides = [side(r, above, below) for r in rows]
    if "below" in sides[:first] or any(side(r, above, below) == "above" for r in after):
        return None
    ups = [i for i, s in enumerate(sides) if s == "above"]
    downs = [i for i, s in enumerate(sides) if s == "below" and i >= first]
    if not ups:
        return None
    split = ups[-1] + 1
    if (downs[0] if downs else len(rows)) != split:
        return None  # rows of neither kind between them, or a row of the kind below above one of the kind above
    return split
