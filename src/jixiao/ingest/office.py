"""Word and Excel files to a SourceDoc whose tables are the files' own grids.

DOCX (python-docx's XML): the body's paragraphs and tables in order; a table's merged cells from
`w:gridSpan` (across) and `w:vMerge` (down); a nested table's text read into its cell. XLSX
(openpyxl) and XLS (xlrd): every visible sheet, hidden rows and columns skipped, merged ranges,
each value as its cell displays it (`numfmt`), a formula's cached value; a sheet is cut into
one table per stretch of rows between fully empty rows. A .doc, .wps or .et file, a password-
protected file, a broken one and an empty one are each refused by name."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CorruptFile, EmptyDocument, EncryptedFile, InputError, InputTooLarge, UnsupportedFormat
from ..schema import Note, SourceDoc
from .numfmt import displayed, is_date_format
from .rendering import Origins, Rendering, grid

OLD_FORMATS = {".doc": ("Word 97-2003 (.doc)", ".docx"), ".wps": ("WPS 文字 (.wps)", ".docx"),
               ".et": ("WPS 表格 (.et)", ".xlsx")}
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# The XML a form workbook or document unpacks to is a few MB; more is a zip bomb, not a form.
MAX_UNPACKED_MB = 500


def refuse_old_format(path: Path) -> None:
    """A .doc, .wps or .et file: an UnsupportedFormat saying what to save it as."""
    kind, save_as = OLD_FORMATS[path.suffix.lower()]
    raise UnsupportedFormat(f"{path}: 不支持 {kind} 格式，请在 Word/WPS/Excel 中另存为 {save_as} 后再读取 / {kind} files "
                            f"are not read: open it in Word, WPS or Excel and save it as {save_as}")


def _container(path: Path, kind: str, part: str) -> None:
    """Refuse by name what is not a readable Office Open XML file: a password-protected one (an
    OLE2 file holding an encrypted package), another OLE2 file, a broken zip, a zip without
    `part`, or one that unpacks to more than MAX_UNPACKED_MB."""
    if _head(path).startswith(_OLE):
        if _encrypted(path):
            raise EncryptedFile(f"{path}: 文件有密码保护（已加密），无法读取；请取消密码后另存为 {kind} / the file is password-"
                                f"protected (encrypted): remove the password (File > Info > Protect) and save it again")
        raise CorruptFile(f"{path}: 这是旧版 Office 文件（.doc/.xls），不是 {kind}；请另存为 {kind} / an old-format Office "
                          f"file (.doc/.xls) named {kind}: open it and save it as {kind}")
    try:
        with zipfile.ZipFile(path) as z:
            names = set(z.namelist())
            unpacked = sum(i.file_size for i in z.infolist() if not i.filename.startswith(("word/media", "xl/media")))
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CorruptFile(f"{path}: 文件已损坏，不是有效的 {kind}（zip）文件 / the file is damaged: not a valid {kind} "
                          f"file (bad zip: {exc}); save it again from Word/Excel") from None
    if part not in names:
        raise CorruptFile(f"{path}: 文件已损坏或不是 {kind}（缺少 {part}）/ damaged or not a {kind} file ({part} missing)")
    if unpacked > MAX_UNPACKED_MB * 2**20:
        raise InputTooLarge(f"{path}: 解压后过大（{unpacked / 2**20:.0f} MB），不像绩效表文件 / unpacks to "
                            f"{unpacked / 2**20:.0f} MB (> {MAX_UNPACKED_MB} MB): not a form document",
                            size=unpacked / 2**20, limit=MAX_UNPACKED_MB)


def _encrypted(path: Path) -> bool:
    """An OLE2 file holding an encrypted Office package (a password-protected .docx/.xlsx)."""
    return "EncryptionInfo".encode("utf-16-le") in path.read_bytes()


def _head(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(8)
    except OSError as exc:
        raise InputError(f"{path}: 无法读取 / cannot be read ({exc.strerror})") from None


def _empty(path: Path, what: str) -> EmptyDocument:
    return EmptyDocument(f"{path}: {what[0]}，没有可读取的内容 / {what[1]}: nothing to read")


# --- Word --------------------------------------------------------------------------------------

def read_docx(path: Path) -> SourceDoc:
    """A .docx: its paragraphs and tables in body order, each table a grid with its merges."""
    _container(path, ".docx", "word/document.xml")
    import docx
    from lxml.etree import XMLSyntaxError

    try:
        document = docx.Document(str(path))
    except (KeyError, ValueError, XMLSyntaxError, zipfile.BadZipFile, docx.opc.exceptions.PackageNotFoundError) as exc:
        raise CorruptFile(f"{path}: 文件已损坏，无法作为 .docx 打开 / the file is damaged and cannot be opened as "
                          f".docx ({type(exc).__name__}: {exc})") from None
    out = Rendering()
    _blocks(document.element.body, out)
    if not out.text.strip():
        raise _empty(path, ("文档为空", "the document is empty"))
    return out.source_doc(path.name, str(path), "docx")


def _w(tag: str) -> str:
    return "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}" + tag


def _blocks(parent, out: Rendering) -> None:
    for child in parent.iterchildren():
        if child.tag == _w("p"):
            out.paragraph(_paragraph(child))
        elif child.tag == _w("tbl"):
            out.table(_word_grid(child), f"table {len(out.tables) + 1}")
        elif child.tag in (_w("sdt"), _w("sdtContent"), _w("customXml")):
            _blocks(child, out)


def _paragraph(p) -> str:
    """A paragraph's text: its runs' text, a tab as a tab, a line break as a line break;
    deleted text (tracked changes) and field codes left out."""
    out = []
    for el in p.iter(_w("t"), _w("tab"), _w("br"), _w("cr"), _w("noBreakHyphen")):
        if el.tag == _w("t"):
            out.append(el.text or "")
        elif el.tag == _w("tab"):
            if el.getparent().tag != _w("tabs"):  # a tab stop's definition, not a tab
                out.append("\t")
        elif el.tag == _w("noBreakHyphen"):
            out.append("-")
        elif el.get(_w("type")) in (None, "textWrapping"):
            out.append("\n")
    return "".join(out)


def _cells(tr) -> list:
    return [el for el in tr.iterchildren() if el.tag == _w("tc")] + \
        [tc for sdt in tr.iterchildren(_w("sdt")) for tc in sdt.iter(_w("tc"))]


def _word_grid(tbl):
    """A Word table's grid: `w:gridSpan` for cells merged across, `w:vMerge="continue"` for a
    cell merged into the one above it, `w:gridBefore` for cells a row leaves out at its start."""
    origins: Origins = {}
    owner: dict[tuple[int, int], tuple[int, int]] = {}
    rows = [tr for tr in tbl.iterchildren() if tr.tag == _w("tr")]
    width = len(tbl.findall(f"{_w('tblGrid')}/{_w('gridCol')}"))
    for r, tr in enumerate(rows):
        before = tr.find(f"{_w('trPr')}/{_w('gridBefore')}")
        c = int(before.get(_w("val"), 0)) if before is not None else 0
        for tc in _cells(tr):
            span = max(1, tc.grid_span)
            above = owner.get((r - 1, c))
            if tc.vMerge == "continue" and above is not None:
                text, _, colspan = origins[above]
                origins[above] = (text, r - above[0] + 1, max(colspan, span))
                origin = above
            else:
                origins[(r, c)] = (_cell_text(tc), 1, span)
                origin = (r, c)
            for k in range(span):
                owner[(r, c + k)] = origin
            c += span
        width = max(width, c)
    return grid(origins, len(rows), width)


def _cell_text(tc) -> str:
    """A cell's paragraphs, one a line; a nested table's rows a line each, cells parted by spaces."""
    lines = []
    for child in tc.iterchildren():
        if child.tag == _w("p"):
            lines.append(_paragraph(child))
        elif child.tag == _w("tbl"):
            for row in _word_grid(child):
                lines.append(" ".join(cell.text.replace("\n", " ") for cell in row if cell.text))
        elif child.tag in (_w("sdt"), _w("sdtContent"), _w("customXml")):
            lines.append(_cell_text(child))
    return "\n".join(lines)


# --- Excel -------------------------------------------------------------------------------------

@dataclass
class Sheet:
    """A worksheet as shown: displayed texts by (row, column) counted from 1, merged ranges as
    (first row, first column, last row, last column), hidden rows and columns."""

    name: str
    texts: dict[tuple[int, int], str] = field(default_factory=dict)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)
    hidden_cols: set[int] = field(default_factory=set)


def read_xlsx(path: Path) -> SourceDoc:
    """An .xlsx (.xlsm): every visible sheet's tables of displayed values. An Excel 97-2003
    workbook named .xlsx is read as the .xls it is."""
    if _head(path).startswith(_OLE) and not _encrypted(path):
        return read_xls(path)
    _container(path, ".xlsx", "xl/workbook.xml")
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, data_only=True)
        formulas = openpyxl.load_workbook(path, read_only=True)
    except (KeyError, ValueError, TypeError, OSError, zipfile.BadZipFile, InvalidFileException) as exc:
        raise CorruptFile(f"{path}: 文件已损坏，无法作为 .xlsx 打开 / the file is damaged and cannot be opened as "
                          f".xlsx ({type(exc).__name__}: {exc})") from None
    sheets, notes = [], []
    try:
        for ws in book.worksheets:
            if ws.sheet_state != "visible":
                continue
            sheet = Sheet(ws.title, merges=[(m.min_row, m.min_col, m.max_row, m.max_col) for m in ws.merged_cells.ranges])
            sheet.hidden_rows = {r for r, dim in ws.row_dimensions.items() if dim.hidden}
            for key, dim in ws.column_dimensions.items():
                if dim.hidden:
                    from openpyxl.utils import column_index_from_string

                    first = dim.min or column_index_from_string(key)
                    sheet.hidden_cols.update(range(first, (dim.max or first) + 1))
            for row in ws.iter_rows():
                for cell in row:
                    if cell.value is not None:
                        text = displayed(cell.value, cell.number_format)
                        if text.strip():
                            sheet.texts[(cell.row, cell.column)] = text
            for cell in _uncached(formulas[ws.title], sheet):
                notes.append(f"{ws.title}!{cell}")
            sheets.append(sheet)
    finally:
        formulas.close()
    doc = _workbook(path, sheets, "xlsx")
    doc.notes += [Note(field="form", code="formula_without_value",
                       message=f"{path.name} {cell}: 公式没有保存的计算结果，按空白读取；请在 Excel 中打开并保存后重试 / a formula "
                               "with no saved result, read as blank: open and save the file in Excel to keep its values")
                  for cell in notes]
    return doc


def _uncached(ws, sheet: Sheet) -> list[str]:
    """Cells holding a formula whose value the file did not save (data_only reads them blank)."""
    out = []
    for row in ws.iter_rows():
        for cell in row:
            if getattr(cell, "data_type", None) == "f" and (cell.row, cell.column) not in sheet.texts \
                    and cell.row not in sheet.hidden_rows:
                out.append(cell.coordinate)
    return out


def read_xls(path: Path) -> SourceDoc:
    """An .xls (Excel 97-2003) through xlrd: visible sheets, merged ranges, displayed values.
    An .xlsx workbook named .xls is read as the .xlsx it is."""
    import xlrd

    if _head(path).startswith(b"PK"):
        return read_xlsx(path)

    try:
        book = xlrd.open_workbook(str(path), formatting_info=True, on_demand=True)
    except xlrd.biffh.XLRDError as exc:
        if "encrypt" in str(exc).lower():
            raise EncryptedFile(f"{path}: 文件有密码保护（已加密），无法读取；请取消密码后另存为 .xlsx / the workbook is "
                                "password-protected (encrypted): remove the password and save it as .xlsx") from None
        raise CorruptFile(f"{path}: 文件已损坏，无法作为 .xls 打开 / cannot be opened as .xls ({exc}); save it as "
                          ".xlsx") from None
    except (OSError, ValueError, AssertionError, IndexError, KeyError, EOFError) as exc:
        raise CorruptFile(f"{path}: 文件已损坏，无法作为 .xls 打开 / the file is damaged and cannot be opened as .xls "
                          f"({type(exc).__name__}: {exc})") from None
    sheets = []
    try:
        for k in range(book.nsheets):
            ws = book.sheet_by_index(k)
            if ws.visibility != 0:
                continue
            sheet = Sheet(ws.name, merges=[(r0 + 1, c0 + 1, r1, c1) for r0, r1, c0, c1 in ws.merged_cells])
            sheet.hidden_rows = {r + 1 for r, info in ws.rowinfo_map.items() if info.hidden}
            sheet.hidden_cols = {c + 1 for c, info in ws.colinfo_map.items() if info.hidden}
            for r in range(ws.nrows):
                for c in range(ws.ncols):
                    text = _xls_text(book, ws.cell(r, c))
                    if text.strip():
                        sheet.texts[(r + 1, c + 1)] = text
            sheets.append(sheet)
    finally:
        book.release_resources()
    return _workbook(path, sheets, "xls")


def _xls_text(book, cell) -> str:
    import xlrd

    if cell.ctype in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK):
        return ""
    if cell.ctype == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(cell.value, "#ERR")
    if cell.ctype == xlrd.XL_CELL_BOOLEAN:
        return displayed(bool(cell.value), None)
    if cell.ctype == xlrd.XL_CELL_TEXT:
        return str(cell.value)
    fmt = book.format_map.get(book.xf_list[cell.xf_index].format_key)
    fmt = fmt.format_str if fmt else "General"
    if cell.ctype == xlrd.XL_CELL_DATE or is_date_format(fmt):
        try:
            return displayed(xlrd.xldate_as_datetime(cell.value, book.datemode), fmt)
        except (ValueError, OverflowError, xlrd.xldate.XLDateError):
            pass
    return displayed(cell.value, fmt)


def _workbook(path: Path, sheets: list[Sheet], encoding: str) -> SourceDoc:
    out = Rendering()
    for sheet in sheets:
        for first, last, rows in _sheet_tables(sheet):
            out.table(rows, f"sheet {sheet.name} rows {first}–{last}")
    if not out.tables:
        names = "、".join(s.name for s in sheets) or "-"
        raise _empty(path, (f"工作簿为空（可见工作表 {names} 中没有数据）",
                            f"the workbook is empty (no values on its visible sheets: {names})"))
    return out.source_doc(path.name, str(path), encoding)


def _sheet_tables(sheet: Sheet):
    """(first row, last row, grid) of each stretch of visible rows between fully empty ones."""
    merges = [m for m in sheet.merges if (m[0], m[1]) in sheet.texts]
    cells = [*sheet.texts, *((m[2], m[3]) for m in merges)]
    if not sheet.texts:
        return
    rows = [r for r in range(1, max(r for r, _ in cells) + 1) if r not in sheet.hidden_rows]
    cols = [c for c in range(1, max(c for _, c in cells) + 1) if c not in sheet.hidden_cols]
    covered: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for m in merges:
        for r in range(m[0], m[2] + 1):
            for c in range(m[1], m[3] + 1):
                covered[(r, c)] = m
    shown = {r for r, c in sheet.texts if r not in sheet.hidden_rows and c not in sheet.hidden_cols}
    shown |= {r for (r, c), m in covered.items() if r not in sheet.hidden_rows and c not in sheet.hidden_cols}
    used = [c for c in cols if any((r, c) in sheet.texts or (r, c) in covered for r in rows)]
    if not used:
        return
    cols = [c for c in cols if used[0] <= c <= used[-1]]
    col_at = {c: k for k, c in enumerate(cols)}
    block: list[int] = []
    for r in [*rows, None]:
        if r is not None and r in shown:
            block.append(r)
            continue
        if block:
            yield block[0], block[-1], _block_grid(sheet, block, cols, col_at, covered)
            block = []


def _block_grid(sheet: Sheet, block: list[int], cols: list[int], col_at: dict[int, int], covered):
    row_at = {r: k for k, r in enumerate(block)}
    origins: Origins = {}
    for r in block:
        for c in cols:
            m = covered.get((r, c))
            if m is None:
                if (r, c) in sheet.texts:
                    origins[(row_at[r], col_at[c])] = (sheet.texts[(r, c)], 1, 1)
                continue
            first_r = next(rr for rr in range(m[0], m[2] + 1) if rr in row_at or rr == r)
            first_c = next(cc for cc in range(m[1], m[3] + 1) if cc in col_at)
            if (r, c) == (first_r, first_c):  # the merge's first shown position holds its text
                rowspan = sum(1 for rr in range(m[0], m[2] + 1) if rr in row_at)
                colspan = sum(1 for cc in range(m[1], m[3] + 1) if cc in col_at)
                origins[(row_at[r], col_at[c])] = (sheet.texts[(m[0], m[1])], rowspan, colspan)
    return grid(origins, len(block), len(cols))
