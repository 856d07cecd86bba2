"""Shared pieces of the Excel imports: read with calamine, map Chinese headers, report bad rows in
an error workbook beside the input (openpyxl write-only)."""

from __future__ import annotations

import datetime
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
    error_file: Path | None = None
    dry_run: bool = False


def text(value) -> str:
    """A cell as trimmed text; 2021.0 from a numeric cell becomes "2021"."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def read_sheet(path: Path) -> tuple[list[str], list[list]]:
    """Header and body rows of the first sheet."""
    try:
        rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as e:  # calamine raises several of its own types for unreadable files
        raise ImportFileError(_("Cannot read %(file)s: %(error)s") % {"file": path, "error": e}) from e
    if not rows:
        raise ImportFileError(_("The file is empty."))
    return [text(h) for h in rows[0]], rows[1:]


def map_columns(header: list[str], required: dict[str, str], optional: dict[str, str] | None = None) -> dict[str, int]:
    """{key: column index} for the labels present; every required label must be there."""
    columns = {key: header.index(label) for label, key in {**required, **(optional or {})}.items() if label in header}
    missing = [label for label, key in required.items() if key not in columns]
    if missing:
        raise ImportFileError(
            _("The header row lacks: %(missing)s (expected %(expected)s).")
            % {"missing": "、".join(missing), "expected": "、".join(required)}
        )
    return columns


def cells(raw: list, columns: dict[str, int]) -> dict:
    return {key: (raw[i] if i < len(raw) else None) for key, i in columns.items()}


def is_blank(raw: list) -> bool:
    return not any(text(v) for v in raw)


def as_date(value) -> datetime.date:
    """A date cell (calamine gives date/datetime) or text like 2024-05-01 / 2024/5/1."""
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    raw = text(value).replace("/", "-").replace(".", "-")
    try:
        year, month, day = (int(p) for p in raw.split("-"))
        return datetime.date(year, month, day)
    except ValueError:
        raise ValueError(_("%(value)r is not a date") % {"value": text(value)}) from None


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
