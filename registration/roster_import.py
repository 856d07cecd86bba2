"""Import of the exam pass list (职业水平证书 roster) from Excel.

Every row is validated; bad rows go to a row-level error workbook beside the input and never block
good ones; good rows are written in one transaction, keyed by certificate number, so a re-run
creates nothing new. Read with python-calamine (fast, reads legacy .xls too), write errors with
openpyxl's write-only mode.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from swms.ids import validate_ric

from .models import Qualification, QualificationLevel

HEADERS = {"姓名": "name", "身份证号": "id_number", "证书级别": "level", "证书管理号": "certificate_no", "考试年度": "exam_year"}
OPTIONAL_HEADERS = {"发证省份": "issuing_province"}
LEVEL_NAMES = {
    "助理社会工作师": QualificationLevel.ASSISTANT,
    "社会工作师": QualificationLevel.INTERMEDIATE,
    "高级社会工作师": QualificationLevel.SENIOR,
    **{level.value: level for level in QualificationLevel},
}
BATCH = 2000
FIELDS = ("name", "id_number", "level", "exam_year", "issuing_province")


class RosterImportError(Exception):
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


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _year(value) -> int:
    text = _text(value)
    try:
        year = int(float(text))
    except ValueError:
        raise ValidationError(_("the exam year %(value)r is not a year") % {"value": text}) from None
    if not 2008 <= year <= datetime.date.today().year:
        raise ValidationError(_("the exam year %(year)d is out of range") % {"year": year})
    return year


def _read_sheet(path: Path) -> list[list]:
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        return workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except Exception as e:  # calamine raises several of its own types for unreadable files
        raise RosterImportError(_("Cannot read %(file)s: %(error)s") % {"file": path, "error": e}) from e


def qualifications_import(
    *, path, province: str = "", dry_run: bool = False, progress: Callable[[int, int], None] | None = None
) -> ImportReport:
    """Validate and import a roster workbook; see the module docstring."""
    path = Path(path)
    rows = _read_sheet(path)
    if not rows:
        raise RosterImportError(_("The file is empty."))
    header = [_text(h) for h in rows[0]]
    columns = {}
    for label, key in {**HEADERS, **OPTIONAL_HEADERS}.items():
        if label in header:
            columns[key] = header.index(label)
    missing = [label for label, key in HEADERS.items() if key not in columns]
    if missing:
        raise RosterImportError(
            _("The header row lacks: %(missing)s (expected %(expected)s).")
            % {"missing": "、".join(missing), "expected": "、".join(HEADERS)}
        )

    report = ImportReport(dry_run=dry_run)
    valid: dict[str, dict] = {}
    first_line: dict[str, int] = {}
    body = rows[1:]
    total = len(body)
    for offset, raw in enumerate(body):
        line = offset + 2
        if not any(_text(v) for v in raw):
            continue
        report.read += 1
        cell = {key: (raw[i] if i < len(raw) else None) for key, i in columns.items()}
        try:
            name = _text(cell["name"])
            if not name:
                raise ValidationError(_("the name is empty"))
            try:
                id_number = validate_ric(_text(cell["id_number"]))
            except ValidationError as e:
                raise ValidationError(_("ID number: %(error)s") % {"error": " ".join(e.messages)}) from None
            level = LEVEL_NAMES.get(_text(cell["level"]))
            if level is None:
                raise ValidationError(
                    _("unknown level %(value)r (expected 助理社会工作师, 社会工作师 or 高级社会工作师)")
                    % {"value": _text(cell["level"])}
                )
            certificate_no = _text(cell["certificate_no"]).replace(" ", "")
            if not certificate_no:
                raise ValidationError(_("the certificate management number is empty"))
            exam_year = _year(cell["exam_year"])
            if certificate_no in valid:
                raise ValidationError(
                    _("certificate number %(no)s already appears on row %(line)d")
                    % {"no": certificate_no, "line": first_line[certificate_no]}
                )
        except ValidationError as e:
            report.errors.append((line, list(raw), " ".join(e.messages)))
            continue
        valid[certificate_no] = {
            "name": name,
            "id_number": id_number,
            "level": level,
            "certificate_no": certificate_no,
            "exam_year": exam_year,
            "issuing_province": _text(cell.get("issuing_province")) or province,
        }
        first_line[certificate_no] = line
        if progress and report.read % 10000 == 0:
            progress(report.read, total)

    existing = {}
    numbers = list(valid)
    for i in range(0, len(numbers), BATCH):
        for q in Qualification.objects.filter(certificate_no__in=numbers[i : i + BATCH]):
            existing[q.certificate_no] = q
    to_create, to_update = [], []
    for no, data in valid.items():
        current = existing.get(no)
        if current is None:
            to_create.append(Qualification(**data))
        elif current.id_number != data["id_number"]:
            report.errors.append(
                (
                    first_line[no],
                    [data["name"], data["id_number"], data["level"], no, data["exam_year"]],
                    _("certificate number %(no)s is already registered to another ID number") % {"no": no},
                )
            )
        elif any(getattr(current, f) != data[f] for f in FIELDS if f != "issuing_province" or data[f]):
            for f in FIELDS:
                if f != "issuing_province" or data[f]:
                    setattr(current, f, data[f])
            to_update.append(current)
        else:
            report.unchanged += 1
    report.created, report.updated = len(to_create), len(to_update)
    if not dry_run:
        with transaction.atomic():
            Qualification.objects.bulk_create(to_create, batch_size=BATCH)
            Qualification.objects.bulk_update(to_update, list(FIELDS), batch_size=BATCH)
    if progress:
        progress(report.read, total)
    report.errors.sort(key=lambda e: e[0])
    report.error_file = _write_errors(path, header, report.errors)
    return report


def _write_errors(path: Path, header: list[str], errors) -> Path | None:
    """`<stem>.errors.xlsx` beside the input with the bad rows and why; removed when all is well."""
    target = path.with_name(f"{path.stem}.errors.xlsx")
    if not errors:
        target.unlink(missing_ok=True)
        return None
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(_("Errors"))
    ws.append([_("Row"), *header, "错误原因"])
    for line, raw, reason in errors:
        ws.append([line, *[_text(v) for v in raw], reason])
    wb.save(target)
    return target
