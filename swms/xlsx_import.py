"""The shared reader of every import (issue #15): the sheet and header row found by the columns' labels in
.xlsx, .xls, .ods or CSV, rows with their Excel numbers, bad rows in an error workbook beside the input."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
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


def _csv_rows(path: Path) -> list[list]:
    """A CSV file in UTF-8 (with or without BOM) or, failing that, GB18030 (which covers GBK and GB2312)."""
    data = path.read_bytes()
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            content = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ImportFileError(_("%(file)s is neither UTF-8 nor GBK text. Save it from Excel or WPS as "
                                    "\"CSV UTF-8\" or as an Excel workbook, then run the import again.")
                                  % {"file": path.name}) from None
    return list(csv.reader(io.StringIO(content, newline="")))


def _sheets(path: Path):
    """(sheet name, rows) of every sheet, the text files as one sheet; unreadable files say why."""
    try:
        if path.suffix.lower() in TEXT_SUFFIXES:
            return [(path.stem, _csv_rows(path))]
        workbook = CalamineWorkbook.from_path(str(path))
        return [(name, workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))
                for name in workbook.sheet_names]
    except ImportFileError:
        raise
    except Exception as e:  # calamine raises several of its own types (and OSError) for unreadable files
        raise ImportFileError(unreadable_file_message(path, e)) from e


def read_table(path, columns) -> Table:
    """The shared reader of every import: .xlsx, .xls, .ods or CSV; the sheet whose header has the columns
    (`swms.import_values.Column`, found under title and note rows, with synonyms); the rows below it with
    their Excel row numbers, blank and formatted-but-empty rows left out. Nothing readable → ImportFileError
    saying why."""
    from .import_values import ImportValueError, find_header

    path = Path(path)
    first_error = None
    for name, rows in _sheets(path):
        try:
            index, found = find_header(rows, columns)
        except ImportValueError as e:
            first_error = first_error or e
            continue
        body = [(index + 2 + offset, list(raw)) for offset, raw in enumerate(rows[index + 1:]) if not is_blank(raw)]
        return Table(sheet=name, header=[text(h) for h in rows[index]], columns=found, rows=body)
    if first_error is None:
        raise ImportFileError(_("The file has no sheets with rows. Put the rows to import, under their header "
                                "row, on a sheet and run the import again."))
    raise ImportFileError(str(first_error))


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
