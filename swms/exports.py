"""Excel exports of filtered lists: a write-only workbook written row by row, never the whole table in
memory. Small lists download at once; large ones (over SWMS_EXPORT_SYNC_ROWS) become an `ExportJob`
written by Celery, whose page shows the progress and then the download.

A list page exports through one function that rebuilds its table from (user, query string):

    def client_table(request) -> Table: ...          # uses request.user and request.GET only
    if export_requested(request):                    # ?export=xlsx or ?export=csv
        return export_response(request, client_table)

and its template shows the buttons with `{% load swms %}{% export_buttons %}` (the current query
string, without the page number, plus the format).
"""

from __future__ import annotations

import datetime
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.http import FileResponse
from django.shortcuts import redirect
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

EXPORT_FORMATS = ("xlsx", "csv")


def export_requested(request) -> bool:
    """True if the list page was asked for a file (?export=xlsx or ?export=csv) rather than HTML."""
    return request.GET.get("export") in EXPORT_FORMATS


@dataclass
class Table:
    filename: str
    headers: list
    rows: Iterable[Iterable]
    sheet_title: str
    total: int


def export_response(request, builder: Callable[..., Table]):
    """Download the table now, or queue it as a background job and show its progress page."""
    from swms.models import ExportJob

    table = builder(request)
    fmt = request.GET.get("export")
    if fmt == "csv":
        table.filename = table.filename.rsplit(".", 1)[0] + ".csv"
    if table.total <= settings.SWMS_EXPORT_SYNC_ROWS:
        if fmt == "csv":
            return csv_response(table.filename, table.headers, table.rows)
        return xlsx_response(table.filename, table.headers, table.rows, sheet_title=table.sheet_title)
    params = request.GET.copy()
    params.pop("export", None)
    job = ExportJob.objects.create(user=request.user, builder=f"{builder.__module__}.{builder.__qualname__}",
                                   params=params.urlencode(), filename=table.filename, total=table.total)
    from swms.tasks import run_export

    transaction.on_commit(lambda: run_export.delay(job.pk))
    return redirect("export-detail", pk=job.pk)


def write_xlsx(handle, headers: list, rows: Iterable[Iterable], sheet_title: str = "Sheet1",
               progress: Callable[[int], None] | None = None, every: int = 500) -> int:
    """Write the workbook to `handle`; `progress(n)` is called every `every` rows. Returns the row count."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=str(sheet_title)[:31])
    header_cells = []
    for title in headers:
        cell = WriteOnlyCell(sheet, value=str(title))
        cell.font = Font(bold=True)
        header_cells.append(cell)
    sheet.append(header_cells)
    n = 0
    for row in rows:
        sheet.append([_cell_value(v) for v in row])
        n += 1
        if progress is not None and n % every == 0:
            progress(n)
    workbook.save(handle)
    return n


def xlsx_response(filename: str, headers: list[str], rows: Iterable[Iterable], sheet_title: str = "Sheet1"):
    """An .xlsx download of `rows` under `headers` (bold). Rows are written as they come from the
    iterator (pass a `.iterator()` queryset) into a temporary file, which the response streams."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    write_xlsx(handle, headers, rows, sheet_title)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=filename,
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def write_csv(handle, headers: list, rows: Iterable[Iterable], progress: Callable[[int], None] | None = None,
              every: int = 500) -> int:
    """Write UTF-8 CSV with a byte-order mark (so that Excel opens Chinese text) to binary `handle`."""
    import csv
    import io

    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([str(h) for h in headers])
    n = 0
    for row in rows:
        writer.writerow([_cell_value(v) for v in row])
        n += 1
        if progress is not None and n % every == 0:
            progress(n)
    text.flush()
    text.detach()
    return n


def csv_response(filename: str, headers: list[str], rows: Iterable[Iterable]):
    handle = tempfile.TemporaryFile(suffix=".csv")
    write_csv(handle, headers, rows)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=filename, content_type="text/csv; charset=utf-8")


def _cell_value(value):
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        # A leading formula character in user data must not become a formula (CSV/formula injection).
        return "'" + value
    return value if isinstance(value, int | float | datetime.date) else str(value)
