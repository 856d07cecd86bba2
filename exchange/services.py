"""The national data exchange (部省数据交换): a province exports its data return as a package, the national
deployment imports it. The format, the incremental rules and the checks are in docs/exchange.md.

- `export_package(province, full=False)` writes the zip (one CSV per entity and `manifest.json`) through
  the default storage and records an `ExchangePackage`. Incremental: rows changed since the `until` of
  the newest acknowledged package of the province (less SWMS_EXCHANGE_OVERLAP_SECONDS, so that a
  transaction still open at the last cut-off is never missed); full when asked or when nothing was
  acknowledged yet. All six files are read from one snapshot of the database.
- `acknowledge_package(ref)` records that the national side imported a package.
- `import_package(path, office)` checks the whole package first (manifest, schema version, every file's
  SHA-256 and row count, no unlisted file, the province inside the importing office), then writes
  everything in one transaction: any bad row rejects the package whole. Rows upsert by natural key; a
  package already imported (same SHA-256) writes nothing.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import logging
import re
import secrets
import tempfile
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, make_password
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import DataError, IntegrityError, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Region, RegionLevel, User, UserKind
from registration.models import CERecord, Certificate, Organization, Qualification, Registration, SocialWorker
from reports import aggregates
from services.models import MonthlySummary
from stations.models import Station, StationFunding, StationOperator
from swms.encrypted_fields import encrypt_row, encrypted_pairs, with_hash_fields
from swms.ids import validate_ric
from swms.pii import mask_id_number

from . import schema
from .models import ExchangeImport, ExchangePackage, PackageKind

logger = logging.getLogger(__name__)

CHUNK = 2000
MAX_ERRORS = 20  # row errors listed in the message
STOP_AFTER_ERRORS = 1000  # a file this broken is not read to its end
LOCK_NAMESPACE = 0x53574D53  # "SWMS": pg_advisory_xact_lock(namespace, province id)
SYSTEM_USERNAME = "swms-exchange"
_PERIOD = re.compile(r"\d{4}-(0[1-9]|1[0-2])\Z")
_SHA256 = re.compile(r"[0-9a-f]{64}\Z")


class ExchangeError(Exception):
    """The package cannot be exported, imported or acknowledged; the message says why, translated."""


# --- Regions ---------------------------------------------------------------------------------------------

def normalize_code(code: str) -> str:
    """A division code as stored (12 digits): "44" and "440000" become "440000000000"."""
    code = (code or "").strip()
    if code.isdigit() and len(code) in (2, 4, 6, 9):
        code = code.ljust(12, "0")
    return code


def find_region(code: str) -> Region:
    region = Region.objects.filter(code=normalize_code(code)).first()
    if region is None:
        raise ExchangeError(_("No region with the code %(code)s.") % {"code": code})
    return region


def find_province(code: str) -> Region:
    region = find_region(code)
    if region.level != RegionLevel.PROVINCE:
        raise ExchangeError(_("%(name)s (%(code)s) is not a province.") % {"name": region.name, "code": region.code})
    return region


def _within_q(path: str, region: Region) -> Q:
    """The MPTT range of `region`'s subtree, on the region reached by `path` ("" for Region itself)."""
    p = f"{path}__" if path else ""
    return Q(**{f"{p}tree_id": region.tree_id, f"{p}lft__gte": region.lft, f"{p}rght__lte": region.rght})


def check_period(period: str) -> str:
    if not _PERIOD.match(period or ""):
        raise ExchangeError(_("Invalid period %(period)s: use YYYY-MM.") % {"period": period})
    return period


def previous_period(day: datetime.date | None = None) -> str:
    """The month before `day` (today): what the monthly beat job reports on the 1st."""
    day = day or timezone.localdate()
    last = day.replace(day=1) - datetime.timedelta(days=1)
    return f"{last:%Y-%m}"


# --- Export ----------------------------------------------------------------------------------------------

def _history(model, after, field: str = "id"):
    """Ids (or another column) of `model`'s rows with a history record after `after`."""
    return model.history.filter(history_date__gt=after).values(field)


def _any_of(*querysets):
    """One column of ids from several queries, as ONE subquery (a UNION): the planner hashes it once, where
    an OR of IN-subqueries may be re-run per row on a table whose statistics are stale."""
    first, *rest = [q.order_by() for q in querysets]
    return first.union(*rest)


def export_querysets(province: Region, after: datetime.datetime | None) -> dict[str, object]:
    """The rows of each file: the province's rows, or those changed after `after` (docs/exchange.md)."""
    registrations = Registration.objects.filter(_within_q("region", province))
    # A worker belongs to the province by the work region, or by a registration made there.
    workers = SocialWorker.objects.filter(
        _within_q("work_region", province) | Q(pk__in=registrations.values("worker_id")))
    certificates = Certificate.objects.filter(_within_q("registration__region", province))
    stations = Station.objects.filter(_within_q("region", province))
    organizations = Organization.objects.filter(_within_q("region", province))
    figures = MonthlySummary.objects.filter(_within_q("station__region", province))
    if after is not None:
        # Registrations have no update time: their history, and the CE hours (a derived column without
        # history) moved by CE records created or changed since.
        ce_workers = _any_of(CERecord.objects.filter(created_at__gt=after).values("worker_id"),
                             _history(CERecord, after, "worker"))
        registrations = registrations.filter(pk__in=_any_of(
            Registration.objects.filter(created_at__gt=after).values("pk"), _history(Registration, after),
            Registration.objects.filter(worker_id__in=ce_workers).values("pk")))
        workers = workers.filter(pk__in=_any_of(
            SocialWorker.objects.filter(updated_at__gt=after).values("pk"), _history(SocialWorker, after),
            registrations.values("worker_id")))
        # Certificates have neither update time nor history: issued or revoked since, or of a changed
        # registration.
        certificates = certificates.filter(pk__in=_any_of(
            Certificate.objects.filter(issued_at__gt=after).values("pk"),
            Certificate.objects.filter(revoked_at__gt=after).values("pk"),
            Certificate.objects.filter(registration__in=registrations.values("pk")).values("pk")))
        stations = stations.filter(pk__in=_any_of(
            Station.objects.filter(updated_at__gt=after).values("pk"), _history(Station, after),
            _history(StationFunding, after, "station"), _history(StationOperator, after, "station")))
        organizations = organizations.filter(pk__in=_any_of(
            Organization.objects.filter(updated_at__gt=after).values("pk"), _history(Organization, after)))
        figures = figures.filter(pk__in=_any_of(
            MonthlySummary.objects.filter(updated_at__gt=after).values("pk"), _history(MonthlySummary, after)))
    return {
        schema.WORKERS.name: workers, schema.REGISTRATIONS.name: registrations,
        schema.CERTIFICATES.name: certificates, schema.STATIONS.name: stations,
        schema.ORGANIZATIONS.name: organizations, schema.SERVICE_FIGURES.name: figures,
    }


