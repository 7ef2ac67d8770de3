"""One neutraliser for CSV and XLSX: no text cell can become a formula."""

from __future__ import annotations

import csv
import io

from openpyxl import load_workbook

from models.spreadsheet import csv_bytes, neutralise, xlsx_bytes

DANGEROUS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def test_text_that_starts_like_a_formula_gets_an_apostrophe() -> None:
    for text in DANGEROUS:
        assert neutralise(text) == "'" + text
    assert neutralise("Assessment Team") == "Assessment Team"
    assert neutralise(None) == ""
    assert neutralise(17.5) == "17.5"


def test_csv_and_xlsx_carry_the_same_neutralised_text_and_real_numbers() -> None:
    rows = [[text, 12, 3.5, None] for text in DANGEROUS]
    header = ("label", "n", "mean", "blank")
    parsed = list(csv.reader(io.StringIO(csv_bytes(header, rows).decode())))
    assert [r[0] for r in parsed[1:]] == ["'" + t for t in DANGEROUS]
    sheet = load_workbook(io.BytesIO(xlsx_bytes("figures", header, rows))).active
    assert sheet is not None
    assert sheet.title == "figures"
    cells = list(sheet.iter_rows(min_row=2))
    # (XML keeps a carriage return as a line feed; the apostrophe is what matters)
    assert [c[0].value for c in cells] == ["'" + t.replace("\r", "\n") for t in DANGEROUS]
    assert all(c[0].data_type == "s" for c in cells)  # text, never a formula ("f")
    assert [(c[1].value, c[2].value, c[3].value) for c in cells][0] == (12, 3.5, None)
