"""Layouts the readers have never seen, built from the hand-labelled gold: each case changes the
tables evals/formats.py renders (columns in another order, an extra or a missing column, merges
spanning the wrong rows, two forms in one table, a repeated or split header, other labels and
units) and the gold where the change alters what is right; the forms are written as HTML, read
by `jixiao extract` and scored by `jixiao eval`. The figure to watch is "accepted N (M wrong)":
a guess must lower confidence, so M stays 0.

    python evals/unseen_layouts.py [OUT] [--case NAME ...]
"""
import copy, json, sys, shutil
from dataclasses import replace
from pathlib import Path
sys.path.insert(0, str(Path(__file__).resolve().parent))
import formats as F

OUT = Path("unseen-layouts")

def dense(g):
    """expand to (origin, r, c) map: owner grid"""
    h, w = len(g.cells), g.width
    own = [[None]*w for _ in range(h)]
    for r, c, cell in g.origins():
        for dr in range(cell.rows):
            for dc in range(cell.cols):
                own[r+dr][c+dc] = (r, c)
    return own

def del_col(g, col):
    own = dense(g)
    cells = [list(row) for row in g.cells]
    for r, row in enumerate(cells):
        o = own[r][col]
        if o is None: continue
        orr, oc = o
        cell = cells[orr][oc]
        if orr != r: continue
        if cell.cols > 1:
            cells[orr][oc] = replace(cell, cols=cell.cols-1)
    for row in cells:
        del row[col]
    return replace(g, cells=cells)

def add_col(g, header_row, text):
    cells = [list(row) + [F.Cell("")] for row in g.cells]
    own = dense(g)
    for r in range(len(cells)):
        if own[r][-1] and own[r][-1][0] != r:  # covered from above: keep covered? just leave own cell
            pass
    cells[header_row][-1] = F.Cell(text)
    return replace(g, cells=cells)

def swap_cols(g, a, b):
    cells = [list(row) for row in g.cells]
    for r in range(g.first_indicator - 1, g.first_indicator + g.indicator_count + 1):
        row = cells[r]
        if row[a] is not None and row[b] is not None and row[a].cols == 1 and row[b].cols == 1:
            row[a], row[b] = row[b], row[a]
    return replace(g, cells=cells)

def header_row(g):
    return g.first_indicator - 1

def repeat_header(g):
    # insert copy of header row at the first 一级 boundary after the start
    fi = g.first_indicator
    hdr = g.cells[header_row(g)]
    for r in range(fi + 1, fi + g.indicator_count):
        if g.cells[r][1] is not None:  # a new 一级 group starts
            break
    else:
        return None
    newhdr = [None] + [replace(c) if c else None for c in hdr[1:]]
    newhdr[0] = None  # covered by 绩效指标 side label
    cells = [list(row) for row in g.cells]
    cells.insert(r, newhdr)
    side = cells[header_row(g)][0]
    cells[header_row(g)][0] = replace(side, rows=side.rows + 1)
    return replace(g, cells=cells, indicator_count=g.indicator_count + 1)

def split_header(g):
    hr = header_row(g)
    hdr = g.cells[hr]
    top, bot = [None]*g.width, [None]*g.width
    for c, cell in enumerate(hdr):
        if cell is None or c == 0: continue
        t = cell.text
        if len(t) >= 4:
            k = len(t)//2
            top[c] = replace(cell, text=t[:k]); bot[c] = replace(cell, text=t[k:])
        else:
            top[c] = replace(cell, rows=2)
    cells = [list(row) for row in g.cells]
    cells[hr] = top
    cells.insert(hr + 1, bot)
    side = cells[hr][0] = replace(hdr[0], rows=hdr[0].rows + 1)
    return replace(g, cells=cells, first_indicator=g.first_indicator+1)

def relabel(g, old, new):
    cells = [[replace(c, text=c.text.replace(old, new)) if c else None for c in row] for row in g.cells]
    return replace(g, cells=cells)

def render(name, grids_per_doc, golds):
    d = OUT / name; shutil.rmtree(d, ignore_errors=True); d.mkdir(parents=True)
    gd = OUT / (name + "_gold"); shutil.rmtree(gd, ignore_errors=True); gd.mkdir(parents=True)
    for stem, grids in grids_per_doc.items():
        F.write_html(grids, d / f"{stem}.html", stem)
        (gd / f"{stem}.json").write_text(json.dumps(golds[stem], ensure_ascii=False), encoding="utf-8")
    print(F.table_line(name, F.scored(d, gd)), flush=True)


