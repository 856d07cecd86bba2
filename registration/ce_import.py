"""Provider bulk import of continuing-education hours (`manage.py import_ce_hours`).

Same rules as the roster import: every row validated, bad rows to `<file>.errors.xlsx`, good rows in
one transaction, keyed by (provider, provider record number) so a re-run creates nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from reports import aggregates
from swms.import_values import Column, ImportValueError, clean, parse_date, parse_id_number
from swms.imports import ID_NUMBER_EXAMPLE, ID_NUMBER_HELP, ID_NUMBER_LABELS, ImportKind, register
from swms.xlsx_import import ImportReport, cells, read_table, write_error_workbook

from .models import CERecord, SocialWorker
from .services.registry import registry_refresh

# The template's label first, then what providers also call the column.
COLUMNS = [
    Column("id_number", ID_NUMBER_LABELS, help=ID_NUMBER_HELP, example=ID_NUMBER_EXAMPLE, as_text=True),
    Column("name", ("姓名",), help=gettext_lazy("As on the ID card."), example="张三"),
    Column("provider", ("培训机构", "培训单位", "机构名称"), help=gettext_lazy("The training provider's name."),
           example="广东省社会工作师联合会"),
    Column("course", ("课程名称", "课程", "培训内容"), example="社会工作伦理"),
    Column("hours", ("学时", "学时数", "培训学时"), help=gettext_lazy("Hours, more than 0 and at most 200."),
           example=12),
    Column("completed_on", ("完成日期", "培训日期", "结业日期"), example="2026-05-01"),
    Column("external_ref", ("记录编号", "编号", "证明编号"),
           help=gettext_lazy("The provider's own number of the record; unique per provider."),
           example="GDSW-2026-0001", as_text=True),
]
BATCH = 2000
MAX_HOURS_PER_RECORD = Decimal(200)


def ce_hours_import(
    *, path, dry_run: bool = False, progress: Callable[[int, int], None] | None = None, scope=None
) -> ImportReport:
    """Validate and import a provider's CE hours workbook. With a `scope`, hours of workers whose work
    region lies outside it are refused."""
    path = Path(path)
    table = read_table(path, COLUMNS)
    report = ImportReport(dry_run=dry_run)
    parsed: dict[tuple[str, str], dict] = {}
    first_line: dict[tuple[str, str], int] = {}
    for line, raw in table.rows:
        report.read += 1
        cell = cells(raw, table.columns)
        try:
            try:
                id_number = parse_id_number(cell["id_number"])
            except ImportValueError as e:
                raise ValidationError(_("ID number: %(error)s") % {"error": str(e)}) from None
            if id_number.converted_from:
                report.notes.append((line, _("15-digit ID number %(old)s converted to %(new)s")
                                     % {"old": id_number.converted_from, "new": id_number.value}))
            id_number = id_number.value
            provider = clean(cell["provider"])
            ref = clean(cell["external_ref"])
            if not provider or not ref:
                raise ValidationError(_("the provider and its record number are required"))
            try:
                hours = Decimal(clean(cell["hours"]))
            except InvalidOperation:
                raise ValidationError(_("hours %(value)r is not a number") % {"value": clean(cell["hours"])}) from None
            if not Decimal(0) < hours <= MAX_HOURS_PER_RECORD:
                raise ValidationError(_("hours must be between 0 and %(max)s") % {"max": MAX_HOURS_PER_RECORD})
            try:
                completed_on = parse_date(cell["completed_on"])
            except ImportValueError as e:
                raise ValidationError(str(e)) from None
            if completed_on > timezone.localdate():
                raise ValidationError(_("the completion date is in the future"))
            key = (provider, ref)
            if key in parsed:
                raise ValidationError(
                    _("record number %(ref)s already appears on row %(line)d") % {"ref": ref, "line": first_line[key]}
                )
        except ValidationError as e:
            report.errors.append((line, list(raw), " ".join(e.messages)))
            continue
        parsed[key] = {"id_number": id_number, "name": clean(cell["name"]), "provider": provider,
                       "course": clean(cell["course"]), "hours": hours, "completed_on": completed_on,
                       "external_ref": ref, "line": line, "raw": list(raw)}
        first_line[key] = line
        if progress and report.read % 10000 == 0:
            progress(report.read, len(table.rows))

    known = SocialWorker.objects.filter(id_number__in={r["id_number"] for r in parsed.values()})
    workers = dict(known.values_list("id_number", "pk"))
    inside = set(workers) if scope is None else set(known.within(scope).values_list("id_number", flat=True))
    existing = set(
        CERecord.objects.filter(provider__in={p for p, _ in parsed}, external_ref__in={r for _, r in parsed})
        .values_list("provider", "external_ref")
    )
    to_create = []
    for key, row in parsed.items():
        worker_id = workers.get(row["id_number"])
        if worker_id is None:
            report.errors.append((row["line"], row["raw"], _(
                "no social worker has signed up with this ID number yet; the row can be imported again later"
            )))
        elif row["id_number"] not in inside:
            report.errors.append((row["line"], row["raw"], _(
                "this social worker works outside the regions you administer")))
        elif key in existing:
            report.unchanged += 1
        else:
            to_create.append(CERecord(
                worker_id=worker_id, source=CERecord.Source.IMPORTED, hours=row["hours"],
                completed_on=row["completed_on"], provider=row["provider"], course=row["course"],
                external_ref=row["external_ref"], status=CERecord.Status.ACCEPTED,
            ))
    report.created = len(to_create)
    if not dry_run:
        with transaction.atomic():
            CERecord.objects.bulk_create(to_create, batch_size=BATCH)
            # The registry's stored CE hours of these workers' registrations (services/registry.py).
            registry_refresh({record.worker_id for record in to_create})
            aggregates.ce_changed({record.worker_id for record in to_create})
    if progress:
        progress(report.read, len(table.rows))
    report.errors.sort(key=lambda e: e[0])
    report.error_file = write_error_workbook(path, table.header, report.errors)
    return report


KIND = register(ImportKind(
    key="ce_hours",
    label=gettext_lazy("Continuing-education hours"),
    columns=COLUMNS,
    run=ce_hours_import,
    description=gettext_lazy("Hours of continuing education reported by training providers, one row per "
                             "completed course; they count towards the worker's renewal."),
    natural_key=gettext_lazy("a row is the same record again by its provider and record number"),
    command="import_ce_hours",
))
