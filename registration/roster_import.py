"""Import of the exam pass list (职业水平证书 roster) from Excel.

Every row is validated; bad rows go to a row-level error workbook beside the input and never block
good ones; good rows are written in one transaction, keyed by certificate number, so a re-run
creates nothing new. Read with python-calamine (fast, reads legacy .xls and .ods too), write errors
with openpyxl's write-only mode.

Built for the national list (issue #15: 100,000 rows in ≤ 5 s, ≤ 200 MB): the rows are streamed from
the sheet and checked, looked up and written BATCH at a time — new rows by COPY on PostgreSQL, changed
rows by one UPDATE ... FROM (VALUES ...) per batch — so memory does not grow with the file beyond the
certificate numbers seen (a repeat on a later row is refused) and the bad rows.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from contextlib import ExitStack, contextmanager, nullcontext
from itertools import islice
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from swms.encrypted_fields import encrypt_value, hash_value
from swms.import_values import Column, ImportValueError, clean, parse_id_number, parse_year
from swms.imports import ID_NUMBER_EXAMPLE, ID_NUMBER_HELP, ID_NUMBER_LABELS, ImportKind, register
from swms.xlsx_import import ImportFileError, ImportReport, iter_table, write_error_workbook

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
BATCH = 5000
FIELDS = ("name", "id_number", "level", "exam_year", "issuing_province")
# A checked row: (certificate_no, *FIELDS); a stored one: (pk, *STORED), the ID number by its keyed hash (the
# column holds ciphertext, swms.encrypted_fields): the same number has the same hash.
STORED = ("name", "id_number_hash", "level", "exam_year", "issuing_province")
# What an update writes: an update never changes the ID number (another number is refused).
UPDATED = ("name", "level", "exam_year", "issuing_province")
_LEVEL_VALUES = {name: level.value for name, level in LEVEL_NAMES.items()}  # plain str, as COPY writes it
_LOCK_KEY = 0x53574D5351  # pg_advisory_xact_lock: one roster import writes at a time
# A value longer than its column would fail the whole COPY: refused on its row instead.
NAME_MAX, NUMBER_MAX, PROVINCE_MAX = (Qualification._meta.get_field(f).max_length
                                      for f in ("name", "certificate_no", "issuing_province"))


# Kept as names of this module: the command and the tests catch and read these.
RosterImportError = ImportFileError


class _RowCheck:
    """One sheet row at a time into (certificate_no, *FIELDS) and the 15-digit number it was converted from,
    or ValidationError saying why not. Called 100,000 times for a national list: the cells are read by index
    and the level and year columns, a few values each, are read once per value."""

    def __init__(self, columns: dict[str, int], *, province: str, own_province: str):
        self.name_at, self.id_at, self.level_at = columns["name"], columns["id_number"], columns["level"]
        self.no_at, self.year_at = columns["certificate_no"], columns["exam_year"]
        self.province_at = columns.get("issuing_province")
        self.width = max(columns.values()) + 1
        self.province, self.own_province = province, own_province
        self.last_year = timezone.localdate().year
        self.years: dict[object, int] = {}

    def __call__(self, raw: list) -> tuple[tuple, str]:
        if len(raw) < self.width:  # a short CSV line
            raw = raw + [None] * (self.width - len(raw))
        name = clean(raw[self.name_at])
        if not name:
            raise ValidationError(_("the name is empty"))
        if len(name) > NAME_MAX:
            raise ValidationError(_("the name is longer than %(max)d characters") % {"max": NAME_MAX})
        try:
            id_number = parse_id_number(raw[self.id_at])
        except ImportValueError as e:
            raise ValidationError(_("ID number: %(error)s") % {"error": str(e)}) from None
        level = _LEVEL_VALUES.get(raw[self.level_at]) or _LEVEL_VALUES.get(clean(raw[self.level_at]).replace(" ", ""))
        if level is None:
            raise ValidationError(_("unknown level %(value)r (expected 助理社会工作师, 社会工作师 or 高级社会工作师)")
                                  % {"value": clean(raw[self.level_at])})
        certificate_no = clean(raw[self.no_at]).replace(" ", "")
        if not certificate_no:
            raise ValidationError(_("the certificate management number is empty"))
        if len(certificate_no) > NUMBER_MAX:
            raise ValidationError(_("the certificate management number is longer than %(max)d characters")
                                  % {"max": NUMBER_MAX})
        exam_year = self.years.get(raw[self.year_at])
        if exam_year is None:
            exam_year = self.years[raw[self.year_at]] = self.year(raw[self.year_at])
        issuing_province = (clean(raw[self.province_at]) if self.province_at is not None else "") or self.province
        if self.own_province and issuing_province != self.own_province:
            raise ValidationError(_("the issuing province %(province)s is outside the regions you administer")
                                  % {"province": issuing_province})
        if len(issuing_province) > PROVINCE_MAX:
            raise ValidationError(_("the issuing province is longer than %(max)d characters") % {"max": PROVINCE_MAX})
        return (certificate_no, name, id_number.value, level, exam_year, issuing_province), id_number.converted_from

    def number(self, raw: list) -> str:
        """The row's certificate number as `__call__` reads it, to look the batch up before its rows are checked."""
        return clean(raw[self.no_at]).replace(" ", "") if self.no_at < len(raw) else ""

    def year(self, value) -> int:
        try:
            year = parse_year(value)
        except ImportValueError as e:
            raise ValidationError(str(e)) from None
        if not 2008 <= year <= self.last_year:
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
    table = iter_table(path, COLUMNS)
    check = _RowCheck(table.columns, province=province, own_province=own_province)
    report = ImportReport(dry_run=dry_run)
    first_line: dict[str, int] = {}  # certificate number → the row it was first read on
    writer = _Writer(report, own_province=own_province, dry_run=dry_run)
    # A dry run writes nothing and keeps no transaction open.
    with _frozen_heap(), nullcontext() if dry_run else transaction.atomic():
        writer.lock()
        while chunk := list(islice(table.rows, BATCH)):
            with writer.batch([check.number(raw) for _line, raw in chunk]):
                for line, raw in chunk:
                    report.read += 1
                    try:
                        row, converted_from = check(raw)
                        if row[0] in first_line:
                            raise ValidationError(_("certificate number %(no)s already appears on row %(line)d")
                                                  % {"no": row[0], "line": first_line[row[0]]})
                    except ValidationError as e:
                        report.errors.append((line, raw, " ".join(e.messages)))
                        continue
                    first_line[row[0]] = line
                    if converted_from:
                        report.notes.append((line, _("15-digit ID number %(old)s converted to %(new)s")
                                             % {"old": converted_from, "new": row[2]}))
                    writer.add(line, raw, row)
            done = chunk[-1][0] - table.header_line  # rows of the sheet behind, blank ones included
            if progress and done < table.total:
                progress(done, table.total)
    if progress:
        progress(table.total, table.total)
    report.errors.sort(key=lambda e: e[0])
    report.error_file = write_error_workbook(path, table.header, report.errors)
    return report


