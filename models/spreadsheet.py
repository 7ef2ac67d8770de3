"""Downloads a spreadsheet opens: CSV and XLSX from the same rows, formulas neutralised.

A cell whose text starts with `=`, `+`, `-`, `@`, a tab or a carriage return would run as a
formula when a spreadsheet opens the file (OWASP "CSV injection"): such text gets a leading
apostrophe, in both formats, by the one function below. In XLSX, numbers stay numbers
(they cannot be formulas) and every text cell is written as a string, never a formula.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from openpyxl import Workbook
from openpyxl.cell.cell import TYPE_STRING

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

Cell = str | int | float | bool | None


def neutralise(value: object) -> str:
    """A text field a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """RFC 4180 CSV (CRLF), every field neutralised."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([neutralise(h) for h in header])
    for row in rows:
        writer.writerow([neutralise(v) for v in row])
    return out.getvalue().encode()


def xlsx_bytes(sheet: str, header: Sequence[str], rows: Iterable[Sequence[Cell]]) -> bytes:
    """One worksheet: numbers as numbers, everything else as neutralised text."""
    book = Workbook(write_only=False)
    ws = book.active
    assert ws is not None  # a new workbook has one sheet
    ws.title = sheet[:31]
    lines: list[Sequence[Cell]] = [list(header), *rows]
    for r, row in enumerate(lines, start=1):
        for c, value in enumerate(row, start=1):
            cell = ws.cell(row=r, column=c)
            if isinstance(value, bool) or not isinstance(value, int | float):
                cell.value = neutralise("" if value is None else value)
                cell.data_type = TYPE_STRING  # text is never parsed as a formula
                if value is None:
                    cell.value = None
            else:
                cell.value = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