def cases():
    for path in sorted(F.GOLD.glob("*.json")):
        gold = json.loads(path.read_text(encoding="utf-8"))
        yield path.stem, gold, F.document_grids(gold, F.RAW / gold["document"])

def run(name, fn):
    """fn(gold, grids) -> (gold2, grids2)"""
    gp, golds = {}, {}
    for stem, gold, grids in cases():
        g2, gr2 = fn(copy.deepcopy(gold), grids)
        gp[stem], golds[stem] = gr2, g2
    render(name, gp, golds)

SE = lambda g: g.width == 9

def per_grid(tf, goldf=None):
    def fn(gold, grids):
        out = []
        for i, g in enumerate(grids):
            t = tf(g) if SE(g) else g
            out.append(t if t is not None else g)
            if goldf and SE(g) and t is not None: goldf(gold["forms"][i])
        return gold, out
    return fn

def no_dev(form):
    for r in form["indicators"]: r["deviation"] = None

def unknown_l2(g):
    fi = g.first_indicator
    cells = [list(row) for row in g.cells]
    c = cells[fi][2]
    cells[fi][2] = replace(c, text="社会责任指标")
    return replace(g, cells=cells)
def unknown_l2_gold(form):
    first = form["indicators"][0]["level2"]
    for r in form["indicators"]:
        if r["level2"] == first and r["level1"] == form["indicators"][0]["level1"]: r["level2"] = "社会责任指标"
        else: break

def short_l1(g):
    fi = g.first_indicator
    cells = [list(row) for row in g.cells]
    c = cells[fi][1]
    if c.rows < 2: return None
    cells[fi][1] = replace(c, rows=c.rows - 1)
    r = fi + c.rows - 1
    cells[r][1] = F.Cell("")
    return replace(g, cells=cells)

def two_in_one(gold, grids):
    out, i = [], 0
    while i < len(grids):
        if i + 1 < len(grids) and grids[i].width == grids[i+1].width:
            b = grids[i+1]
            out.append(replace(grids[i], cells=grids[i].cells + [[F.Cell(b.title + b.subtitle, cols=b.width)] + [None]*(b.width-1)] + b.cells))
            i += 2
        else:
            out.append(grids[i]); i += 1
    return gold, out

def two_in_one_notitle(gold, grids):
    out, i = [], 0
    while i < len(grids):
        if i + 1 < len(grids) and grids[i].width == grids[i+1].width:
            out.append(replace(grids[i], cells=grids[i].cells + grids[i+1].cells)); i += 2
        else:
            out.append(grids[i]); i += 1
    return gold, out

def funds_extra(g):
    cells = [list(row) for row in g.cells]
    # find 其他资金 row
    for r, row in enumerate(cells):
        if row[0] is None and row[1] is not None and row[1].text == "其他资金":
            break
    else: return None
    new = [None, F.Cell("其中：专项资金", cols=2), None] + [F.Cell("9,999.00") for _ in range(6)]
    cells.insert(r + 1, new)
    side = cells[2][0]; cells[2][0] = replace(side, rows=side.rows + 1)
    return replace(g, cells=cells, first_indicator=g.first_indicator + 1)

def funds_swaprows(g):
    cells = [list(row) for row in g.cells]
    # swap 上年结转资金 and 其他资金 rows labels stay with their values: i.e. reorder rows
    rs = [r for r, row in enumerate(cells) if row[1] is not None and row[1].text in ("上年结转资金", "其他资金")]
    if len(rs) != 2: return None
    a, b = rs
    cells[a], cells[b] = cells[b], cells[a]
    return replace(g, cells=cells)

def funds_relabel(g):
    return relabel(g, "其中：当年财政拨款", "财政拨款")

def unit_wan(g):
    return relabel(g, "（元）", "（万元）")
def unit_wan_gold(form):
    if (form.get("amount_unit") or "元") == "元": form["amount_unit"] = "万元"

def swap_fund_cols(g):
    # 年初预算数 and 全年预算数 swapped with headers
    cells = [list(row) for row in g.cells]
    for r in range(2, 7):
        row = cells[r]
        if row[3] is not None and row[4] is not None:
            row[3], row[4] = row[4], row[3]
    return replace(g, cells=cells)