class _Writer:
    """Looks up and writes the checked rows a batch at a time, counting into the report. PostgreSQL: the
    batch's stored rows by one query before its rows are checked, new rows sent by COPY as they are checked
    (PostgreSQL updates the table's five indexes on the other core meanwhile: ~1.5 s of 100,000 rows, hidden
    behind the checks), changed rows by one UPDATE ... FROM (VALUES ...) after. Other databases (the SQLite
    demo): the same through the ORM."""

    def __init__(self, report: ImportReport, *, own_province: str, dry_run: bool):
        self.report, self.own_province, self.dry_run = report, own_province, dry_run
        self.postgres = connection.vendor == "postgresql"
        self.created_at = timezone.now()
        meta = Qualification._meta
        qn = connection.ops.quote_name
        self.table = qn(meta.db_table)
        self.column = {f.name: qn(f.column) for f in meta.concrete_fields}
        self.column["pk"] = qn(meta.pk.column)
        self.stored: dict[str, tuple] = {}
        self.to_create: list[tuple] = []
        self.to_update: list[tuple] = []
        self.copy = None
        self.stack: ExitStack | None = None

    def lock(self) -> None:
        """Two roster imports at once would both find a certificate new and the second fail on the unique
        number at COPY; one waits for the other instead."""
        if self.postgres and not self.dry_run:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])

    @contextmanager
    def batch(self, numbers: list[str]):
        """The rows of one batch are `add`ed inside; no other query may run meanwhile (a COPY may be open)."""
        self.stored = self.lookup(numbers)
        self.to_create, self.to_update = [], []
        with ExitStack() as self.stack:
            yield
        self.copy = self.stack = None
        if not self.dry_run:
            self.create(self.to_create)
            self.update(self.to_update)

    def add(self, line: int, raw: list, row: tuple) -> None:
        """A checked row: created, updated, unchanged or refused against what is stored."""
        report, own_province = self.report, self.own_province
        current = self.stored.get(row[0])
        if current is None:
            report.created += 1
            if self.postgres and not self.dry_run:
                if self.copy is None:
                    self.copy = self.stack.enter_context(self.copy_cursor())
                # One Fernet encryption and one HMAC per new row (swms.encrypted_fields).
                self.copy.write_row((row[0], row[1], encrypt_value(row[2]), hash_value(row[2]), *row[3:],
                                     Qualification.Source.ROSTER.value, self.created_at))
            else:
                self.to_create.append(row)
        elif own_province and current[5] not in ("", own_province):
            report.errors.append((line, raw, _("certificate number %(no)s belongs to another province's roster")
                                  % {"no": row[0]}))
        elif current[2] != hash_value(row[2]):
            report.errors.append((line, raw, _("certificate number %(no)s is already registered to another ID "
                                               "number") % {"no": row[0]}))
        else:
            new = (row[1], row[3], row[4], row[5] or current[5])  # an empty province keeps the stored one
            if new != (current[1], *current[3:]):
                report.updated += 1
                self.to_update.append((current[0], *new))
            else:
                report.unchanged += 1

    def lookup(self, numbers: list[str]) -> dict[str, tuple]:
        """certificate number → (pk, *STORED) of those already stored."""
        if self.postgres:
            # One text parameter split by the server, not thousands of placeholders or an array that psycopg
            # quotes element by element in Python; a checked certificate number has no white space.
            c = self.column
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT {c['certificate_no']}, {c['pk']}, {', '.join(c[f] for f in STORED)} "  # noqa: S608
                    f"FROM {self.table} WHERE {c['certificate_no']} = ANY(string_to_array(%s, E'\\n'))",
                    ["\n".join(numbers)])
                return {row[0]: row[1:] for row in cursor.fetchall()}
        rows = Qualification.objects.filter(certificate_no__in=numbers).values_list("certificate_no", "pk", *STORED)
        return {row[0]: row[1:] for row in rows}

    @contextmanager
    def copy_cursor(self):
        c = self.column
        names = ", ".join(c[f] for f in ("certificate_no", "name", "id_number", "id_number_hash", *FIELDS[2:],
                                            "source", "created_at"))
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {self.table} ({names}) FROM STDIN") as copy:
            yield copy

    def create(self, rows: list[tuple]) -> None:
        """The new rows where there is no COPY."""
        if rows:
            Qualification.objects.bulk_create(
                [Qualification(certificate_no=no, name=name, id_number=id_number, level=level, exam_year=year,
                               issuing_province=province, created_at=self.created_at)
                 for no, name, id_number, level, year, province in rows], batch_size=1000)

    def update(self, rows: list[tuple]) -> None:
        """Write (pk, *UPDATED) rows."""
        if not rows:
            return
        if not self.postgres:
            objs = [Qualification(pk=pk, **dict(zip(UPDATED, values, strict=True))) for pk, *values in rows]
            Qualification.objects.bulk_update(objs, list(UPDATED), batch_size=1000)
            return
        meta, c = Qualification._meta, self.column
        fields = [meta.pk, *(meta.get_field(f) for f in UPDATED)]
        placeholder = "(" + ", ".join(f"CAST(%s AS {f.cast_db_type(connection)})" for f in fields) + ")"
        names = ", ".join([c["pk"], *(c[f] for f in UPDATED)])
        assignments = ", ".join(f"{c[f]} = v.{c[f]}" for f in UPDATED)
        # Only quoted identifiers and placeholders are formatted in; the values are bound.
        sql = (f"WITH v ({names}) AS (VALUES {', '.join([placeholder] * len(rows))}) "  # noqa: S608
               f"UPDATE {self.table} SET {assignments} FROM v WHERE {self.table}.{c['pk']} = v.{c['pk']}")
        with connection.cursor() as cursor:
            cursor.execute(sql, [value for row in rows for value in row])


@contextmanager
def _frozen_heap():
    """Python's full garbage collections, set off again and again by the rows' lists and tuples, each walk every
    object the process holds (Django's ~100,000); frozen, those are left out of them: ~10 % of a large import."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


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