def _encoded_rows(spec: schema.FileSpec, queryset) -> Iterator[list[str]]:
    encoders = [schema.encoder(c.kind) for c in spec.columns]
    values = queryset.order_by("pk").values_list(*[c.path for c in spec.columns])
    for row in values.iterator(chunk_size=CHUNK):
        yield ["" if v is None else encode(v) for encode, v in zip(encoders, row, strict=True)]


def _station_rows(queryset) -> Iterator[list[str]]:
    """Stations with their operators and funding rows (JSON lists), a batch of stations at a time."""
    exported = [c for c in schema.STATIONS.columns if c.path is not None]
    batch: list[tuple] = []

    def flush():
        ids = [row[0] for row in batch]
        operators: dict[int, list] = defaultdict(list)
        for station_id, uscc, status, valid_from, valid_to in (
                StationOperator.objects.filter(station_id__in=ids).order_by("station_id", "valid_from", "pk")
                .values_list("station_id", "organization__uscc", "status", "valid_from", "valid_to")):
            operators[station_id].append({"uscc": uscc, "status": status, "valid_from": valid_from.isoformat(),
                                          "valid_to": valid_to.isoformat()})
        funding: dict[int, list] = defaultdict(list)
        for station_id, year, amount, source in (
                StationFunding.objects.filter(station_id__in=ids).order_by("station_id", "year", "pk")
                .values_list("station_id", "year", "amount", "source")):
            funding[station_id].append({"year": year, "amount": format(amount, "f"), "source": source})
        for pk, *row in batch:
            cells = dict(zip((c.name for c in exported), row, strict=True))
            cells["operators"], cells["funding"] = operators[pk], funding[pk]
            yield [schema.encode(c.kind, cells[c.name]) for c in schema.STATIONS.columns]

    for row in queryset.order_by("pk").values_list("pk", *[c.path for c in exported]).iterator(chunk_size=CHUNK):
        batch.append(row)
        if len(batch) >= 500:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


class _HashingSink:
    """What csv.writer writes to: UTF-8 into the zip member through SHA-256, in blocks of about 256 KB (the
    compressor is slow when fed row by row)."""

    BLOCK = 1 << 18

    def __init__(self, stream):
        self.stream = stream
        self.hash = hashlib.sha256()
        self.pending: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.pending.append(text)
        self.size += len(text)
        if self.size >= self.BLOCK:
            self.flush()

    def flush(self) -> None:
        data = "".join(self.pending).encode("utf-8")
        self.pending, self.size = [], 0
        self.hash.update(data)
        self.stream.write(data)


def _write_csv(archive: zipfile.ZipFile, spec: schema.FileSpec, rows: Iterable[list[str]]) -> dict:
    count = 0
    with archive.open(spec.name, "w", force_zip64=True) as member:
        sink = _HashingSink(member)
        writer = csv.writer(sink, lineterminator="\r\n")
        writer.writerow(spec.header)
        for row in rows:
            writer.writerow(row)
            count += 1
        sink.flush()
    return {"rows": count, "sha256": sink.hash.hexdigest()}