def funds_unit_in_cells(g):
    cells = [list(row) for row in g.cells]
    for r in range(3, 7):
        for c in (3, 4, 5):
            x = cells[r][c]
            if x is not None and x.text and x.text[0].isdigit(): cells[r][c] = replace(x, text=x.text + "万元")
    return replace(g, cells=cells)

CASES = {
    "swap_target_actual": per_grid(lambda g: swap_cols(g, 4, 5)),
    "swap_weight_score": per_grid(lambda g: swap_cols(g, 6, 7)),
    "swap_name_target": per_grid(lambda g: swap_cols(g, 3, 4)),
    "extra_col_beizhu": per_grid(lambda g: add_col(g, header_row(g), "备注")),
    "no_deviation_col": per_grid(lambda g: del_col(g, 8), no_dev),
    "unknown_level2": per_grid(unknown_l2, unknown_l2_gold),
    "short_l1_span": per_grid(short_l1),
    "two_forms_one_table": two_in_one,
    "two_forms_no_title": two_in_one_notitle,
    "funds_extra_row": per_grid(funds_extra),
    "funds_rows_reordered": per_grid(funds_swaprows),
    "funds_relabel": per_grid(funds_relabel),
    "unit_wanyuan_header": per_grid(unit_wan, unit_wan_gold),
    "fund_cols_swapped": per_grid(swap_fund_cols),
    "funds_unit_in_cells": per_grid(funds_unit_in_cells),
    "repeat_header": per_grid(repeat_header),
    "split_header": per_grid(split_header),
}



def td_two_targets(order):
    def tf(g):
        if g.width != 6: return None
        cells = [list(row) for row in g.cells]
        hr = g.first_indicator - 1
        heads = {"annual": F.Cell("年度指标值"), "project": F.Cell("项目指标值")}
        a, b = order
        cells[hr][4], cells[hr][5] = heads[a], heads[b]
        for r in range(g.first_indicator, g.first_indicator + g.indicator_count):
            t = cells[r][4]
            vals = {"annual": F.Cell(t.text), "project": F.Cell(("三年累计" + t.text) if t.text else "")}
            cells[r][4], cells[r][5] = vals[a], vals[b]
        return replace(g, cells=cells)
    def fn(gold, grids):
        return gold, [tf(g) or g for g in grids]
    return fn
CASES["td_annual_then_project"] = td_two_targets(("annual", "project"))
CASES["td_project_then_annual"] = td_two_targets(("project", "annual"))

def insert_col(g, at, header, value_of):
    """a new column before `at`; spans crossing it widen"""
    own = dense(g)
    cells = []
    for r, row in enumerate(g.cells):
        row = list(row)
        o = own[r][at] if at < g.width else None
        if o is not None and o[1] < at:  # a span crossing: widen its origin, new position covered
            orr, oc = o
            if orr == r:
                row[oc] = replace(row[oc], cols=row[oc].cols + 1)
            row.insert(at, None)
        elif o is not None and o[0] != r:
            row.insert(at, F.Cell(""))
        else:
            row.insert(at, F.Cell(""))
        cells.append(row)
    hr = g.first_indicator - 1
    cells[hr][at] = F.Cell(header)
    for k, r in enumerate(range(g.first_indicator, g.first_indicator + g.indicator_count)):
        if cells[r][at] is not None: cells[r][at] = F.Cell(value_of(k, g, r))
    return replace(g, cells=cells)

CASES["se_mid_unit_col"] = per_grid(lambda g: insert_col(g, 4, "计量单位", lambda k, g, r: "个"))
CASES["se_extra_weight_pct"] = per_grid(lambda g: insert_col(g, 8, "权重", lambda k, g, r: "5"))
CASES["se_extra_weight_pct_before"] = per_grid(lambda g: insert_col(g, 6, "权重", lambda k, g, r: "5"))
CASES["se_extra_target2"] = per_grid(lambda g: insert_col(g, 5, "指标值", lambda k, g, r: "见附件"))

def l2_long(g):
    # find a 二级 cell (col 2) whose next group's first row is in same 一级 group; extend by one
    fi = g.first_indicator
    cells = [list(row) for row in g.cells]
    for r in range(fi, fi + g.indicator_count):
        c = cells[r][2]
        if c is None: continue
        nr = r + c.rows
        if nr < fi + g.indicator_count and cells[nr][2] is not None and cells[nr][1] is None and cells[nr][2].rows >= 2:
            cells[r][2] = replace(c, rows=c.rows + 1)
            n = cells[nr][2]
            cells[nr][2] = None
            cells[nr + 1][2] = replace(n, rows=n.rows - 1)
            return replace(g, cells=cells)
    return None
