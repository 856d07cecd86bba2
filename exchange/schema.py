"""The exchange format, version 1.0 (docs/exchange.md): the files, their columns and how a value is written.

A column names the ORM path it is exported from (`source`; None when the exporter fills it) and the model
field that checks it on import (`field`: choices, length, whether it may be empty). Values are written as
text: empty for none, ISO dates, ISO 8601 UTC date-times ending in Z, "true"/"false", decimals with a
point, compact JSON for lists, "YYYY-MM" for a month.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

SCHEMA_VERSION = "1.0"
SCHEMA_MAJOR = 1
MANIFEST = "manifest.json"

TEXT, INT, DECIMAL, BOOL, DATE, DATETIME, MONTH, JSON = (
    "text", "int", "decimal", "bool", "date", "datetime", "month", "json")


@dataclass(frozen=True)
class Column:
    name: str
    kind: str = TEXT
    source: str | None = ""  # ORM path exported; "" = the same as `name`; None = filled by the exporter
    field: str | None = ""  # model field checking the value on import; "" = the same as `name`; None = none

    @property
    def path(self) -> str | None:
        return self.name if self.source == "" else self.source

    @property
    def model_field(self) -> str | None:
        return self.name if self.field == "" else self.field


@dataclass(frozen=True)
class FileSpec:
    name: str
    model: str  # app_label.Model, checked on import
    columns: tuple[Column, ...]

    @property
    def header(self) -> list[str]:
        return [c.name for c in self.columns]


WORKERS = FileSpec("workers.csv", "registration.SocialWorker", (
    Column("id_number"),
    Column("name"),
    Column("gender"),
    Column("birth_date", DATE),
    Column("ethnicity"),
    Column("education"),
    Column("school"),
    Column("major"),
    Column("graduation_date", DATE),
    Column("work_start_date", DATE),
    Column("full_time", BOOL),
    Column("years_in_social_work", INT),
    Column("position"),
    Column("work_region_code", source="work_region__code", field=None),
    Column("employer"),
    Column("practice_domains", JSON),
    Column("profile_status", source="status", field="status"),
    Column("updated_at", DATETIME, field=None),
))

REGISTRATIONS = FileSpec("registrations.csv", "registration.Registration", (
    Column("registration_no"),
    Column("worker_id_number", source="worker__id_number", field=None),
    Column("kind"),
    Column("level"),
    Column("region_code", source="region__code", field=None),
    Column("valid_from", DATE),
    Column("valid_to", DATE),
    Column("status"),
    Column("certificate_due_on", DATE),
    Column("ce_hours", DECIMAL),
    Column("qualification_no", source="qualification__certificate_no", field=None),
    Column("qualification_level", source="qualification__level", field=None),
    Column("qualification_exam_year", INT, source="qualification__exam_year", field=None),
    Column("qualification_issuing_province", source="qualification__issuing_province", field=None),
    Column("created_at", DATETIME),
))

CERTIFICATES = FileSpec("certificates.csv", "registration.Certificate", (
    Column("token"),
    Column("registration_no", source="registration__registration_no", field=None),
    Column("pdf_sha256", source="sha256", field="sha256"),
    Column("issued_at", DATETIME),
    Column("issued_by"),
    Column("revoked_at", DATETIME),
    Column("revoked_reason"),
))

STATIONS = FileSpec("stations.csv", "stations.Station", (
    Column("code"),
    Column("name"),
    Column("tier"),
    Column("region_code", source="region__code", field=None),
    Column("address"),
    Column("contact_person"),
    Column("contact_phone"),
    Column("founded_on", DATE),
    Column("floor_area", DECIMAL),
    Column("service_domains", JSON),
    Column("service_scope"),
    Column("created_at", DATETIME),
    Column("updated_at", DATETIME, field=None),
    Column("deleted_at", DATETIME),
    Column("deleted_reason"),
    # The station's operators and annual funding rows, whole (the set replaces the one held before).
    Column("operators", JSON, source=None, field=None),
    Column("funding", JSON, source=None, field=None),
))

ORGANIZATIONS = FileSpec("organizations.csv", "registration.Organization", (
    Column("uscc"),
    Column("name"),
    Column("legal_representative"),
    Column("region_code", source="region__code", field=None),
    Column("address"),
    Column("contact_person"),
    Column("contact_phone"),
    Column("service_domains", JSON),
    Column("founded_on", DATE),
    Column("registration_authority"),
    Column("status"),
    Column("submitted_at", DATETIME),
    Column("decided_at", DATETIME),
    Column("created_at", DATETIME),
    Column("updated_at", DATETIME, field=None),
))

SERVICE_FIGURES = FileSpec("service_figures.csv", "services.MonthlySummary", (
    Column("station_code", source="station__code", field=None),
    Column("month", MONTH),
    Column("activity_count", INT),
    Column("persons_served", INT),
    Column("person_times", INT),
    Column("status"),
    Column("submitted_at", DATETIME),
    Column("decided_at", DATETIME),
    Column("created_at", DATETIME),
    Column("updated_at", DATETIME, field=None),
))

# In the order they are imported: what a row refers to comes before it.
FILES: tuple[FileSpec, ...] = (ORGANIZATIONS, WORKERS, STATIONS, REGISTRATIONS, CERTIFICATES, SERVICE_FIGURES)
FILE_NAMES = tuple(f.name for f in FILES)


# --- Writing values --------------------------------------------------------------------------------------

def _datetime(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


_ENCODERS = {
    TEXT: str,
    INT: str,
    DATETIME: _datetime,
    DATE: datetime.date.isoformat,
    MONTH: lambda value: f"{value:%Y-%m}",
    BOOL: lambda value: "true" if value else "false",
    DECIMAL: lambda value: format(value, "f"),
    JSON: lambda value: json.dumps(value, ensure_ascii=False, separators=(",", ":")),
}


def encoder(kind: str):
    """The function writing a non-empty value of this kind (the exporter's hot loop looks it up once)."""
    return _ENCODERS[kind]


def encode(kind: str, value) -> str:
    return "" if value is None else _ENCODERS[kind](value)


def encode_time(value: datetime.datetime | None) -> str | None:
    """A manifest time: ISO 8601 UTC with Z, or None."""
    return encode(DATETIME, value) if value is not None else None


# --- Reading values ---------------------------------------------------------------------------------------

_INT = re.compile(r"\d{1,10}\Z")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_MONTH = re.compile(r"(\d{4})-(\d{2})\Z")


def parse_time(text: str) -> datetime.datetime:
    """An ISO 8601 date-time with its offset (Z or ±hh:mm); ValueError otherwise."""
    value = datetime.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(text)
    return value


def decode(column: Column, text: str):
    """The value of one cell (None for an empty cell of a non-text column); ValueError with a translated
    message when the text is not a value of the column's kind."""
    kind = column.kind
    if kind == TEXT:
        return text
    if text == "":
        return None
    try:
        if kind == INT:
            if not _INT.match(text):
                raise ValueError
            return int(text)
        if kind == DECIMAL:
            value = Decimal(text)
            if not value.is_finite():
                raise ValueError
            return value
        if kind == BOOL:
            if text not in ("true", "false"):
                raise ValueError
            return text == "true"
        if kind == DATE:
            if not _DATE.match(text):
                raise ValueError
            return datetime.date.fromisoformat(text)
        if kind == DATETIME:
            return parse_time(text)
        if kind == MONTH:
            match = _MONTH.match(text)
            if not match:
                raise ValueError
            return datetime.date(int(match[1]), int(match[2]), 1)
        if kind == JSON:
            value = json.loads(text)
            if not isinstance(value, list):
                raise ValueError
            return value
    except (ValueError, InvalidOperation, json.JSONDecodeError):
        pass
    expected = {
        INT: _("a whole number"), DECIMAL: _("a decimal number"), BOOL: _("true or false"),
        DATE: _("a date (YYYY-MM-DD)"), DATETIME: _("a date and time with its time zone (ISO 8601)"),
        MONTH: _("a month (YYYY-MM)"), JSON: _("a JSON list"),
    }[kind]
    raise ValueError(_("column %(column)s: %(value)s is not %(expected)s") % {
        "column": column.name, "value": _shorten(text), "expected": expected})


def _shorten(text: str, limit: int = 40) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "…")