@contextmanager
def _snapshot():
    """One consistent, read-only view of the database for all files (REPEATABLE READ on PostgreSQL when this
    is the outermost transaction), so a registration never refers to a worker the workers file lacks. Read
    from the replica where swms.db_router allows (#17; its lag stays far below SWMS_EXCHANGE_OVERLAP_SECONDS);
    inside a transaction, so that through PgBouncer the rows still stream from a server-side cursor."""
    from swms.db_router import read_alias, reads_from_replica

    with reads_from_replica():
        alias = read_alias()
        db = connections[alias]
        outermost = not db.in_atomic_block
        with transaction.atomic(using=alias):
            if outermost and db.vendor == "postgresql":
                with db.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def export_package(province: Region, *, full: bool = False, period: str | None = None,
                   scheduled: bool = False) -> ExchangePackage:
    """Write the province's package (full, or incremental since the newest acknowledged one) to storage."""
    if province.level != RegionLevel.PROVINCE:
        raise ExchangeError(_("%(name)s (%(code)s) is not a province.") % {"name": province.name,
                                                                            "code": province.code})
    until = timezone.now()
    since = None
    if not full:
        since = (ExchangePackage.objects.filter(province=province, acknowledged_at__isnull=False)
                 .order_by("-until").values_list("until", flat=True).first())
    kind = PackageKind.INCREMENTAL if since is not None else PackageKind.FULL
    overlap = settings.SWMS_EXCHANGE_OVERLAP_SECONDS if since is not None else 0
    after = since - datetime.timedelta(seconds=overlap) if since is not None else None
    period = check_period(period) if period else f"{timezone.localtime(until):%Y-%m}"

    with tempfile.TemporaryDirectory(prefix="swms-exchange-") as tmp:
        path = Path(tmp) / "package.zip"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
            with _snapshot():
                querysets = export_querysets(province, after)
                files = {}
                for spec in schema.FILES:
                    queryset = querysets[spec.name]
                    rows = _station_rows(queryset) if spec is schema.STATIONS else _encoded_rows(spec, queryset)
                    files[spec.name] = _write_csv(archive, spec, rows)
            manifest = {
                "schema_version": schema.SCHEMA_VERSION,
                "province_code": province.code,
                "province_name": province.name,
                "kind": kind,
                "since": schema.encode_time(since),
                "until": schema.encode_time(until),
                "overlap_seconds": overlap,
                "period": period,
                "created_at": schema.encode_time(timezone.now()),
                "generator": "SWMS",
                "files": {name: files[name] for name in schema.FILE_NAMES},
            }
            archive.writestr(schema.MANIFEST, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
        package = ExchangePackage(province=province, kind=kind, since=since, until=until, period=period,
                                  scheduled=scheduled, sha256=_sha256_of(path), manifest=manifest)
        name = f"{province.code[:6]}-{period}-{kind}-{timezone.localtime(until):%Y%m%dT%H%M%S}.zip"
        with open(path, "rb") as fh:
            package.file.save(name, File(fh), save=False)
    try:
        with transaction.atomic():
            package.save()
    except IntegrityError:
        package.file.delete(save=False)
        if scheduled:  # another run of the beat job made this period's package first: theirs stands
            return ExchangePackage.objects.get(province=province, period=period, scheduled=True)
        raise
    logger.info("exchange package %s written: %s", package.pk, package.file.name)
    return package


def find_package(ref: str) -> ExchangePackage:
    """A package by its id, or by its SHA-256 or a prefix of at least 8 characters."""
    ref = (ref or "").strip().lower()
    if ref.isdigit() and len(ref) < 8:
        package = ExchangePackage.objects.filter(pk=int(ref)).first()
        if package is None:
            raise ExchangeError(_("No exchange package %(ref)s.") % {"ref": ref})
        return package
    if len(ref) < 8 or not re.fullmatch(r"[0-9a-f]+", ref):
        raise ExchangeError(_("Give the package's id or at least 8 characters of its SHA-256."))
    found = list(ExchangePackage.objects.filter(sha256__startswith=ref)[:2])
    if not found:
        raise ExchangeError(_("No exchange package %(ref)s.") % {"ref": ref})
    if len(found) > 1:
        raise ExchangeError(_("%(ref)s matches several packages; give more characters of the SHA-256.") % {
            "ref": ref})
    return found[0]


def acknowledge_package(ref: str) -> tuple[ExchangePackage, bool]:
    """Record that the national side imported the package; (package, newly acknowledged)."""
    with transaction.atomic():
        package = ExchangePackage.objects.select_for_update().get(pk=find_package(ref).pk)
        if package.acknowledged_at is not None:
            return package, False
        package.acknowledged_at = timezone.now()
        package.save(update_fields=["acknowledged_at"])
    return package, True


# --- Import: checking the package ------------------------------------------------------------------------

class _HashingReader(io.RawIOBase):
    """Reads a zip member through SHA-256."""

    def __init__(self, raw):
        self.raw = raw
        self.hash = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self.raw.read(len(buffer))
        buffer[:len(data)] = data
        self.hash.update(data)
        return len(data)


def _text(raw) -> io.TextIOWrapper:
    return io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")


def _scan(archive: zipfile.ZipFile, name: str) -> tuple[int, str]:
    """(data rows, SHA-256) of one member, read to its end."""
    with archive.open(name) as raw:
        hashing = _HashingReader(raw)
        reader = csv.reader(_text(io.BufferedReader(hashing, 1 << 16)))
        rows = -1  # the header
        try:
            for _row in reader:
                rows += 1
        except UnicodeDecodeError:
            raise ExchangeError(_("%(file)s is not UTF-8 text.") % {"file": name}) from None
        except csv.Error as e:
            raise ExchangeError(_("%(file)s cannot be read as CSV (line %(line)d): %(error)s") % {
                "file": name, "line": reader.line_num, "error": e}) from None
    if rows < 0:
        raise ExchangeError(_("%(file)s is empty: it has no header row.") % {"file": name})
    return rows, hashing.hash.hexdigest()


@dataclass(frozen=True)
class Manifest:
    data: dict
    province: Region
    kind: str
    since: datetime.datetime | None
    until: datetime.datetime
    period: str


def _manifest_time(data: dict, field: str) -> datetime.datetime | None:
    value = data.get(field)
    if value is None:
        return None
    try:
        return schema.parse_time(str(value))
    except ValueError:
        raise ExchangeError(_("manifest.json: %(field)s is not a date and time with its time zone: %(value)s") % {
            "field": field, "value": value}) from None


def read_manifest(archive: zipfile.ZipFile) -> dict:
    names = archive.namelist()
    if schema.MANIFEST not in names:
        raise ExchangeError(_("The package has no manifest.json: it is not an exchange package, or it is "
                              "incomplete."))
    try:
        data = json.loads(archive.read(schema.MANIFEST).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, zipfile.BadZipFile, OSError) as e:
        raise ExchangeError(_("manifest.json cannot be read: %(error)s") % {"error": e}) from None
    if not isinstance(data, dict):
        raise ExchangeError(_("manifest.json cannot be read: %(error)s") % {"error": _("not a JSON object")})
    for field in ("schema_version", "province_code", "kind", "since", "until", "period", "files"):
        if field not in data:
            raise ExchangeError(_("manifest.json lacks the field %(field)s.") % {"field": field})
    version = str(data["schema_version"])
    match = re.fullmatch(r"(\d+)\.(\d+)", version)
    if not match or int(match[1]) != schema.SCHEMA_MAJOR:
        raise ExchangeError(_("The package has schema version %(version)s; this system reads version "
                              "%(major)d.x only. Update SWMS before importing it.") % {
            "version": version, "major": schema.SCHEMA_MAJOR})
    return data


def check_manifest(data: dict, office: Region | None) -> Manifest:
    """The manifest's fields, the province known here and inside the importing office's subtree."""
    kind = data["kind"]
    if kind not in PackageKind.values:
        raise ExchangeError(_("manifest.json: unknown kind %(kind)s.") % {"kind": kind})
    until = _manifest_time(data, "until")
    since = _manifest_time(data, "since")
    if until is None:
        raise ExchangeError(_("manifest.json lacks the field %(field)s.") % {"field": "until"})
    if kind == PackageKind.INCREMENTAL and since is None:
        raise ExchangeError(_("manifest.json: an incremental package needs its since time."))
    if since is not None and since >= until:
        raise ExchangeError(_("manifest.json: since is not before until."))
    period = str(data["period"])
    check_period(period)
    files = data["files"]
    if not isinstance(files, dict) or not all(
            isinstance(e, dict) and isinstance(e.get("rows"), int) and e["rows"] >= 0
            and isinstance(e.get("sha256"), str) and _SHA256.match(e["sha256"]) for e in files.values()):
        raise ExchangeError(_("manifest.json: every file needs its row count and SHA-256."))
    code = str(data["province_code"])
    province = Region.objects.filter(code=code).first()
    if province is None or province.level != RegionLevel.PROVINCE:
        raise ExchangeError(_("The package is for the province code %(code)s, which is not a province here. "
                              "Import the administrative divisions first (manage.py import_regions).") % {
            "code": code})
    if office is not None and not office.contains(province):
        raise ExchangeError(_("The package is for %(province)s, which is outside the importing office "
                              "%(office)s.") % {"province": province.name, "office": office.name})
    return Manifest(data=data, province=province, kind=kind, since=since, until=until, period=period)


def verify_files(archive: zipfile.ZipFile, files: dict) -> None:
    """Every file of the format listed, every listed file present with its SHA-256 and row count, nothing
    else in the archive."""
    names = archive.namelist()
    if len(names) != len(set(names)):
        raise ExchangeError(_("The package holds a file name twice."))
    for name in schema.FILE_NAMES:
        if name not in files:
            raise ExchangeError(_("The manifest does not list %(file)s: the package is incomplete.") % {
                "file": name})
    for name in files:
        if name not in names:
            raise ExchangeError(_("%(file)s is listed in the manifest but missing from the package: the "
                                  "package is incomplete.") % {"file": name})
    for name in names:
        if name != schema.MANIFEST and name not in files:
            raise ExchangeError(_("%(file)s is in the package but not listed in the manifest.") % {"file": name})
    for name, entry in files.items():
        try:
            rows, digest = _scan(archive, name)
        except (zipfile.BadZipFile, OSError, EOFError) as e:
            raise ExchangeError(_("%(file)s is damaged (%(error)s): copy the package again.") % {
                "file": name, "error": e}) from None
        if digest != entry["sha256"]:
            raise ExchangeError(_("The SHA-256 of %(file)s does not match the manifest: the file was changed or "
                                  "damaged on the way.") % {"file": name})
        if rows != entry["rows"]:
            raise ExchangeError(_("%(file)s has %(rows)d rows, the manifest says %(expected)d.") % {
                "file": name, "rows": rows, "expected": entry["rows"]})


# --- Import: writing the rows ----------------------------------------------------------------------------

@dataclass
class ImportResult:
    record: ExchangeImport
    already_imported: bool

    @property
    def counts(self) -> dict:
        return self.record.counts


class _Rejected(Exception):
    pass


@dataclass
class _Row:
    line: int
    key: tuple
    data: dict  # model field (attname) -> value, the key fields excluded
    extra: dict  # what the caller needs beside the model's own fields


class _Importer:
    """Reads each file of a checked package and upserts its rows by natural key, inside the caller's
    transaction. A bad row stops the writing; the file is read to its end for the message, then the
    package is rejected (the transaction rolls back)."""

    def __init__(self, archive: zipfile.ZipFile, province: Region):
        self.archive = archive
        self.province = province
        self.regions = dict(Region.objects.filter(_within_q("", province)).values_list("code", "pk"))
        self.region_ids = set(self.regions.values())
        self.outside: dict[str, int | None] = {}
        self.errors: list[str] = []
        self.error_count = 0
        self.counts: dict[str, dict] = {}
        self.touched: dict[tuple, set] = defaultdict(set)
        self.workers_with_registrations: set[int] = set()
        self.now = timezone.now()

    # Errors ------------------------------------------------------------------------------------------

    def error(self, spec, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(_("%(file)s line %(line)d: %(error)s") % {
                "file": spec.name, "line": line, "error": message})
        if self.error_count >= STOP_AFTER_ERRORS:
            raise _Rejected

    def rejection(self) -> ExchangeError:
        lines = list(self.errors)
        if self.error_count > len(lines):
            lines.append(_("… and %(count)d more errors.") % {"count": self.error_count - len(lines)})
        return ExchangeError(_("The package has rows that cannot be imported:") + "\n" + "\n".join(lines))

    # Reading -----------------------------------------------------------------------------------------

    def rows(self, spec: schema.FileSpec, only=None) -> Iterator[tuple[int, dict]]:
        """(line, {column: value}) of every well-formed row; bad cells are reported."""
        model = apps.get_model(spec.model)
        checks = []
        for column in spec.columns:
            field = model._meta.get_field(column.model_field) if column.model_field else None
            choices = {str(k) for k, _label in field.flatchoices} if field is not None and field.choices else None
            checks.append((column, field, choices))
        self.limits = {}
        for column, field, _choices in checks:
            if field is None:
                continue
            if column.kind == schema.INT:
                self.limits[column.name] = connection.ops.integer_field_range(field.get_internal_type())
            elif column.kind == schema.DECIMAL:
                self.limits[column.name] = (field.max_digits, field.decimal_places)
        with self.archive.open(spec.name) as raw:
            reader = csv.reader(_text(raw))
            header = next(reader)
            index = {name: i for i, name in enumerate(header)}
            missing = [c.name for c in spec.columns if c.name not in index]
            if missing:
                raise ExchangeError(_("%(file)s lacks the columns %(columns)s.") % {
                    "file": spec.name, "columns": ", ".join(missing)})
            for cells in reader:
                line = reader.line_num
                if len(cells) != len(header):
                    self.error(spec, line, _("%(found)d values, the header has %(expected)d") % {
                        "found": len(cells), "expected": len(header)})
                    continue
                values, ok = {}, True
                for column, field, choices in checks:
                    text = cells[index[column.name]]
                    try:
                        values[column.name] = self.check(column, field, choices, schema.decode(column, text))
                    except ValueError as e:
                        self.error(spec, line, str(e))
                        ok = False
                if ok and (only is None or only(values)):
                    yield line, values

    def check(self, column, field, choices, value):
        """The value if the model field takes it as it is (choices, length, range, decimal places), else
        ValueError: a value the database would round or refuse would fail the whole transaction later."""
        if field is None:
            return value
        if value is None or value == "":
            if (value is None and not field.null) or (value == "" and not field.blank):
                raise ValueError(_("column %(column)s is required") % {"column": column.name})
            return value
        if choices is not None and str(value) not in choices:
            raise ValueError(_("column %(column)s: %(value)s is not one of the allowed values") % {
                "column": column.name, "value": value})
        if isinstance(value, str) and field.max_length and len(value) > field.max_length:
            raise ValueError(_("column %(column)s is longer than %(max)d characters") % {
                "column": column.name, "max": field.max_length})
        if column.kind == schema.INT:
            low, high = self.limits[column.name]
            if (low is not None and value < low) or (high is not None and value > high):
                raise ValueError(_("column %(column)s: %(value)s is out of range") % {
                    "column": column.name, "value": value})
        elif column.kind == schema.DECIMAL:
            digits, places = self.limits[column.name]
            if value.quantize(Decimal(10) ** -places) != value or value.adjusted() >= digits - places:
                raise ValueError(_("column %(column)s: %(value)s has more digits than the field holds") % {
                    "column": column.name, "value": value})
        return value

    def chunks(self, spec: schema.FileSpec, only=None) -> Iterator[list[tuple[int, dict]]]:
        chunk: list[tuple[int, dict]] = []
        for item in self.rows(spec, only):
            chunk.append(item)
            if len(chunk) >= CHUNK:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    @staticmethod
    def data(spec: schema.FileSpec, values: dict, key: Iterable[str]) -> dict:
        key = set(key)
        return {c.model_field: values[c.name] for c in spec.columns
                if c.model_field and c.model_field not in key}

    def first_time(self, seen: set, spec, line: int, key, shown: str | None = None) -> bool:
        """False (and an error) for a key seen before in the file; `shown` names it in the message (an ID
        number masked: messages end up in terminals and logs)."""
        if key in seen:
            self.error(spec, line, _("%(key)s appears more than once in the file") % {
                "key": shown or " / ".join(str(k) for k in key)})
            return False
        seen.add(key)
        return True

    def province_region(self, spec, line: int, code: str, column: str = "region_code") -> int | None:
        """The pk of a region of the province, or None with the error reported."""
        pk = self.regions.get(code)
        if pk is None:
            if not code:
                self.error(spec, line, _("column %(column)s is required") % {"column": column})
            elif Region.objects.filter(code=code).exists():
                self.error(spec, line, _("region %(code)s is outside %(province)s") % {
                    "code": code, "province": self.province.name})
            else:
                self.error(spec, line, _("unknown region code %(code)s") % {"code": code})
        return pk

    def any_region(self, spec, line: int, code: str) -> tuple[bool, int | None]:
        """(found, pk) of a region anywhere (a worker may work outside the province); empty is none."""
        if not code:
            return True, None
        if code in self.regions:
            return True, self.regions[code]
        if code not in self.outside:
            self.outside[code] = Region.objects.filter(code=code).values_list("pk", flat=True).first()
        if self.outside[code] is None:
            self.error(spec, line, _("unknown region code %(code)s") % {"code": code})
            return False, None
        return True, self.outside[code]

    # Writing -----------------------------------------------------------------------------------------

    def upsert(self, model, key_fields: tuple[str, ...], rows: list[_Row], *,
               prepare_new=None) -> dict[tuple, tuple[int, str, dict]]:
        """Insert new keys, update changed rows, leave equal ones alone. Returns {key: (pk, status, old)}
        with status "created" / "updated" / "unchanged" and `old` the stored values of the compared fields."""
        if not rows:
            return {}
        fields = list(rows[0].data)
        read = fields
        existing: dict[tuple, tuple[int, dict]] = {}
        for pk, *values in _by_keys(model, key_fields, [r.key for r in rows]).values_list("pk", *key_fields, *read):
            key, stored = tuple(values[:len(key_fields)]), values[len(key_fields):]
            existing[key] = (pk, dict(zip(read, stored, strict=True)))
        has_updated_at = any(f.name == "updated_at" for f in model._meta.concrete_fields)
        result: dict[tuple, tuple[int, str, dict]] = {}
        new, new_keys, changed = [], [], []
        for row in rows:
            found = existing.get(row.key)
            if found is None:
                new.append({**dict(zip(key_fields, row.key, strict=True)), **row.data})
                new_keys.append(row.key)
                continue
            pk, old = found
            if any(row.data[f] != old[f] for f in fields):
                changed.append({"pk": pk, **row.data, **({"updated_at": self.now} if has_updated_at else {})})
                result[row.key] = (pk, "updated", old)
            else:
                result[row.key] = (pk, "unchanged", old)
        if new:
            if prepare_new is not None:
                prepare_new(new)
            insert_rows(model, new)
            for key, pk in _pks(model, key_fields, new_keys).items():
                result[key] = (pk, "created", {})
        if changed:
            update_rows(model, changed, [*fields, *(["updated_at"] if has_updated_at else [])])
        return result

    def count(self, spec, statuses: Iterable[str]) -> None:
        counts = self.counts.setdefault(spec.name, {"rows": 0, "created": 0, "updated": 0, "unchanged": 0})
        for status in statuses:
            counts["rows"] += 1
            counts[status] += 1

    def touch(self, groups: tuple[str, ...], *region_ids) -> None:
        self.touched[groups].update(r for r in region_ids if r is not None)

    @staticmethod
    def accounts(kind: str, attr: str):
        """Inactive accounts without a usable password for new workers and organizations: the models need
        one, the national side gives nobody a login through the exchange."""
        def prepare(rows: list[dict]) -> None:
            # make_password(None) draws its 40 random characters one by one: most of a 150,000-row import.
            users = [{"username": f"exchange-{uuid.uuid4().hex}", "kind": kind, "is_active": False,
                      "password": UNUSABLE_PASSWORD_PREFIX + secrets.token_urlsafe(30), "full_name": r["name"][:100]}
                     for r in rows]
            insert_rows(User, users)
            pks = _pks(User, ("username",), [(u["username"],) for u in users])
            for row, user in zip(rows, users, strict=True):
                row[attr] = pks[(user["username"],)]
        return prepare

    # The files ---------------------------------------------------------------------------------------

    def run(self) -> dict[str, dict]:
        try:
            for step in (self.organizations, self.workers, self.stations, self.registrations,
                         self.certificates, self.figures):
                step()
                if self.error_count:  # a bad row: nothing was written after it, and nothing stays
                    raise _Rejected
        except _Rejected:
            raise self.rejection() from None
        self.refresh_current_registrations()
        for groups, region_ids in self.touched.items():
            if region_ids:
                aggregates.touch(groups, *region_ids)
        return self.counts

    def organizations(self) -> None:
        spec, seen = schema.ORGANIZATIONS, set()
        self.counts.setdefault(spec.name, {"rows": 0, "created": 0, "updated": 0, "unchanged": 0})
        for chunk in self.chunks(spec):
            rows = []
            for line, v in chunk:
                if not self.first_time(seen, spec, line, (v["uscc"],)):
                    continue
                region = self.province_region(spec, line, v["region_code"])
                if region is None:
                    continue
                rows.append(_Row(line, (v["uscc"],), {**self.data(spec, v, ["uscc"]), "region_id": region}, {}))
            if self.error_count:
                continue
            done = self.upsert(Organization, ("uscc",), rows, prepare_new=self.accounts(UserKind.ORGANIZATION,
                                                                                        "account_id"))
            self.count(spec, (status for _pk, status, _old in done.values()))

    def workers(self) -> None:
        spec, seen = schema.WORKERS, set()
        self.counts.setdefault(spec.name, {"rows": 0, "created": 0, "updated": 0, "unchanged": 0})
        for chunk in self.chunks(spec):
            rows = []
            for line, v in chunk:
                number = v["id_number"]
                try:
                    if validate_ric(number) != number:
                        raise ValidationError(_("The ID number is not in its stored form (18 characters, "
                                                "capital X)."))
                except ValidationError as e:
                    self.error(spec, line, _("column %(column)s: %(error)s") % {
                        "column": "id_number", "error": " ".join(e.messages)})
                    continue
                if not self.first_time(seen, spec, line, (number,), shown=mask_id_number(number)):
                    continue
                found, region = self.any_region(spec, line, v["work_region_code"])
                if not found:
                    continue
                rows.append(_Row(line, (number,), {**self.data(spec, v, ["id_number"]), "work_region_id": region}, {}))
            if self.error_count:
                continue
            done = self.upsert(SocialWorker, ("id_number",), rows,
                               prepare_new=self.accounts(UserKind.SOCIAL_WORKER, "user_id"))
            for row in rows:
                _pk, status, old = done[row.key]
                if status != "unchanged":
                    self.touch((aggregates.WORKERS,), row.data["work_region_id"], old.get("work_region_id"))
            self.count(spec, (status for _pk, status, _old in done.values()))

    def stations(self) -> None:
        spec, seen = schema.STATIONS, set()
        self.counts.setdefault(spec.name, {"rows": 0, "created": 0, "updated": 0, "unchanged": 0})
        for chunk in self.chunks(spec):
            usccs = {op.get("uscc") for _line, v in chunk for op in v["operators"] if isinstance(op, dict)}
            organizations = dict(Organization.objects.filter(uscc__in=usccs).values_list("uscc", "pk"))
            rows = []
            for line, v in chunk:
                if not self.first_time(seen, spec, line, (v["code"],)):
                    continue
                region = self.province_region(spec, line, v["region_code"])
                operators = self.station_operators(spec, line, v["operators"], organizations)
                funding = self.station_funding(spec, line, v["funding"])
                if region is None or operators is None or funding is None:
                    continue
                rows.append(_Row(line, (v["code"],), {**self.data(spec, v, ["code"]), "region_id": region},
                                 {"operators": operators, "funding": funding}))
            if self.error_count:
                continue
            done = self.upsert(Station, ("code",), rows)
            ids = [done[row.key][0] for row in rows]
            stored_ops: dict[int, list] = defaultdict(list)
            for station_id, *op in StationOperator.objects.filter(station_id__in=ids).values_list(
                    "station_id", "organization_id", "status", "valid_from", "valid_to"):
                stored_ops[station_id].append(tuple(op))
            stored_funding: dict[int, list] = defaultdict(list)
            for station_id, *fund in StationFunding.objects.filter(station_id__in=ids).values_list(
                    "station_id", "year", "amount", "source"):
                stored_funding[station_id].append(tuple(fund))
            replace_ops, replace_funding, statuses = [], [], []
            for row in rows:
                pk, status, old = done[row.key]
                if sorted(stored_ops[pk]) != sorted(row.extra["operators"]):
                    replace_ops.append(pk)
                    status = "updated" if status == "unchanged" else status
                if sorted(stored_funding[pk]) != sorted(row.extra["funding"]):
                    replace_funding.append(pk)
                    status = "updated" if status == "unchanged" else status
                statuses.append(status)
                if status != "unchanged":
                    self.touch(aggregates.STATION_GROUPS, row.data["region_id"], old.get("region_id"))
            by_pk = {done[row.key][0]: row for row in rows}
            StationOperator.objects.filter(station_id__in=replace_ops).delete()
            StationOperator.objects.bulk_create([
                StationOperator(station_id=pk, organization_id=org, status=status, valid_from=start, valid_to=end)
                for pk in replace_ops for org, status, start, end in by_pk[pk].extra["operators"]])
            StationFunding.objects.filter(station_id__in=replace_funding).delete()
            StationFunding.objects.bulk_create([
                StationFunding(station_id=pk, year=year, amount=amount, source=source)
                for pk in replace_funding for year, amount, source in by_pk[pk].extra["funding"]])
            self.count(spec, statuses)

    def station_operators(self, spec, line: int, entries: list, organizations: dict) -> list | None:
        result, statuses = [], set(StationOperator.Status.values)
        for entry in entries:
            try:
                uscc, status = entry["uscc"], entry["status"]
                start = datetime.date.fromisoformat(entry["valid_from"])
                end = datetime.date.fromisoformat(entry["valid_to"])
                if status not in statuses or end < start:
                    raise ValueError
            except (KeyError, TypeError, ValueError):
                self.error(spec, line, _("column %(column)s: %(value)s is not a valid entry") % {
                    "column": "operators", "value": json.dumps(entry, ensure_ascii=False)[:80]})
                return None
            if uscc not in organizations:
                self.error(spec, line, _("organization %(uscc)s is neither in the package nor here") % {
                    "uscc": uscc})
                return None
            result.append((organizations[uscc], status, start, end))
        return result

    def station_funding(self, spec, line: int, entries: list) -> list | None:
        result = []
        for entry in entries:
            try:
                year, source = entry["year"], entry.get("source", "")
                amount = Decimal(str(entry["amount"]))
                if (not isinstance(year, int) or not 1900 <= year <= 2200 or not isinstance(source, str)
                        or len(source) > 100 or not amount.is_finite() or amount < 0
                        or amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("1e10")):
                    raise ValueError
            except (KeyError, TypeError, ValueError, InvalidOperation):
                self.error(spec, line, _("column %(column)s: %(value)s is not a valid entry") % {
                    "column": "funding", "value": json.dumps(entry, ensure_ascii=False)[:80]})
                return None
            result.append((year, amount, source))
        return result

    def registrations(self) -> None:
        spec, seen = schema.REGISTRATIONS, set()
        self.counts.setdefault(spec.name, {"rows": 0, "created": 0, "updated": 0, "unchanged": 0})
        levels = {str(k) for k, _label in Qualification._meta.get_field("level").flatchoices}
        for chunk in self.chunks(spec):
            workers = {number: (pk, name, region) for number, pk, name, region in SocialWorker.objects.filter(
                id_number__in={v["worker_id_number"] for _line, v in chunk}).values_list(
                "id_number", "pk", "name", "work_region_id")}
            qualifications = dict(Qualification.objects.filter(
                certificate_no__in={v["qualification_no"] for _line, v in chunk}).values_list("certificate_no", "pk"))
            rows, new_qualifications = [], {}
            for line, v in chunk:
                if not self.first_time(seen, spec, line, (v["registration_no"],)):
                    continue
                worker = workers.get(v["worker_id_number"])
                if worker is None:
                    self.error(spec, line, _("social worker %(id)s is neither in the package nor here") % {
                        "id": mask_id_number(v["worker_id_number"])})
                    continue
                region = self.province_region(spec, line, v["region_code"])
                if region is None:
                    continue
                number = v["qualification_no"]
                if number not in qualifications and number not in new_qualifications:
                    if (not number or len(number) > 50 or v["qualification_level"] not in levels
                            or v["qualification_exam_year"] is None
                            or len(v["qualification_issuing_province"]) > 50):
                        self.error(spec, line, _("qualification %(no)s is not here and its columns are "
                                                 "incomplete") % {"no": number or "-"})
                        continue
                    new_qualifications[number] = Qualification(
                        certificate_no=number, id_number=v["worker_id_number"], name=worker[1],
                        level=v["qualification_level"], exam_year=v["qualification_exam_year"],
                        issuing_province=v["qualification_issuing_province"])
                rows.append(_Row(line, (v["registration_no"],), {
                    **self.data(spec, v, ["registration_no"]), "worker_id": worker[0], "region_id": region,
                    "qualification_id": qualifications.get(number)}, {"number": number, "work_region": worker[2]}))
            if self.error_count:
                continue
            # The roster is the exam authority's: a qualification already here is used as it is.
            Qualification.objects.bulk_create(list(new_qualifications.values()), batch_size=1000)
            qualifications.update({q.certificate_no: q.pk for q in new_qualifications.values()})
            for row in rows:
                row.data["qualification_id"] = qualifications[row.extra["number"]]
            done = self.upsert(Registration, ("registration_no",), rows)
            for row in rows:
                _pk, status, old = done[row.key]
                if status != "unchanged":
                    self.touch((aggregates.REGISTRATIONS,), row.data["region_id"], old.get("region_id"))
                    self.touch((aggregates.WORKERS,), row.extra["work_region"])
                    self.workers_with_registrations.add(row.data["worker_id"])
            self.count(spec, (status for _pk, status, _old in done.values()))

    def certificates(self) -> None:
        spec, seen = schema.CERTIFICATES, set()
        self.counts.setdefault(spec.name, {"rows": 0, "created": 0, "updated": 0, "unchanged": 0})
        # Revoked certificates first: a registration has one current certificate, so a revocation must be
        # written before the certificate that replaces it.
        for revoked in (True, False):
            for chunk in self.chunks(spec, only=lambda v, revoked=revoked: (v["revoked_at"] is not None) == revoked):
                registrations = {number: (pk, region) for number, pk, region in Registration.objects.filter(
                    registration_no__in={v["registration_no"] for _line, v in chunk}).values_list(
                    "registration_no", "pk", "region_id")}
                rows = []
                for line, v in chunk:
                    if not self.first_time(seen, spec, line, (v["token"],)):
                        continue
                    registration = registrations.get(v["registration_no"])
                    if registration is None or registration[1] not in self.region_ids:
                        self.error(spec, line, _("registration %(no)s is neither in the package nor here") % {
                            "no": v["registration_no"]})
                        continue
                    rows.append(_Row(line, (v["token"],), {**self.data(spec, v, ["token"]),
                                                           "registration_id": registration[0]}, {}))
                if self.error_count:
                    continue
                done = self.upsert(Certificate, ("token",), rows)
                self.count(spec, (status for _pk, status, _old in done.values()))

    def figures(self) -> None:
        spec, seen = schema.SERVICE_FIGURES, set()
        self.counts.setdefault(spec.name, {"rows": 0, "created": 0, "updated": 0, "unchanged": 0})
        system_user = None
        for chunk in self.chunks(spec):
            stations = {code: (pk, region) for code, pk, region in Station.objects.filter(
                code__in={v["station_code"] for _line, v in chunk}).values_list("code", "pk", "region_id")}
            rows = []
            for line, v in chunk:
                if not self.first_time(seen, spec, line, (v["station_code"], v["month"])):
                    continue
                station = stations.get(v["station_code"])
                if station is None or station[1] not in self.region_ids:
                    self.error(spec, line, _("station %(code)s is neither in the package nor here") % {
                        "code": v["station_code"]})
                    continue
                rows.append(_Row(line, (station[0], v["month"]), self.data(spec, v, ["month"]),
                                 {"region": station[1]}))
            if self.error_count:
                continue
            if system_user is None:
                system_user = exchange_user()

            def prepare(new_rows, user_id=system_user.pk):
                for row in new_rows:
                    row["created_by_id"] = user_id

            done = self.upsert(MonthlySummary, ("station_id", "month"), rows, prepare_new=prepare)
            for row in rows:
                if done[row.key][1] != "unchanged":
                    self.touch((aggregates.SUMMARIES,), row.extra["region"])
            self.count(spec, (status for _pk, status, _old in done.values()))

    def refresh_current_registrations(self) -> None:
        """Each worker's current registration (the one ending last), as registration/services/registry.py
        keeps it; its CE hours stay the province's figure (the CE records are not exchanged)."""
        ids = sorted(self.workers_with_registrations)
        if connection.vendor == "postgresql":
            worker = connection.ops.quote_name(SocialWorker._meta.db_table)
            registration = connection.ops.quote_name(Registration._meta.db_table)
            with connection.cursor() as cursor:
                for start in range(0, len(ids), 50_000):
                    cursor.execute(
                        # Table names from the models' own _meta, the ids as a parameter.
                        f"UPDATE {worker} w SET current_registration_id = c.id "  # noqa: S608
                        f"FROM (SELECT DISTINCT ON (worker_id) worker_id, id FROM {registration} "
                        f"WHERE worker_id = ANY(%s) ORDER BY worker_id, valid_to DESC, id DESC) c "
                        f"WHERE c.worker_id = w.id AND w.current_registration_id IS DISTINCT FROM c.id",
                        [ids[start:start + 50_000]])
            return
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start:start + CHUNK]
            current: dict[int, int | None] = dict.fromkeys(chunk)
            for worker_id, pk in (Registration.objects.filter(worker_id__in=chunk)
                                  .order_by("worker_id", "valid_to", "pk").values_list("worker_id", "pk")):
                current[worker_id] = pk
            stored = dict(SocialWorker.objects.filter(pk__in=chunk).values_list("pk", "current_registration_id"))
            SocialWorker.objects.bulk_update(
                [SocialWorker(pk=w, current_registration_id=r) for w, r in current.items() if stored.get(w) != r],
                ["current_registration"], batch_size=500)


def _by_keys(model, key_fields: tuple[str, ...], keys: list[tuple]):
    """The rows of `model` with these natural keys (a composite key is narrowed in Python by the caller)."""
    if len(key_fields) == 1:
        return model.objects.filter(**{f"{key_fields[0]}__in": [k[0] for k in keys]})
    return model.objects.filter(**{f"{f}__in": {k[i] for k in keys} for i, f in enumerate(key_fields)})


def _pks(model, key_fields: tuple[str, ...], keys: list[tuple]) -> dict[tuple, int]:
    wanted = set(keys)
    found = {}
    for pk, *key in _by_keys(model, key_fields, keys).values_list("pk", *key_fields):
        if tuple(key) in wanted:
            found[tuple(key)] = pk
    return found


def insert_rows(model, rows: list[dict]) -> None:
    """Insert new rows given as {attname: value} (the model's defaults for the rest; `updated_at` now). On
    PostgreSQL through COPY: four times faster than bulk_create for a province's 150,000 workers, whose model
    instances and per-field preparation were most of the import."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create([model(**row) for row in rows], batch_size=1000)
        return
    from psycopg.types.json import Jsonb

    pairs = encrypted_pairs(model)  # ID and mobile numbers: a Fernet token and its keyed hash (P2)
    if pairs:
        rows = [encrypt_row(pairs, row) for row in rows]
    now = timezone.now()
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    plan = []  # (attname, constant default or None, callable default or None, is JSON)
    for f in fields:
        auto = getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
        generated = f.has_default() and callable(f.default) and not auto
        plan.append((f.attname, now if auto else (None if generated else f.get_default()),
                     f.default if generated else None, f.get_internal_type() == "JSONField"))
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    # psycopg's own errors become Django's (IntegrityError, DataError) as for any other query.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY {table} ({columns}) FROM STDIN") as copy:  # names from the model's own _meta
        for row in rows:
            values = []
            for attname, default, make_default, is_json in plan:
                if attname in row:
                    value = row[attname]
                elif make_default is not None:
                    value = make_default()
                else:
                    value = default
                values.append(Jsonb(value) if is_json and value is not None else value)
            copy.write_row(values)


def update_rows(model, rows: list[dict], fields: list[str]) -> None:
    """Set `fields` (attnames) of existing rows given as {"pk": …, field: value}. On PostgreSQL the values go
    through COPY into a temporary table and one UPDATE … FROM joins it: bulk_update's CASE expressions took
    over ten minutes for a province's 150,000 changed workers."""
    if not rows:
        return
    fields = with_hash_fields(model, list(fields))  # an encrypted field's hash is written with it
    if connection.vendor != "postgresql":
        model.objects.bulk_update([model(**row) for row in rows], fields, batch_size=500)
        return
    from psycopg.types.json import Jsonb

    pairs = encrypted_pairs(model)
    if pairs:
        rows = [encrypt_row(pairs, row) for row in rows]
    qn = connection.ops.quote_name
    meta = model._meta
    table, pk = qn(meta.db_table), qn(meta.pk.column)
    columns = [meta.get_field(f) for f in fields]
    json = [c.get_internal_type() == "JSONField" for c in columns]
    names = [qn(c.column) for c in columns]
    temp = qn(f"exchange_{meta.db_table}")
    # Table and column names from the model's own _meta; the values through COPY.
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMPORARY TABLE {temp} ON COMMIT DROP AS "  # noqa: S608
                       f"SELECT {pk}, {', '.join(names)} FROM {table} WITH NO DATA")
        with cursor.cursor.copy(f"COPY {temp} ({pk}, {', '.join(names)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([row["pk"], *(
                    Jsonb(row[f]) if is_json and row[f] is not None else row[f]
                    for f, is_json in zip(fields, json, strict=True))])
        cursor.execute(f"UPDATE {table} t SET {', '.join(f'{n} = s.{n}' for n in names)} "  # noqa: S608
                       f"FROM {temp} s WHERE t.{pk} = s.{pk}")
        cursor.execute(f"DROP TABLE {temp}")


