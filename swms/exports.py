"""Excel exports of filtered lists: a write-only workbook streamed in rows, never the whole table in memory."""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Iterable

from django.http import FileResponse
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font


def xlsx_response(filename: str, headers: list[str], rows: Iterable[Iterable], sheet_title: str = "Sheet1"):
    """An .xlsx download of `rows` under `headers` (bold). Rows are written as they come from the
    iterator (pass a `.iterator()` queryset) into a temporary file, which the response streams."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=sheet_title[:31])
    header_cells = []
    for title in headers:
        cell = WriteOnlyCell(sheet, value=str(title))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    for row in rows:
        sheet.append([_cell_value(v) for v in row])
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    workbook.save(handle)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=filename,
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def _cell_value(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        # A leading formula character in user data must not become a formula (CSV/formula injection).
        return "'" + value
    return value if isinstance(value, int | float | datetime.date) else str(value)
