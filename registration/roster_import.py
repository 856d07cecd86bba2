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
from django.utils.translation import gettext_lazy

from swms.import_values import Column, ImportValueError, clean, parse_id_number, parse_year
from swms.imports import ID_NUMBER_EXAMPLE, ID_NUMBER_HELP, ID_NUMBER_LABELS, ImportKind, register
from swms.xlsx_import import ImportFileError, ImportReport, cells, read_table, write_error_workbook

from .models import Qualification, QualificationLevel

# The template's label first, then what the people who keep these lists also call the column.
COLUMNS = [
    Column("name", ("姓名",), help=gettext_lazy("As on the ID card."), example="张三"),
    Column("id_number", ID_NUMBER_LABELS, help=ID_NUMBER_HELP, example=ID_NUMBER_EXAMPLE, as_text=True),
    Column("level", ("证书级别", "级别", "资格级别", "职业水平等级"),
           help=gettext_lazy("助理社会工作师, 社会工作师 or 高级社会工作师."), example="社会工作师"),
    Column("certificate_no", ("证书管理号", "管理号", "证书管理号码"),
           help=gettext_lazy("The certificate management number printed on the qualification certificate; "
                             "unique."), example="2021035440000123", as_text=True),
    Column("exam_year", ("考试年度", "年度", "考试年份"), help=gettext_lazy("The year of the exam, e.g. 2021."),
           example=2021),
    Column("issuing_province", ("发证省份", "省份"), required=False,
           help=gettext_lazy("The province that issued the certificate; empty means the importing province."),
           example="广东省"),
]
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
    try:
        year = parse_year(value)
    except ImportValueError as e:
        raise ValidationError(str(e)) from None
    if not 2008 <= year <= timezone.localdate().year:
        raise ValidationError(_("the exam year %(year)d is out of range") % {"year": year})
    return year


def qualifications_import(
    *, path, province: str = "", dry_run: bool = False, progress: Callable[[int, int], None] | None = None,
    scope=None,
) -> ImportReport:
    """Validate and import a roster workbook; see the module docstring. With a `scope` (an office's region)
    rows of another issuing province are refused and the province defaults to the scope's."""
    path = Path(path)
    own_province = _province_name(scope)
    if own_province:
        province = province or own_province
    table = read_table(path, COLUMNS)
    report = ImportReport(dry_run=dry_run)
    valid: dict[str, dict] = {}
    first_line: dict[str, int] = {}
    total = len(table.rows)
    for line, raw in table.rows:
        report.read += 1
        cell = cells(raw, table.columns)
        try:
            name = clean(cell["name"])
            if not name:
                raise ValidationError(_("the name is empty"))
            try:
                id_number = parse_id_number(cell["id_number"])
            except ImportValueError as e:
                raise ValidationError(_("ID number: %(error)s") % {"error": str(e)}) from None
            level = LEVEL_NAMES.get(clean(cell["level"]).replace(" ", ""))
            if level is None:
                raise ValidationError(
                    _("unknown level %(value)r (expected 助理社会工作师, 社会工作师 or 高级社会工作师)")
                    % {"value": clean(cell["level"])}
                )
            certificate_no = clean(cell["certificate_no"]).replace(" ", "")
            if not certificate_no:
                raise ValidationError(_("the certificate management number is empty"))
            exam_year = _year(cell["exam_year"])
            issuing_province = clean(cell.get("issuing_province")) or province
            if own_province and issuing_province != own_province:
                raise ValidationError(_("the issuing province %(province)s is outside the regions you administer")
                                      % {"province": issuing_province})
            if certificate_no in valid:
                raise ValidationError(
                    _("certificate number %(no)s already appears on row %(line)d")
                    % {"no": certificate_no, "line": first_line[certificate_no]}
                )
        except ValidationError as e:
            report.errors.append((line, list(raw), " ".join(e.messages)))
            continue
        if id_number.converted_from:
            report.notes.append((line, _("15-digit ID number %(old)s converted to %(new)s")
                                 % {"old": id_number.converted_from, "new": id_number.value}))
        id_number = id_number.value
        valid[certificate_no] = {
            "name": name,
            "id_number": id_number,
            "level": level,
            "certificate_no": certificate_no,
            "exam_year": exam_year,
            "issuing_province": issuing_province,
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
        elif own_province and current.issuing_province not in ("", own_province):
            report.errors.append((first_line[no], [data["name"], data["id_number"], data["level"], no,
                                                   data["exam_year"]],
                                  _("certificate number %(no)s belongs to another province's roster") % {"no": no}))
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
    report.error_file = write_error_workbook(path, table.header, report.errors)
    return report


def _province_name(scope) -> str:
    """The name of the province of an office's region ("" for none, the whole country)."""
    from accounts.models import RegionLevel

    if scope is None:
        return ""
    province = scope.ancestor_at(RegionLevel.PROVINCE)
    return province.name if province else ""


KIND = register(ImportKind(
    key="roster",
    label=gettext_lazy("Exam pass list (roster)"),
    columns=COLUMNS,
    run=qualifications_import,
    description=gettext_lazy("The people who passed the national social work exam, one row per qualification "
                             "certificate; a worker who signs up is matched to this list by ID number."),
    natural_key=gettext_lazy("a row is the same certificate again by its certificate management number"),
    command="import_qualifications",
))