def exchange_user() -> User:
    """The account recorded as the creator of imported monthly figures (inactive, no usable password)."""
    user = User.objects.filter(username=SYSTEM_USERNAME).first()
    if user is None:
        user = User.objects.create(username=SYSTEM_USERNAME, kind="", is_active=False,
                                   password=make_password(None))
    return user


def _lock(province: Region) -> None:
    """One import per province at a time (the sequence check below must see the other's record)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [LOCK_NAMESPACE, province.pk])


def _check_sequence(manifest: Manifest) -> None:
    """Packages of a province are imported in order: never an older one over a newer, never with a gap."""
    latest = ExchangeImport.objects.filter(province=manifest.province).order_by("-until").first()
    local = timezone.localtime
    if latest is not None and manifest.until <= latest.until:
        raise ExchangeError(_(
            "A package of %(province)s with a later cut-off (%(latest)s) has already been imported; importing "
            "this one (cut-off %(until)s) would overwrite newer data.") % {
            "province": manifest.province.name, "latest": f"{local(latest.until):%Y-%m-%d %H:%M}",
            "until": f"{local(manifest.until):%Y-%m-%d %H:%M}"})
    if manifest.kind == PackageKind.INCREMENTAL:
        if latest is None:
            raise ExchangeError(_(
                "No package of %(province)s has been imported here yet: the first one must be a full package "
                "(manage.py export_exchange --full).") % {"province": manifest.province.name})
        if manifest.since > latest.until:
            raise ExchangeError(_(
                "This incremental package holds the changes since %(since)s, but the newest package of "
                "%(province)s imported here ends at %(latest)s: a package in between is missing. Import it "
                "first, or ask the province for a full package.") % {
                "since": f"{local(manifest.since):%Y-%m-%d %H:%M}", "province": manifest.province.name,
                "latest": f"{local(latest.until):%Y-%m-%d %H:%M}"})


def import_package(path, office: Region | None = None, *, imported_by: str = "") -> ImportResult:
    """Check and import one package (see the module docstring). `office` is the importing office's region;
    None (an operator) may import any province's package."""
    path = Path(path)
    if not path.is_file():
        raise ExchangeError(_("The package %(file)s does not exist.") % {"file": path})
    sha256 = _sha256_of(path)
    done = ExchangeImport.objects.filter(sha256=sha256).first()
    if done is not None:
        return ImportResult(done, True)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as e:
        raise ExchangeError(_("%(file)s is not a zip archive (%(error)s): copy the package again.") % {
            "file": path.name, "error": e}) from None
    with archive:
        manifest = check_manifest(read_manifest(archive), office)
        verify_files(archive, manifest.data["files"])
        try:
            with transaction.atomic():
                _lock(manifest.province)
                done = ExchangeImport.objects.filter(sha256=sha256).first()
                if done is not None:  # imported by someone else while this one was being checked
                    return ImportResult(done, True)
                _check_sequence(manifest)
                counts = _Importer(archive, manifest.province).run()
                record = ExchangeImport.objects.create(
                    sha256=sha256, province=manifest.province, kind=manifest.kind, since=manifest.since,
                    until=manifest.until, period=manifest.period, file_name=path.name[:255],
                    manifest=manifest.data, counts=counts, office=office, imported_by=imported_by[:150],
                )
        except (IntegrityError, DataError) as e:
            if isinstance(e, IntegrityError) and ExchangeImport.objects.filter(sha256=sha256).exists():
                return ImportResult(ExchangeImport.objects.get(sha256=sha256), True)
            raise ExchangeError(_("The package contradicts the data here (%(error)s).") % {
                "error": str(e).splitlines()[0] if str(e) else e.__class__.__name__}) from None
    logger.info("exchange package %s of %s imported: %s", sha256[:12], manifest.province.code, counts)
    return ImportResult(record, False)