CASES["l2_span_one_too_long"] = per_grid(l2_long)

def l1_long(g):
    fi = g.first_indicator
    cells = [list(row) for row in g.cells]
    c = cells[fi][1]
    nr = fi + c.rows
    if nr + 1 >= fi + g.indicator_count or cells[nr][1] is None or cells[nr][1].rows < 2: return None
    cells[fi][1] = replace(c, rows=c.rows + 1)
    n = cells[nr][1]; cells[nr][1] = None
    cells[nr + 1][1] = replace(n, rows=n.rows - 1)
    # the 二级 cell at nr: if it is an origin, leave it
    return replace(g, cells=cells)
CASES["l1_span_one_too_long"] = per_grid(l1_long)

def l2_short(g):
    fi = g.first_indicator
    cells = [list(row) for row in g.cells]
    for r in range(fi, fi + g.indicator_count):
        c = cells[r][2]
        if c is not None and c.rows >= 2:
            cells[r][2] = replace(c, rows=c.rows - 1)
            cells[r + c.rows - 1][2] = F.Cell("")
            return replace(g, cells=cells)
    return None
CASES["l2_span_one_too_short"] = per_grid(l2_short)

def map_numbers(fn, roles=("score",)):
    def tf(g):
        cells = [[replace(c, text=fn(c.text)) if c is not None and c.role in roles and c.text else c for c in row] for row in g.cells]
        return replace(g, cells=cells)
    return tf
CASES["scores_fullwidth"] = per_grid(map_numbers(lambda t: t.translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))))
CASES["scores_with_fen"] = per_grid(map_numbers(lambda t: t + "分"))
CASES["total_is_heji"] = per_grid(lambda g: relabel(g, "总分", "合计"))
CASES["fund_head_yusuanshu"] = per_grid(lambda g: relabel(g, "全年预算数", "预算数"))
CASES["goal_labels_other"] = per_grid(lambda g: relabel(relabel(g, "预期目标", "年度目标"), "实际完成情况", "完成情况"))
CASES["l1_label_with_points"] = per_grid(lambda g: relabel(g, "产出指标", "产出指标（50分）"))
def amounts_spaced(g):
    cells = [[replace(c, text=c.text.replace(",", " ")) if c is not None and c.value is not None else c for c in row] for row in g.cells]
    return replace(g, cells=cells)
CASES["numbers_space_grouped"] = per_grid(amounts_spaced)
def amounts_dot_grouped(g):
    cells = [[replace(c, text=c.text.replace(",", "，")) if c is not None and c.value is not None else c for c in row] for row in g.cells]
    return replace(g, cells=cells)
CASES["numbers_fullwidth_comma"] = per_grid(amounts_dot_grouped)

def all_grids(tf):
    def fn(gold, grids):
        return gold, [tf(g) or g for g in grids]
    return fn
CASES["no_year"] = all_grids(lambda g: replace(g, subtitle=""))
CASES["year_other_form"] = all_grids(lambda g: replace(g, subtitle=g.subtitle.replace("年度", "年")))
CASES["title_short"] = all_grids(lambda g: replace(g, title=g.title.replace("财政项目支出", "项目支出")))
CASES["td_fund_relabel"] = all_grids(lambda g: relabel(g, "年度资金申请总额", "年度资金总额") if g.width == 6 else None)
CASES["td_fund_relabel2"] = all_grids(lambda g: relabel(g, "项目资金总额", "资金总额") if g.width == 6 else None)
CASES["se_rate_relabelled"] = per_grid(lambda g: relabel(g, "执行率", "比率"))
CASES["se_score_head_other"] = per_grid(lambda g: relabel(g, "年度指标值", "目标值"))

def subtotal_row(g):
    end = g.first_indicator + g.indicator_count
    cells = [list(row) for row in g.cells]
    tot = cells[end]  # 总分 row: [总分 cols=6, ..., weight, score, ""]
    w, s = tot[6], tot[7]
    new = [None, F.Cell("小计", cols=5), None, None, None, None, replace(w), replace(s), F.Cell("")]
    cells.insert(end, new)
    hr = g.first_indicator - 1
    cells[hr][0] = replace(cells[hr][0], rows=cells[hr][0].rows + 1)
    return replace(g, cells=cells)
