"""A document's text into one chunk per form, in document order, with kind and span."""

from __future__ import annotations

import re

from .errors import SegmentationError
from .schema import Chunk, SourceDoc, Span

# A form title at the start of a line (markdown headings and table pipes allowed before it).
_TITLE = re.compile(r"^[ \t#|]*(财政项目支出绩效(自评表|目标申报表))", re.M)
_KINDS = {"自评表": "self_evaluation", "目标申报表": "target_declaration"}


def segment(doc: SourceDoc) -> list[Chunk]:
    """One chunk per form. A document with no form title is an error, not an empty success."""
    titles = list(_TITLE.finditer(doc.text))
    if not titles:
        raise SegmentationError(
            f"{doc.path or doc.name}: 没有找到绩效表（自评表或目标申报表的标题）/ no form found: no title "
            "财政项目支出绩效自评表 or 财政项目支出绩效目标申报表; is this a performance form?"
        )
    chunks = []
    for i, match in enumerate(titles):
        start = match.start(1)
        end = titles[i + 1].start() if i + 1 < len(titles) else len(doc.text)
        end = max(start, len(doc.text[:end].rstrip()))
        chunks.append(Chunk(document=doc.name, index=i, kind=_KINDS[match.group(2)],
                            span=Span(start=start, end=end), text=doc.text[start:end],
                            boxes=[b for b in doc.boxes if b.start < end and b.end > start]))
    return chunks
