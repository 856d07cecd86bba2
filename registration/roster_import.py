"""Import of the exam pass list (职业水平证书 roster) from Excel.

Every row is validated; bad rows go to a row-level error workbook beside the input and never block
good ones; good rows are written in one transaction, keyed by certificate number, so a re-run
creates nothing new. Read with python-calamine (fast, reads legacy .xls too), write errors with
openpyxl's write-only mode.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from swms.ids import validate_ric
from swms.xlsx_import import (
    ImportFileError,
    ImportReport,
    cells,
    is_blank,
    map_columns,
    read_sheet,
    text,
    write_error_workbook,
)

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


# Kept as names of this module: the command and the tests catch and read these.
RosterImportError = ImportFileError


def _year(value) -> int:
    raw = text(value)
    try:
        year = int(float(raw))
    except ValueError:
        raise ValidationError(_("the exam year %(value)r is not a year") % {"value": raw}) from None
    if not 2008 <= year <= timezone.localdate().year:
        raise ValidationError(_("the exam year %(year)d is out of range") % {"year": year})
    return year


def qualifications_import(
    *, path, province: str = "", dry_run: bool = False, progress: Callable[[int, int], None] | None = None
) -> ImportReport:
    """Validate and import a roster workbook; see the module docstring."""
    path = Path(path)
    header, body = read_sheet(path)
    columns = map_columns(header, HEADERS, OPTIONAL_HEADERS)

    report = ImportReport(dry_run=dry_run)
    valid: dict[str, dict] = {}
    first_line: dict[str, int] = {}
    total = len(body)
    for offset, raw in enumerate(body):
        line = offset + 2
        if is_blank(raw):
            continue
        report.read += 1
        cell = cells(raw, columns)
        try:
            name = text(cell["name"])
            if not name:
                raise ValidationError(_("the name is empty"))
            try:
                id_number = validate_ric(text(cell["id_number"]))
            except ValidationError as e:
                raise ValidationError(_("ID number: %(error)s") % {"error": " ".join(e.messages)}) from None
            level = LEVEL_NAMES.get(text(cell["level"]))
            if level is None:
                raise ValidationError(
                    _("unknown level %(value)r (expected 助理社会工作师, 社会工作师 or 高级社会工作师)")
                    % {"value": text(cell["level"])}
                )
            certificate_no = text(cell["certificate_no"]).replace(" ", "")
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
            "issuing_province": text(cell.get("issuing_province")) or province,
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
    report.error_file = write_error_workbook(path, header, report.errors)
    return report
