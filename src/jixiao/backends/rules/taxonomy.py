"""The indicator taxonomy (一级 → 二级) and how split or partial labels are recognised."""

from __future__ import annotations

from functools import lru_cache

from .text import compact

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


def label_prefix(name: str) -> str | None:
    """The 一级/二级 label a name opens with, when more follows it (a label cell and a name
    cell run together); None for a name that is only a label or opens with none."""
    return next((label for label in (*LEVEL2, *LEVEL1) if name.startswith(label) and len(name) > len(label)), None)


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
