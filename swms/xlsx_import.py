"""The shared reader of every import (issue #15): the sheet and header row found by the columns' labels in
.xlsx, .xls, .ods or CSV, rows with their Excel numbers, bad rows in an error workbook beside the input."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain, islice
from pathlib import Path

from django.utils.translation import gettext as _
from openpyxl import Workbook
from python_calamine import CalamineWorkbook


class ImportFileError(Exception):
    """The file as a whole cannot be imported (unreadable, headers missing)."""


@dataclass
class ImportReport:
    read: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[int, list, str]] = field(default_factory=list)  # (row number, raw row, reason)
    notes: list[tuple[int, str]] = field(default_factory=list)  # (row number, what was changed on reading)
    error_file: Path | None = None
    dry_run: bool = False

    def summary(self, limit: int = 50) -> dict:
        """The report as JSON for the import centre: the counts and the first `limit` errors and notes."""
        return {
            "read": self.read, "created": self.created, "updated": self.updated, "unchanged": self.unchanged,
            "error_count": len(self.errors), "note_count": len(self.notes),
            "errors": [[line, reason] for line, _raw, reason in self.errors[:limit]],
            "notes": [[line, note] for line, note in self.notes[:limit]],
        }


def text(value) -> str:
    """A cell as trimmed text; 2021.0 from a numeric cell becomes "2021"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


SPREADSHEET_SUFFIXES = {".xlsx", ".xlsm", ".xlsb", ".xls", ".ods"}
TEXT_SUFFIXES = {".csv", ".txt"}


def unreadable_file_message(path, error: Exception) -> str:
    """Why a file could not be read and what to do, in the user's language — never the reading
    library's own English ("Cannot detect file format", "invalid Zip archive")."""
    path = Path(path)
    name = path.name
    if isinstance(error, FileNotFoundError) or not path.exists():
        return _("The file %(file)s does not exist. Check the file name and folder, then run the import again.") % {
            "file": path}
    if path.is_dir():
        return _("%(file)s is a folder, not a file. Give the path of the file to import.") % {"file": path}
    if isinstance(error, PermissionError):
        return _("The file %(file)s cannot be opened: permission denied. Ask the server administrator to "
                 "make it readable, then run the import again.") % {"file": path}
    if path.stat().st_size == 0:
        return _("The file %(file)s is empty (0 bytes). It may not have been copied completely; copy it "
                 "again and run the import again.") % {"file": name}
    detail = str(error).lower()
    if "password" in detail or "encrypt" in detail:
        return _("The file %(file)s is protected by a password. Open it in Excel or WPS, remove the "
                 "password, save it and run the import again.") % {"file": name}
    if path.suffix.lower() not in SPREADSHEET_SUFFIXES | TEXT_SUFFIXES:
        return _("%(file)s is not an Excel workbook. Open it in Excel or WPS, save it as an Excel "
                 "workbook (.xlsx) and run the import again.") % {"file": name}
    return _("The file %(file)s is damaged or is not really an Excel workbook (perhaps another kind of file "
             "renamed to %(suffix)s, or a download that did not finish). Open it in Excel or WPS; if it "
             "opens, save it again as .xlsx and run the import again, otherwise ask the sender for the "
             "file again.") % {"file": name, "suffix": path.suffix}


@dataclass
class Table:
    """The rows under the header of the sheet that has the import's columns."""

    sheet: str
    header: list[str]  # the header row as written
    columns: dict[str, int]  # key → column index
    rows: list[tuple[int, list]]  # (the row's number in Excel, its cells); blank rows left out


@dataclass
class TableStream:
    """`Table` with its rows read as they are used (`iter_table`), for imports of 100,000 rows and more."""

    sheet: str
    header: list[str]
    columns: dict[str, int]
    rows: Iterator[tuple[int, list]]  # (the row's number in Excel, its cells); blank rows left out
    header_line: int  # the header row's number in Excel
    total: int  # rows below the header, blank ones included: a row's place is `line - header_line` of these