CASES["subtotal_row"] = per_grid(subtotal_row)

def total_swapped(g):
    # the 总分 row's weight and score in each other's cells, under headers in their usual order
    end = g.first_indicator + g.indicator_count
    cells = [list(row) for row in g.cells]
    cells[end][6], cells[end][7] = cells[end][7], cells[end][6]
    return replace(g, cells=cells)
CASES["total_figures_swapped"] = per_grid(total_swapped)

def blank_row(g):
    end = g.first_indicator + g.indicator_count
    cells = [list(row) for row in g.cells]
    cells.insert(end, [None] + [F.Cell("") for _ in range(8)])
    hr = g.first_indicator - 1
    cells[hr][0] = replace(cells[hr][0], rows=cells[hr][0].rows + 1)
    return replace(g, cells=cells)
CASES["blank_row_before_total"] = per_grid(blank_row)

def note_row(g):
    cells = [list(row) for row in g.cells] 
    cells.append([F.Cell("备注", cols=1), F.Cell("本表金额单位为万元", cols=8)] + [None]*7)
    return replace(g, cells=cells)
CASES["note_row_wanyuan"] = per_grid(note_row)

import re as _re
def strip_unit(g):
    cells = [[replace(c, text=_re.sub(r"\n?（[万元]+）", "", c.text)) if c is not None and c.text.startswith("项目资金") else c for c in row] for row in g.cells]
    return replace(g, cells=cells)
def unit_above(gold, grids):
    out = []
    for i, g in enumerate(grids):
        out.append(replace(strip_unit(g), subtitle=g.subtitle + "　　单位：万元"))
        gold["forms"][i]["amount_unit"] = "万元"
    return gold, out
def unit_none(gold, grids):
    out = []
    for i, g in enumerate(grids):
        out.append(strip_unit(g))
        gold["forms"][i]["amount_unit"] = None
    return gold, out
CASES["unit_above_table"] = unit_above
CASES["unit_nowhere"] = unit_none

def with_note(g, text):
    cells = [list(row) for row in g.cells]
    cells.append([F.Cell("备注"), F.Cell(text, cols=g.width - 1)] + [None] * (g.width - 2))
    return replace(g, cells=cells)
def unit_note_disagrees(gold, grids):
    # the label says one unit, a note under the table the other: which is meant is not to be guessed
    out = []
    for i, g in enumerate(grids):
        other = "元" if (gold["forms"][i].get("amount_unit") or "元") == "万元" else "万元"
        out.append(with_note(g, f"本表金额单位为{other}"))
    return gold, out
def unit_note_only(gold, grids):
    # the label prints no unit; a note under the table states it
    out = []
    for i, g in enumerate(grids):
        unit = gold["forms"][i].get("amount_unit") or "元"
        out.append(with_note(strip_unit(g), f"金额单位：{unit}"))
        gold["forms"][i]["amount_unit"] = unit
    return gold, out
CASES["unit_note_disagrees"] = unit_note_disagrees
CASES["unit_note_only"] = unit_note_only

def cap_l2_all(g):
    # 二级 labels printed without 指标 suffix (数量, 质量 ...)
    fi = g.first_indicator
    cells = [list(row) for row in g.cells]
    for r in range(fi, fi + g.indicator_count):
        c = cells[r][2]
        if c is not None and c.text.endswith("指标"): cells[r][2] = replace(c, text=c.text[:-2])
    return replace(g, cells=cells)
CASES["l2_without_zhibiao"] = all_grids(cap_l2_all)
def l1_repeated_each_row(g):
    fi = g.first_indicator
    own = dense(g)
    cells = [list(row) for row in g.cells]
    for r in range(fi, fi + g.indicator_count):
        for c in (1, 2):
            o = own[r][c]
            src = g.cells[o[0]][o[1]]
            cells[r][c] = replace(src, rows=1)
    return replace(g, cells=cells)
CASES["labels_unmerged_repeated"] = all_grids(l1_repeated_each_row)


def main() -> None:
    global OUT
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=OUT)
    parser.add_argument("--case", action="append", choices=sorted(CASES))
    args = parser.parse_args()
    OUT = args.out
    print(f"{'case':<24} {'forms':>14} {'fields':>8}")
    for name in args.case or CASES:
        run(name, CASES[name])


if __name__ == "__main__":
    main()
