"""Eval reports for people: a single static HTML file, and a short text summary."""

from __future__ import annotations

import html
import math

import jinja2

from .schema import EvalReport

_TEMPLATE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<title>jixiao 提取准确率 · extraction accuracy</title>
<style>
 body{font-family:system-ui,"Noto Sans CJK SC","WenQuanYi Zen Hei",sans-serif;margin:24px;color:#1f2933;max-width:1100px}
 h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e4e7eb;padding-bottom:4px}
 .run{color:#616e7c;font-size:13px}
 .cards{display:flex;gap:12px;flex-wrap:wrap;margin-top:14px}
 .card{background:#f5f7fa;border-radius:8px;padding:10px 14px;min-width:120px}
 .card b{display:block;font-size:22px} .card span{font-size:12px;color:#616e7c}
 .bar{display:flex;align-items:center;gap:8px;font-size:13px;margin:3px 0}
 .bar .label{width:260px;text-align:right;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
 .bar .track{flex:1;background:#e4e7eb;border-radius:4px;height:14px;position:relative}
 .bar .fill{height:14px;border-radius:4px}
 .bar .num{width:120px;font-variant-numeric:tabular-nums}
 table{border-collapse:collapse;font-size:13px;width:100%} td,th{border-bottom:1px solid #e4e7eb;padding:4px 6px;text-align:left;vertical-align:top}
 th{background:#f5f7fa} td.v{max-width:280px;word-break:break-all}
 .muted{color:#9aa5b1}
</style></head><body>
<h1>提取准确率报告 · Extraction accuracy</h1>
<div class="run">{% for k, v in report.run.items() %}{{ k }}: <b>{{ "—" if v is none else v }}</b> &nbsp; {% endfor %}</div>
<div class="cards">
 <div class="card"><b>{{ pct(report.overall) }}</b><span>字段准确率 field accuracy<br>{{ report.fields_right }}/{{ report.fields_total }}</span></div>
 <div class="card"><b>{{ pct(report.form_recall) }}</b><span>表召回 form recall</span></div>
 <div class="card"><b>{{ pct(report.form_precision) }}</b><span>表精确 form precision</span></div>
 <div class="card"><b>{{ pct(report.row_f1) }}</b><span>指标行 F1 row F1<br>P {{ pct(report.row_precision) }} · R {{ pct(report.row_recall) }}</span></div>
 {% if report.confidence %}<div class="card"><b>{{ num(report.confidence.form_auroc) }}</b><span>置信度 AUROC (forms)<br>fields {{ num(report.confidence.field_auroc) }}</span></div>{% endif %}
</div>

<h2>各字段准确率 · Per-field accuracy</h2>
{% for name, s in fields %}
<div class="bar"><div class="label" title="{{ name }}">{{ name }}</div>
 <div class="track"><div class="fill" style="width:{{ (s.accuracy * 100)|round(1) }}%;background:{{ colour(s.accuracy) }}"></div></div>
 <div class="num">{{ pct(s.accuracy) }} ({{ s.right }}/{{ s.total }})</div></div>
{% endfor %}

<h2>复核取舍 · Review trade-off</h2>
{% if report.confidence and report.confidence.tradeoff %}
<p>复核置信度最低的 X% 的表，其余直接接受 · review the lowest-confidence X% of forms, accept the rest.</p>
{{ curve|safe }}
<table><tr><th>review X%</th><th>reviewed</th><th>accepted</th><th>accepted forms right</th></tr>
{% for t in report.confidence.tradeoff %}<tr><td>{{ (t.review_fraction*100)|round|int }}%</td><td>{{ t.reviewed }}</td><td>{{ t.accepted }}</td><td>{{ pct(t.accepted_accuracy) }}</td></tr>{% endfor %}
</table>
<p class="muted">ECE forms {{ num(report.confidence.form_ece) }} · fields {{ num(report.confidence.field_ece) }}</p>
{% else %}<p class="muted">预测中没有置信度 · the predictions carry no confidence, so there is no curve.</p>{% endif %}

<h2>各文档 · Per document</h2>
<table><tr><th>document</th><th>accuracy</th><th>fields</th><th>rows found</th></tr>
{% for doc, c in report.per_document.items() %}<tr><td>{{ doc }}</td><td>{{ pct(c.accuracy) }}</td><td>{{ c.right }}/{{ c.fields }}</td><td>{{ c.rows_found }}/{{ c.rows_expected }}</td></tr>{% endfor %}
</table>

<h2>错误明细 · Misses ({{ report.misses|length }})</h2>
{% if report.misses %}<table><tr><th>document</th><th>form</th><th>field</th><th>gold</th><th>predicted</th></tr>
{% for m in report.misses %}<tr><td>{{ m.document }}</td><td>{{ m.form }}</td><td>{{ m.field }}</td><td class="v">{{ m.gold }}</td><td class="v">{{ m.predicted }}</td></tr>{% endfor %}
</table>{% else %}<p>没有错误 · no misses.</p>{% endif %}
</body></html>
"""


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _colour(x: float) -> str:
    return "#2f9e44" if x >= 0.99 else "#f08c00" if x >= 0.9 else "#e03131"


def _curve(report: EvalReport) -> str:
    """An inline SVG line of accepted-forms accuracy against the share reviewed."""
    points = report.confidence.tradeoff if report.confidence else []
    if not points:
        return ""
    w, h, pad, left = 560, 240, 36, 70
    lo = max(0.0, math.floor((min(p.accepted_accuracy for p in points) - 0.05) * 10) / 10)
    x = lambda f: left + f / 0.5 * (w - left - pad)  # noqa: E731
    y = lambda a: h - pad - (a - lo) / ((1 - lo) or 1) * (h - 2 * pad)  # noqa: E731
    xy = [(x(p.review_fraction), y(p.accepted_accuracy)) for p in points]
    line = " ".join(f"{px:.1f},{py:.1f}" for px, py in xy)
    dots = "".join(f'<circle cx="{px:.1f}" cy="{py:.1f}" r="4" fill="#1c7ed6"><title>{html.escape(_pct(p.accepted_accuracy))}'
                   f'</title></circle>' for (px, py), p in zip(xy, points))
    ticks = "".join(f'<text x="{x(f):.1f}" y="{h - pad + 16}" font-size="11" text-anchor="middle">{int(f * 100)}%</text>'
                    for f in (0, 0.1, 0.2, 0.3, 0.4, 0.5))
    levels = [lo + k * (1 - lo) / 4 for k in range(5)]
    grid = "".join(f'<line x1="{left}" x2="{w - pad}" y1="{y(a):.1f}" y2="{y(a):.1f}" stroke="#dee2e6"/>'
                   f'<text x="{left - 6}" y="{y(a) + 4:.1f}" font-size="11" text-anchor="end">{_pct(a)}</text>'
                   for a in levels)
    return (f'<svg class="curve" width="{w}" height="{h}" role="img" aria-label="review trade-off">{grid}'
            f'<polyline points="{line}" fill="none" stroke="#1c7ed6" stroke-width="2.5"/>{dots}{ticks}'
            f'<text x="{(left + w - pad) / 2}" y="{h - 4}" font-size="12" text-anchor="middle">复核比例 share reviewed</text>'
            f'<text x="14" y="{h / 2}" font-size="12" transform="rotate(-90 14 {h / 2})" text-anchor="middle">'
            f'接受部分准确率 accepted right</text></svg>')


def render_html(report: EvalReport) -> str:
    """The report as one static HTML page; every value from the data is escaped."""
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
    fields = sorted(report.per_field.items(), key=lambda kv: (kv[1].accuracy, kv[0]))
    return env.from_string(_TEMPLATE).render(report=report, fields=fields, curve=_curve(report), pct=_pct,
                                             num=_num, colour=_colour)


def render_text(report: EvalReport, misses: int = 30) -> str:
    """A short plain-text summary for the terminal."""
    lines = [
        f"field accuracy 字段准确率  {_pct(report.overall)}  ({report.fields_right}/{report.fields_total})",
        f"forms   recall {_pct(report.form_recall)}  precision {_pct(report.form_precision)}",
        f"rows    recall {_pct(report.row_recall)}  precision {_pct(report.row_precision)}  F1 {_pct(report.row_f1)}",
    ]
    if report.confidence:
        c = report.confidence
        lines.append(f"confidence AUROC forms {_num(c.form_auroc)} fields {_num(c.field_auroc)} · "
                     f"ECE forms {_num(c.form_ece)} fields {_num(c.field_ece)}")
        lines += [f"  review {t.review_fraction:.0%} → accepted right {_pct(t.accepted_accuracy)}" for t in c.tradeoff]
    worst = sorted(report.per_field.items(), key=lambda kv: kv[1].accuracy)[:8]
    lines.append("lowest fields: " + ", ".join(f"{k} {_pct(v.accuracy)}" for k, v in worst))
    for m in report.misses[:misses]:
        lines.append(f"  miss {m.document} · {m.form} · {m.field}: gold={m.gold!r} got={m.predicted!r}")
    if len(report.misses) > misses:
        lines.append(f"  … {len(report.misses) - misses} more misses (--json or --report for all)")
    return "\n".join(lines)