def _decoded_csv(path: Path) -> str:
    """A CSV file in UTF-8 (with or without BOM) or, failing that, GB18030 (which covers GBK and GB2312)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return data.decode("gb18030")
        except UnicodeDecodeError:
            raise ImportFileError(_("%(file)s is neither UTF-8 nor GBK text. Save it from Excel or WPS as "
                                    "\"CSV UTF-8\" or as an Excel workbook, then run the import again.")
                                  % {"file": path.name}) from None


def _sheet_rows(sheet) -> Iterator[list]:
    """A calamine sheet's rows from A1 on. `iter_rows` (python-calamine 0.9) gives the rows above the data as
    empty rows but starts every row at the first used column, so the columns left of it are put back."""
    start = sheet.start
    if not start or not start[1]:
        return iter(sheet.iter_rows())
    pad = [""] * start[1]
    return (pad + row for row in sheet.iter_rows())


def _sheets(path: Path) -> Iterator[tuple[str, int, Iterator[list]]]:
    """(sheet name, number of rows, the rows) of every sheet in turn, a text file as one sheet; each sheet is
    parsed when it is reached and its rows become Python lists as they are used. Unreadable files say why."""
    if path.suffix.lower() in TEXT_SUFFIXES:
        try:
            content = _decoded_csv(path)
            total = sum(1 for _row in csv.reader(io.StringIO(content, newline="")))  # a bad line fails here
        except (OSError, csv.Error) as e:
            raise ImportFileError(unreadable_file_message(path, e)) from e
        yield path.stem, total, csv.reader(io.StringIO(content, newline=""))
        return
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = workbook.sheet_names
    except Exception as e:  # calamine raises several of its own types (and OSError) for unreadable files
        raise ImportFileError(unreadable_file_message(path, e)) from e
    for name in names:
        try:
            sheet = workbook.get_sheet_by_name(name)  # the sheet's cells, parsed (held by calamine, compactly)
        except Exception as e:
            raise ImportFileError(unreadable_file_message(path, e)) from e
        end = sheet.end
        yield name, (end[0] + 1 if end else 0), _sheet_rows(sheet)


def iter_table(path, columns) -> TableStream:
    """`read_table` whose rows are read as they are used: the header is found in a sheet's first rows, the
    rows below it come one by one (a 100,000-row sheet is never a list of Python rows)."""
    from .import_values import HEADER_SCAN_ROWS, ImportValueError, find_header

    path = Path(path)
    first_error = None
    for name, height, rows in _sheets(path):
        head = list(islice(rows, HEADER_SCAN_ROWS))
        try:
            index, found = find_header(head, columns)
        except ImportValueError as e:
            first_error = first_error or e
            continue
        body = _numbered(chain(head[index + 1:], rows), first_line=index + 2)
        return TableStream(sheet=name, header=[text(h) for h in head[index]], columns=found, rows=body,
                           header_line=index + 1, total=max(height - index - 1, 0))
    if first_error is None:
        raise ImportFileError(_("The file has no sheets with rows. Put the rows to import, under their header "
                                "row, on a sheet and run the import again."))
    raise ImportFileError(str(first_error))


def _numbered(rows, first_line: int) -> Iterator[tuple[int, list]]:
    for line, raw in enumerate(rows, start=first_line):
        for value in raw:  # `is_blank` inlined: most rows end the loop at their first cell
            if value.strip() if value.__class__ is str else text(value):
                yield line, raw
                break


def read_table(path, columns) -> Table:
    """The shared reader of every import: .xlsx, .xls, .ods or CSV; the sheet whose header has the columns
    (`swms.import_values.Column`, found under title and note rows, with synonyms); the rows below it with
    their Excel row numbers, blank and formatted-but-empty rows left out. Nothing readable → ImportFileError
    saying why. (`iter_table` gives the rows one by one.)"""
    table = iter_table(path, columns)
    return Table(sheet=table.sheet, header=table.header, columns=table.columns, rows=list(table.rows))


class _Cells(dict):
    """A row's values by column key; an optional column the file does not have reads as an empty cell."""

    def __missing__(self, key):
        return None


def cells(raw: list, columns: dict[str, int]) -> dict:
    return _Cells({key: (raw[i] if i < len(raw) else None) for key, i in columns.items()})


def is_blank(raw: list) -> bool:
    return not any(text(v) for v in raw)


def write_error_workbook(path: Path, header: list[str], errors) -> Path | None:
    """`<stem>.errors.xlsx` beside the input with the bad rows and why; removed when all is well."""
    target = path.with_name(f"{path.stem}.errors.xlsx")
    if not errors:
        target.unlink(missing_ok=True)
        return None
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Errors"))
    ws.append([_("Row"), *header, "错误原因"])
    for line, raw, reason in sorted(errors, key=lambda e: e[0]):
        ws.append([line, *[text(v) for v in raw], reason])
    wb.save(target)
    return target
