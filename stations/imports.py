"""Legacy imports of the station side (issue #15): stations with their funding and operator, and station workers.

Like every import: each row validated and refused with its Excel row number and a reason, never blocking
the good rows; the good rows written in one transaction in batches (a few queries per batch, none per row);
keyed by natural keys, so a re-run finds every row unchanged; nothing written on a dry run. Rows whose
region or station lies outside the importing office's `scope` are refused.

The small cell readers shared by the station, worker, client and organization imports (yes/no, gender,
names of choices, amounts, a station given by code or name) live here as well.
"""

from __future__ import annotations

import datetime
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import Region, RegionLevel, User, UserKind
from registration.models import Organization, QualificationLevel, Registration, SocialWorker
from reports import aggregates
from services.clients import gender_from_ric
from swms.domains import ServiceDomain
from swms.encrypted_fields import with_hash_fields
from swms.import_values import Column, ImportValueError, clean, header_key, parse_date, parse_id_number
from swms.imports import ID_NUMBER_HELP, ID_NUMBER_LABELS, ImportKind, RegionLookup, register
from swms.workflow import State
from swms.xlsx_import import ImportReport, cells, read_table, write_error_workbook

from .models import (
    TIER_LEVELS,
    Station,
    StationCodeSequence,
    StationFunding,
    StationOperator,
    StationWorker,
    Tier,
    WorkerLevel,
)

BATCH = 2000
PROGRESS_EVERY = 2000
IMPORT_REASON = "import"  # the change reason of the history rows an import writes


# --- Cells shared by the station-side imports ------------------------------------------------------


def text_cell(value, column: Column, max_length: int) -> str:
    """A text cell, cleaned; too long for its field is an error naming the column."""
    value = clean(value)
    if len(value) > max_length:
        raise ImportValueError(_("%(column)s is longer than %(max)d characters") % {
            "column": column.labels[0], "max": max_length})
    return value


def required_text(value, column: Column, max_length: int) -> str:
    value = text_cell(value, column, max_length)
    if not value:
        raise ImportValueError(_("%(column)s is empty") % {"column": column.labels[0]})
    return value


def date_cell(value, column: Column, *, past: bool = True) -> datetime.date | None:
    """A date in any spelling (None for an empty cell); `past`: not after today."""
    if not clean(value):
        return None
    try:
        day = parse_date(value)
    except ImportValueError as e:
        raise ImportValueError(_("%(column)s: %(error)s") % {"column": column.labels[0], "error": e}) from None
    if past and day > timezone.localdate():
        raise ImportValueError(_("%(column)s %(date)s is in the future") % {
            "column": column.labels[0], "date": day.isoformat()})
    if day.year < 1900:
        raise ImportValueError(_("%(column)s %(date)s is not possible") % {
            "column": column.labels[0], "date": day.isoformat()})
    return day


_YES = {"是", "y", "yes", "true", "1", "√", "✓", "✔", "有", "已建档", "建档"}
_NO = {"否", "n", "no", "false", "0", "×", "✗", "无", "未建档", "不是"}


def yes_no(value, column: Column) -> bool | None:
    """是/否 (also Y/N, 1/0, √/×); None for an empty cell."""
    raw = clean(value).replace(" ", "").lower()
    if not raw:
        return None
    if raw in _YES:
        return True
    if raw in _NO:
        return False
    raise ImportValueError(_("%(column)s: write 是 or 否, not “%(value)s”") % {
        "column": column.labels[0], "value": clean(value)})


GENDER_NAMES = {"男": "male", "女": "female", "男性": "male", "女性": "female", "male": "male", "female": "female",
                "m": "male", "f": "female"}


def gender_cell(value, column: Column) -> str:
    """男 or 女; "" for an empty cell."""
    raw = clean(value).replace(" ", "").lower()
    if not raw:
        return ""
    if raw not in GENDER_NAMES:
        raise ImportValueError(_("%(column)s: write 男 or 女, not “%(value)s”") % {
            "column": column.labels[0], "value": clean(value)})
    return GENDER_NAMES[raw]


_LIST_SEPARATORS = re.compile(r"[、,，;；\s]+")


def names_cell(value, column: Column, names: dict[str, str], choices) -> list[str]:
    """Several names of choices separated by 、 , ; or spaces (a/b also read as two names when "a/b" itself
    is not one), as the choices' values in their declared order; [] for an empty cell."""
    raw = clean(value)
    if not raw:
        return []
    found, unknown = set(), []
    for part in _LIST_SEPARATORS.split(raw):
        if not part:
            continue
        key = part.lower()
        if key in names:
            found.add(names[key])
        elif "/" in part and all(p.lower() in names for p in part.split("/") if p):
            found.update(names[p.lower()] for p in part.split("/") if p)
        else:
            unknown.append(part)
    if unknown:
        known = "、".join(dict.fromkeys(n for n in names if not n.isascii()))
        raise ImportValueError(_("%(column)s: unknown %(names)s (write one or more of %(known)s)") % {
            "column": column.labels[0], "names": "、".join(unknown), "known": known})
    return [v for v in choices.values if v in found]


def decimal_cell(value, column: Column, *, max_digits: int, places: int, units=()) -> Decimal | None:
    """A non-negative number with at most `places` decimals (a unit written after it is dropped); None if
    empty."""
    raw = clean(value).replace(" ", "").replace(",", "")
    for unit in units:
        raw = raw.removesuffix(unit)
    if not raw:
        return None
    try:
        number = Decimal(raw)
    except InvalidOperation:
        raise ImportValueError(_("%(column)s: “%(value)s” is not a number") % {
            "column": column.labels[0], "value": clean(value)}) from None
    if not number.is_finite() or number < 0:
        raise ImportValueError(_("%(column)s: “%(value)s” is not a number of 0 or more") % {
            "column": column.labels[0], "value": clean(value)})
    if number and number.adjusted() >= max_digits - places:
        raise ImportValueError(_("%(column)s: %(value)s is too large") % {
            "column": column.labels[0], "value": clean(value)})
    return number.quantize(Decimal(1).scaleb(-places))


_PHONE = re.compile(r"^[0-9+\-()转 ]{5,30}$")


def phone_cell(value, column: Column) -> str:
    """A telephone or mobile number as written (digits, +, -, brackets, 转 for an extension)."""
    raw = clean(value)
    if raw and not _PHONE.match(raw):
        raise ImportValueError(_("%(column)s: “%(value)s” is not a telephone number") % {
            "column": column.labels[0], "value": raw})
    return raw


def id_number_cell(value, report: ImportReport, line: int) -> str:
    """The normalized ID number; a converted 15-digit number is noted for the report."""
    try:
        number = parse_id_number(value)
    except ImportValueError as e:
        raise ImportValueError(_("ID number: %(error)s") % {"error": str(e)}) from None
    if number.converted_from:
        report.notes.append((line, _("15-digit ID number %(old)s converted to %(new)s")
                             % {"old": number.converted_from, "new": number.value}))
    return number.value


def _names_of(choices: dict[str, str], synonyms: dict[str, str]) -> dict[str, str]:
    """{name in lower case: value} of the choices' Chinese names and their synonyms."""
    return {name.lower(): value for name, value in {**choices, **synonyms}.items()}


# The Chinese names of the service domains (as the zh-Hans catalog shows them) and what clerks also write.
DOMAIN_NAMES = _names_of({
    "社会救助": ServiceDomain.SOCIAL_ASSISTANCE, "儿童福利": ServiceDomain.CHILD_WELFARE,
    "养老服务": ServiceDomain.ELDERLY_CARE, "社区治理": ServiceDomain.COMMUNITY_GOVERNANCE,
    "残疾人服务": ServiceDomain.DISABILITY, "婚姻家庭服务": ServiceDomain.MARRIAGE_FAMILY,
    "精神卫生": ServiceDomain.MENTAL_HEALTH, "教育辅导": ServiceDomain.EDUCATION,
    "就业援助": ServiceDomain.EMPLOYMENT, "职工帮扶": ServiceDomain.WORKER_SUPPORT,
    "犯罪预防": ServiceDomain.CRIME_PREVENTION, "禁毒戒毒": ServiceDomain.DRUG_REHAB,
    "矫治帮教": ServiceDomain.CORRECTIONS, "纠纷调解": ServiceDomain.MEDIATION,
    "应急处置": ServiceDomain.EMERGENCY, "社会心理服务": ServiceDomain.PSYCHOSOCIAL,
    "慈善事业": ServiceDomain.CHARITY, "其他": ServiceDomain.OTHER,
}, {
    "养老": ServiceDomain.ELDERLY_CARE, "为老服务": ServiceDomain.ELDERLY_CARE, "助残服务": ServiceDomain.DISABILITY,
    "残障服务": ServiceDomain.DISABILITY, "婚姻家庭": ServiceDomain.MARRIAGE_FAMILY,
    "社区矫正": ServiceDomain.CORRECTIONS, "禁毒": ServiceDomain.DRUG_REHAB, "慈善": ServiceDomain.CHARITY,
    "心理服务": ServiceDomain.PSYCHOSOCIAL, "其它": ServiceDomain.OTHER,
    **{v: v for v in ServiceDomain.values},
})
DOMAINS_HELP = gettext_lazy("One or more of 社会救助、儿童福利、养老服务、社区治理、残疾人服务、婚姻家庭服务、精神卫生、"
                            "教育辅导、就业援助、职工帮扶、犯罪预防、禁毒戒毒、矫治帮教、纠纷调解、应急处置、社会心理服务、"
                            "慈善事业、其他, separated by 、 or commas.")


def domains_cell(value, column: Column) -> list[str]:
    return names_cell(value, column, DOMAIN_NAMES, ServiceDomain)


def inside(scope: Region | None, region: Region) -> bool:
    return scope is None or scope.contains(region)


class StationLookup:
    """A station cell → the Station: its code, or its name when exactly one station in `scope` has it.
    Deleted stations and stations outside `scope` are refused. Call `prefetch` with every value of the file
    first: two queries for the whole file."""

    CODE = re.compile(r"^\d{15,20}$")

    def __init__(self, scope: Region | None):
        self.scope = scope
        self._by_code: dict[str, Station] = {}
        self._by_name: dict[str, list[Station]] = defaultdict(list)

    @staticmethod
    def key(value) -> str:
        return clean(value).replace(" ", "")

    def prefetch(self, values) -> None:
        keys = {self.key(v) for v in values} - {""}
        codes = [k for k in keys if self.CODE.match(k)]
        names = [k for k in keys if not self.CODE.match(k)]
        for i in range(0, len(codes), BATCH):
            for station in Station.objects.filter(code__in=codes[i:i + BATCH]).select_related("region"):
                self._by_code[station.code] = station
        for i in range(0, len(names), BATCH):
            stations = Station.objects.active().filter(name__in=names[i:i + BATCH]).select_related("region")
            for station in stations:
                if inside(self.scope, station.region):
                    self._by_name[station.name].append(station)

    def __call__(self, value) -> Station:
        raw = self.key(value)
        if not raw:
            raise ImportValueError(_("the station is empty"))
        if self.CODE.match(raw):
            station = self._by_code.get(raw)
            if station is None:
                raise ImportValueError(_("no station has the code %(code)s") % {"code": raw})
        else:
            found = self._by_name.get(raw, [])
            if not found:
                raise ImportValueError(_("no station in the regions you administer is called %(name)s; write its "
                                         "station code") % {"name": raw})
            if len(found) > 1:
                raise ImportValueError(_("several stations are called %(name)s; write the station code instead")
                                       % {"name": raw})
            station = found[0]
        if station.is_deleted:
            raise ImportValueError(_("the station %(station)s has been deleted") % {"station": station})
        if not inside(self.scope, station.region):
            raise ImportValueError(_("the station %(station)s is outside the regions you administer")
                                   % {"station": station})
        return station


STATION_REF_HELP = gettext_lazy("The station's code (15 digits, shown on the station's page and given when the "
                                "station was imported), or its name when no other station in your regions has it.")


def reason_of(error: Exception) -> str:
    """The reason a row is refused, for the report, from an ImportValueError or a ValidationError."""
    if isinstance(error, ValidationError):
        return " ".join(str(m) for m in error.messages)
    message = error.args[0] if error.args else error
    return str(message)


def in_batches(queryset, key: str, values) -> dict:
    """{value of `key`: row} for the rows whose `key` is among `values`, BATCH values a query."""
    values = sorted(set(values))
    found = {}
    for i in range(0, len(values), BATCH):
        for obj in queryset.filter(**{f"{key}__in": values[i:i + BATCH]}):
            found[getattr(obj, key)] = obj
    return found


def finish_report(report: ImportReport, path: Path, table, progress) -> ImportReport:
    if progress:
        progress(report.read, len(table.rows))
    report.errors.sort(key=lambda e: e[0])
    report.notes.sort(key=lambda n: n[0])
    report.error_file = write_error_workbook(path, table.header, report.errors)
    return report


def tick(report: ImportReport, table, progress) -> None:
    if progress and report.read % PROGRESS_EVERY == 0:
        progress(report.read, len(table.rows))


# --- Stations --------------------------------------------------------------------------------------

TIER_NAMES = {
    "总站": Tier.HUB, "社工总站": Tier.HUB, "社会工作服务总站": Tier.HUB, "hub": Tier.HUB,
    "站": Tier.STATION, "社工站": Tier.STATION, "社会工作服务站": Tier.STATION, "station": Tier.STATION,
    "室": Tier.ROOM, "社工室": Tier.ROOM, "社会工作服务室": Tier.ROOM, "room": Tier.ROOM,
}
# The tier a region's level takes when the tier cell is empty (the inverse of TIER_LEVELS).
TIER_OF_LEVEL = {level: tier for tier, levels in TIER_LEVELS.items() for level in levels}

_this_year = timezone.localdate().year
FUNDING_YEARS = (_this_year - 1, _this_year)  # the template's two funding columns; any year is read
FUNDING_AMOUNT = re.compile(r"^(\d{4})年?度?(?:资金|经费|年度资金|年度经费|资金投入|经费投入)(?:\(万元\))?$")
FUNDING_SOURCE = re.compile(r"^(\d{4})年?度?(?:资金|经费)来源$")

S = {c.key: c for c in [
    Column("code", ("站点编号", "站点编码", "社工站编号", "编号"), required=False, as_text=True,
           help=gettext_lazy("Leave empty for a new station: SWMS gives it a code (the region's 12-digit code and a "
                             "three-digit number), listed in the import report. A code from SWMS is kept; it "
                             "must start with the 12-digit code of the station's region."), example=""),
    Column("name", ("站点名称", "社工站名称", "名称"), help=gettext_lazy("The station's full name."),
           example="洪桥街道社工站"),
    Column("tier", ("站点级别", "级别", "层级"), required=False,
           help=gettext_lazy("总站 (a county or city), 站 (a town or street) or 室 (a village or community); empty: "
                             "taken from the region's level."), example="站"),
    Column("region", ("所在地区", "行政区划", "所属地区", "地区", "区划代码"),
           help=gettext_lazy("The town (street), village (community), county or city where the station is: its "
                             "division code, or its name with the names above it (广州市越秀区洪桥街道)."),
           example="广州市越秀区洪桥街道"),
    Column("address", ("地址", "站点地址", "详细地址"), help=gettext_lazy("The station's address."),
           example="广州市越秀区洪桥街 8 号"),
    Column("contact_person", ("联系人", "站点联系人"), help=gettext_lazy("Who to contact at the station."),
           example="黄站长"),
    Column("contact_phone", ("联系电话", "电话", "联系方式"), as_text=True,
           help=gettext_lazy("A telephone or mobile number."), example="020-83000000"),
    Column("founded_on", ("成立日期", "成立时间", "建站日期"), required=False,
           help=gettext_lazy("When the station opened."), example="2021-03-01"),
    Column("floor_area", ("场地面积(平方米)", "场地面积", "面积", "建筑面积"), required=False,
           help=gettext_lazy("Square metres, e.g. 220."), example=220),
    Column("service_domains", ("服务领域",), required=False, help=DOMAINS_HELP, example="养老服务、儿童福利"),
    Column("service_scope", ("服务范围",), required=False, help=gettext_lazy("Who and which area the station serves."),
           example="洪桥街道辖区居民"),
    Column("operator_uscc", ("承办机构统一社会信用代码", "承办机构信用代码", "承办机构代码"), required=False, as_text=True,
           help=gettext_lazy("The unified social credit code of the organization that runs the station (承办机构). "
                             "It must be an approved organization of the station's province; import the "
                             "organizations first. Other operators the station has are left as they are."),
           example="52440104MJL6031851"),
    Column("operator_from", ("承办开始日期", "承办起始日期", "承办期起"), required=False,
           help=gettext_lazy("First day the organization runs the station; required with the credit code."),
           example="2024-01-01"),
    Column("operator_to", ("承办结束日期", "承办截止日期", "承办期止"), required=False,
           help=gettext_lazy("Last day of the operating contract; required with the credit code."),
           example="2026-12-31"),
    Column("funding_source", ("资金来源", "经费来源"), required=False,
           help=gettext_lazy("Where the funds of the year columns come from (a year of its own may have a column "
                             "such as 2025年资金来源)."), example="区级财政"),
    *[Column(f"funding_{year}", (f"{year}年资金(万元)",), required=False, example=amount,
             help=gettext_lazy("The station's funds of that year in 10,000 yuan. Add a column for every year you "
                               "have, named like 2023年资金(万元); an empty cell leaves that year as it is."))
      for year, amount in zip(FUNDING_YEARS, (50, 60), strict=True)],
]}
STATION_COLUMNS = list(S.values())
STATION_FIELDS = ("name", "tier", "address", "contact_person", "contact_phone", "founded_on", "floor_area",
                  "service_domains", "service_scope")


@dataclass
class _StationRow:
    line: int
    raw: list
    code: str
    region: Region
    values: dict  # STATION_FIELDS given in the file (empty optional cells left out)
    funding: dict[int, tuple[Decimal, str]] = field(default_factory=dict)
    operator: tuple[str, datetime.date, datetime.date] | None = None  # (credit code, from, to)
    station: Station | None = None  # the existing station, or the new one


def _funding_columns(header: list[str]) -> tuple[dict[int, int], dict[int, int]]:
    """({year: column index} of the amounts, {year: column index} of the year's own source)."""
    amounts, sources = {}, {}
    for index, label in enumerate(header):
        key = header_key(label)
        if match := FUNDING_AMOUNT.match(key):
            amounts.setdefault(int(match.group(1)), index)
        elif match := FUNDING_SOURCE.match(key):
            sources.setdefault(int(match.group(1)), index)
    return amounts, sources


def _station_row(line, raw, cell, lookup, funding_columns) -> _StationRow:
    from registration.services.organizations import validate_uscc

    code = clean(cell["code"]).replace(" ", "")
    if code and not StationLookup.CODE.match(code):
        raise ImportValueError(_("the station code %(code)s is not a SWMS station code (15 digits: the region's "
                                 "12-digit code and a number); leave it empty to have one given") % {"code": code})
    try:
        region = lookup(cell["region"])
    except ImportValueError as e:
        raise ImportValueError(_("region: %(error)s") % {"error": e}) from None
    if code and code[:12] != region.code:
        raise ImportValueError(_("the station code %(code)s does not belong to %(region)s (it must start with "
                                 "%(prefix)s)") % {"code": code, "region": region.name, "prefix": region.code})
    values = {
        "name": required_text(cell["name"], S["name"], 200),
        "address": required_text(cell["address"], S["address"], 200),
        "contact_person": required_text(cell["contact_person"], S["contact_person"], 50),
        "contact_phone": phone_cell(cell["contact_phone"], S["contact_phone"]),
    }
    if not values["contact_phone"]:
        raise ImportValueError(_("%(column)s is empty") % {"column": S["contact_phone"].labels[0]})
    tier_raw = clean(cell.get("tier")).replace(" ", "").lower()
    if tier_raw:
        if tier_raw not in TIER_NAMES:
            raise ImportValueError(_("%(column)s: write 总站, 站 or 室, not “%(value)s”") % {
                "column": S["tier"].labels[0], "value": clean(cell["tier"])})
        values["tier"] = TIER_NAMES[tier_raw]
        if region.level not in TIER_LEVELS[values["tier"]]:
            raise ImportValueError({
                Tier.HUB: _("A hub (总站) belongs to a county or a city."),
                Tier.STATION: _("A station (站) belongs to a town or street."),
                Tier.ROOM: _("A room (室) belongs to a village or community."),
            }[values["tier"]])
    elif region.level not in TIER_OF_LEVEL:
        raise ImportValueError(_("a station belongs to a city, county, town or village, not to %(region)s")
                               % {"region": region.name})
    optional = {
        "founded_on": date_cell(cell.get("founded_on"), S["founded_on"]),
        "floor_area": decimal_cell(cell.get("floor_area"), S["floor_area"], max_digits=9, places=1,
                                   units=("平方米", "平米", "m2")),
        "service_domains": domains_cell(cell.get("service_domains"), S["service_domains"]),
        "service_scope": clean(cell.get("service_scope")),
    }
    values.update({k: v for k, v in optional.items() if v not in (None, "", [])})
    row = _StationRow(line=line, raw=raw, code=code, region=region, values=values)

    amounts, sources = funding_columns
    default_source = text_cell(cell.get("funding_source"), S["funding_source"], 100)
    for year, index in amounts.items():
        label = Column("", (f"{year}年资金(万元)",))
        amount = decimal_cell(raw[index] if index < len(raw) else None, label, max_digits=12, places=2,
                              units=("万元", "万"))
        if amount is None:
            continue
        if not 1990 <= year <= _this_year + 1:
            raise ImportValueError(_("funding of the year %(year)d is out of range") % {"year": year})
        source = default_source
        if year in sources and sources[year] < len(raw) and clean(raw[sources[year]]):
            source = text_cell(raw[sources[year]], Column("", (f"{year}年资金来源",)), 100)
        row.funding[year] = (amount, source)

    uscc_raw = clean(cell.get("operator_uscc"))
    valid_from = date_cell(cell.get("operator_from"), S["operator_from"], past=False)
    valid_to = date_cell(cell.get("operator_to"), S["operator_to"], past=False)
    if uscc_raw:
        try:
            uscc = validate_uscc(uscc_raw)
        except ValidationError as e:
            raise ImportValueError(_("operator's credit code %(code)s: %(error)s") % {
                "code": uscc_raw, "error": " ".join(str(m) for m in e.messages)}) from None
        if valid_from is None or valid_to is None:
            raise ImportValueError(_("give the operator's first and last day (承办开始日期, 承办结束日期)"))
        if valid_to < valid_from:
            raise ImportValueError(_("An operator's validity period ends before it starts."))
        row.operator = (uscc, valid_from, valid_to)
    elif valid_from or valid_to:
        raise ImportValueError(_("operator dates without the operator's credit code (承办机构统一社会信用代码)"))
    return row


def stations_import(*, path, dry_run: bool = False, progress: Callable[[int, int], None] | None = None,
                    scope: Region | None = None, actor: User | None = None, **options) -> ImportReport:
    """Create or update stations (with their accounts, funding and operator) from a legacy list; see the
    module docstring. A new station gets its code the way the station form does (`StationCodeSequence`) and a
    station account with no password yet: an official sets it on the station's page."""
    path = Path(path)
    table = read_table(path, STATION_COLUMNS)
    report = ImportReport(dry_run=dry_run)
    lookup = RegionLookup(scope)
    funding_columns = _funding_columns(table.header)
    rows: list[_StationRow] = []
    by_code: dict[str, int] = {}
    by_name: dict[tuple[int, str], int] = {}
    for line, raw in table.rows:
        report.read += 1
        try:
            row = _station_row(line, raw, cells(raw, table.columns), lookup, funding_columns)
            name_key = (row.region.pk, row.values["name"])
            earlier = (by_code.get(row.code) if row.code else None) or by_name.get(name_key)
            if earlier:
                raise ImportValueError(_("the same station as row %(line)d") % {"line": earlier})
        except (ImportValueError, ValidationError) as e:
            report.errors.append((line, list(raw), reason_of(e)))
            tick(report, table, progress)
            continue
        if row.code:
            by_code[row.code] = line
        by_name[name_key] = line
        rows.append(row)
        tick(report, table, progress)

    # What the database has: the stations by code and by (region, name), the operators' organizations.
    existing_by_code = in_batches(Station.objects.select_related("region"), "code", [r.code for r in rows if r.code])
    by_region_name: dict[tuple[int, str], list[Station]] = defaultdict(list)
    region_ids = {r.region.pk for r in rows}
    names = {r.values["name"] for r in rows}
    for station in Station.objects.active().filter(region_id__in=region_ids, name__in=names):
        by_region_name[(station.region_id, station.name)].append(station)
    taken_usernames = set(User.objects.filter(username__in=[r.code for r in rows if r.code])
                          .values_list("username", flat=True))
    organizations = in_batches(Organization.objects.select_related("region"), "uscc",
                                [r.operator[0] for r in rows if r.operator])
    provinces: dict[int, Region | None] = {}

    valid: list[_StationRow] = []
    for row in rows:
        try:
            _match_station(row, existing_by_code, by_region_name, taken_usernames)
            if row.operator:
                organization = organizations.get(row.operator[0])
                if organization is None:
                    raise ImportValueError(_("no organization has the credit code %(code)s; import the organizations "
                                             "first") % {"code": row.operator[0]})
                if organization.status != State.APPROVED:
                    raise ImportValueError(_("%(org)s is not an approved organization.") % {"org": organization.name})
                if row.region.pk not in provinces:
                    provinces[row.region.pk] = row.region.ancestor_at(RegionLevel.PROVINCE)
                province = provinces[row.region.pk]
                if province is not None and not province.contains(organization.region):
                    raise ImportValueError(_("%(org)s is not registered in this province.") % {"org": organization.name})
        except ImportValueError as e:
            report.errors.append((row.line, row.raw, reason_of(e)))
            continue
        valid.append(row)

    existing_ids = [r.station.pk for r in valid if r.station is not None]
    funding_rows: dict[tuple[int, int], list[StationFunding]] = defaultdict(list)
    operator_rows: dict[tuple[int, int], list[StationOperator]] = defaultdict(list)
    for i in range(0, len(existing_ids), BATCH):
        for funding in StationFunding.objects.filter(station_id__in=existing_ids[i:i + BATCH]).order_by("id"):
            funding_rows[(funding.station_id, funding.year)].append(funding)
        for operator in StationOperator.objects.filter(station_id__in=existing_ids[i:i + BATCH]).order_by("-valid_to",
                                                                                                         "-id"):
            operator_rows[(operator.station_id, operator.organization_id)].append(operator)

    plan = _StationPlan()
    today = timezone.localdate()
    for row in valid:
        new = row.station is None
        changed = False
        if new:
            row.station = Station(region=row.region, created_by=actor, code=row.code,
                                  tier=row.values.get("tier") or TIER_OF_LEVEL[row.region.level],
                                  **{k: v for k, v in row.values.items() if k != "tier"})
            plan.new.append(row)
        else:
            station = row.station
            fields = [f for f, v in row.values.items() if getattr(station, f) != v]
            if fields:
                for f in fields:
                    setattr(station, f, row.values[f])
                plan.station_fields.update(fields)
                plan.updated.append(station)
                changed = True
        for year, (amount, source) in row.funding.items():
            have = [] if new else funding_rows.get((row.station.pk, year), [])
            if len(have) == 1 and have[0].amount == amount and have[0].source == source:
                continue
            changed = True
            if have:
                have[0].amount, have[0].source = amount, source
                plan.funding_updated.append(have[0])
                plan.funding_removed.extend(have[1:])
            else:
                plan.funding_new.append((row, StationFunding(year=year, amount=amount, source=source)))
        if row.operator:
            uscc, valid_from, valid_to = row.operator
            organization = organizations[uscc]
            status = StationOperator.Status.EXPIRED if valid_to < today else StationOperator.Status.ACTIVE
            have = [] if new else operator_rows.get((row.station.pk, organization.pk), [])
            same = [o for o in have if (o.valid_from, o.valid_to) == (valid_from, valid_to)]
            if not same:
                changed = True
                if have:
                    operator = have[0]
                    operator.valid_from, operator.valid_to, operator.status = valid_from, valid_to, status
                    plan.operators_updated.append(operator)
                else:
                    plan.operators_new.append((row, StationOperator(organization=organization, valid_from=valid_from,
                                                                    valid_to=valid_to, status=status)))
                plan.grant_rows.append(row)
        if new:
            report.created += 1
        elif changed:
            report.updated += 1
        else:
            report.unchanged += 1

    if not dry_run and (plan.new or plan.updated or plan.funding_new or plan.funding_updated
                        or plan.operators_new or plan.operators_updated):
        with transaction.atomic():
            _station_write(plan, actor)
    for row in plan.new:
        if row.code:
            continue
        if dry_run:
            report.notes.append((row.line, _("a station code will be given when the file is imported")))
        else:
            report.notes.append((row.line, _("station code %(code)s given") % {"code": row.station.code}))
    return finish_report(report, path, table, progress)


@dataclass
class _StationPlan:
    new: list[_StationRow] = field(default_factory=list)
    updated: list[Station] = field(default_factory=list)
    station_fields: set[str] = field(default_factory=set)
    funding_new: list[tuple[_StationRow, StationFunding]] = field(default_factory=list)
    funding_updated: list[StationFunding] = field(default_factory=list)
    funding_removed: list[StationFunding] = field(default_factory=list)
    operators_new: list[tuple[_StationRow, StationOperator]] = field(default_factory=list)
    operators_updated: list[StationOperator] = field(default_factory=list)
    grant_rows: list[_StationRow] = field(default_factory=list)


def _match_station(row: _StationRow, existing_by_code, by_region_name, taken_usernames) -> None:
    """The existing station the row describes (by its code, else by region and name), or None for a new one."""
    same_name = by_region_name.get((row.region.pk, row.values["name"]), [])
    if row.code:
        station = existing_by_code.get(row.code)
        if station is not None:
            if station.is_deleted:
                raise ImportValueError(_("the station %(station)s has been deleted") % {"station": station})
            if station.region_id != row.region.pk:
                raise ImportValueError(_("the station %(code)s is in %(region)s, not in the row's region") % {
                    "code": row.code, "region": station.region.name})
            row.station = station
            return
        others = [s for s in same_name if s.code != row.code]
        if others:
            raise ImportValueError(_("%(region)s already has a station called %(name)s, with the code %(code)s") % {
                "region": row.region.name, "name": row.values["name"], "code": others[0].code})
        if row.code in taken_usernames:
            raise ImportValueError(_("an account with the user name %(code)s exists already; choose no code and "
                                     "let SWMS give one") % {"code": row.code})
        return
    if len(same_name) > 1:
        raise ImportValueError(_("%(region)s has several stations called %(name)s; write the station code") % {
            "region": row.region.name, "name": row.values["name"]})
    row.station = same_name[0] if same_name else None


def _allocate_codes(rows: list[_StationRow]) -> None:
    """Codes for the new stations: kept where the file gives one, else the region's code and the next number
    of its StationCodeSequence (as stations.services.next_station_code does, for all regions at once: one
    row lock per region). A kept code moves the sequence past its number, so it is never given again."""
    regions = {r.region.pk: r.region for r in rows}
    StationCodeSequence.objects.bulk_create([StationCodeSequence(region=r) for r in regions.values()],
                                            ignore_conflicts=True)
    sequences = {s.region_id: s for s in StationCodeSequence.objects.select_for_update().filter(region_id__in=regions)}
    for row in rows:
        if row.code:
            sequence = sequences[row.region.pk]
            sequence.last = max(sequence.last, int(row.code[12:]))
    wanted = [r for r in rows if not r.code]
    taken: set[str] = set()
    while wanted:
        for row in wanted:
            sequence = sequences[row.region.pk]
            sequence.last += 1
            row.station.code = f"{row.region.code}{sequence.last:03d}"
        # Codes written without the sequence (an earlier system, a hand-made row) are skipped, not reused.
        codes = [r.station.code for r in wanted]
        taken = set(Station.objects.filter(code__in=codes).values_list("code", flat=True))
        taken |= set(User.objects.filter(username__in=codes).values_list("username", flat=True))
        wanted = [r for r in wanted if r.station.code in taken]
    StationCodeSequence.objects.bulk_update(list(sequences.values()), ["last"])


def _station_write(plan: _StationPlan, actor: User | None) -> None:
    history = {"default_user": actor, "default_change_reason": IMPORT_REASON, "batch_size": BATCH}
    if plan.new:
        _allocate_codes(plan.new)
        # The station account, as the station form makes it but with no password yet (set_unusable_password:
        # nobody can log in until an official sets the password on the station's page).
        accounts = []
        for row in plan.new:
            account = User(username=row.station.code, kind=UserKind.STATION, region=row.region,
                           full_name=row.station.name[:100], must_change_password=True, created_by=actor)
            account.set_unusable_password()
            accounts.append(account)
        bulk_create_with_history(accounts, User, **history)
        for row, account in zip(plan.new, accounts, strict=True):
            row.station.account = account
        bulk_create_with_history([r.station for r in plan.new], Station, **history)
    if plan.updated:
        bulk_update_with_history(plan.updated, Station, sorted(plan.station_fields), **history)
        renamed = [s for s in plan.updated if "name" in plan.station_fields and s.account_id]
        if renamed:
            User.objects.bulk_update([User(pk=s.account_id, full_name=s.name[:100]) for s in renamed], ["full_name"],
                                     batch_size=BATCH)
    for row, funding in plan.funding_new:
        funding.station = row.station
    if plan.funding_new:
        bulk_create_with_history([f for _r, f in plan.funding_new], StationFunding, **history)
    if plan.funding_updated:
        bulk_update_with_history(plan.funding_updated, StationFunding, ["amount", "source"], **history)
    for funding in plan.funding_removed:  # a second row of the same year (rare): deleted with its history
        funding._history_user = actor
        funding.delete()
    for row, operator in plan.operators_new:
        operator.station = row.station
    if plan.operators_new:
        bulk_create_with_history([o for _r, o in plan.operators_new], StationOperator, **history)
    if plan.operators_updated:
        bulk_update_with_history(plan.operators_updated, StationOperator, ["valid_from", "valid_to", "status"],
                                 **history)
    if plan.grant_rows:
        operator_grants_sync({r.station.pk for r in plan.grant_rows})
    regions = {r.region.pk for r in plan.new} | {s.region_id for s in plan.updated}
    if regions:
        aggregates.touch(aggregates.STATION_GROUPS, *regions)


def operator_grants_sync(station_ids) -> None:
    """`operate_station` for the organizations operating these stations today, taken from the rest: what
    stations.services.sync_operator_permissions does for one station, for many in a few queries."""
    from guardian.models import UserObjectPermission

    station_ids = sorted(station_ids)
    content_type = ContentType.objects.get_for_model(Station)
    permission = Permission.objects.get(content_type=content_type, codename="operate_station")
    today = timezone.localdate()
    for i in range(0, len(station_ids), BATCH):
        ids = station_ids[i:i + BATCH]
        should = set(StationOperator.objects.current(today).filter(station_id__in=ids, station__deleted_at__isnull=True)
                     .values_list("organization__account_id", "station_id"))
        granted = UserObjectPermission.objects.filter(permission=permission, object_pk__in=[str(s) for s in ids])
        have = {(user_id, int(pk)) for user_id, pk in granted.values_list("user_id", "object_pk")}
        UserObjectPermission.objects.bulk_create([
            UserObjectPermission(user_id=user_id, permission=permission, content_type=content_type,
                                 object_pk=str(station_id))
            for user_id, station_id in sorted(should - have)
        ])
        gone = have - should
        if gone:
            q = Q()
            for user_id, station_id in gone:
                q |= Q(user_id=user_id, object_pk=str(station_id))
            granted.filter(q).delete()


register(ImportKind(
    key="stations",
    label=gettext_lazy("Social work stations"),
    columns=STATION_COLUMNS,
    run=stations_import,
    description=gettext_lazy(
        "Stations from an earlier system, one row per station, with its annual funding (a column per year) and "
        "the organization that runs it. A new station gets its code and a station account without a password: "
        "an official sets the password on the station's page. An empty optional cell leaves what SWMS has."),
    natural_key=gettext_lazy("a row is the same station again by its station code, or, without a code, by its "
                             "region and name"),
    command="import_stations",
))


# --- Station workers -------------------------------------------------------------------------------

LEVEL_NAMES = {
    "助理社会工作师": WorkerLevel.ASSISTANT, "初级社会工作师": WorkerLevel.ASSISTANT, "初级": WorkerLevel.ASSISTANT,
    "社会工作师": WorkerLevel.INTERMEDIATE, "中级社会工作师": WorkerLevel.INTERMEDIATE, "中级": WorkerLevel.INTERMEDIATE,
    "高级社会工作师": WorkerLevel.SENIOR, "高级": WorkerLevel.SENIOR,
    "无": WorkerLevel.NONE, "未持证": WorkerLevel.NONE, "无证": WorkerLevel.NONE,
    **{level.value: WorkerLevel(level.value) for level in QualificationLevel}, "none": WorkerLevel.NONE,
}

W = {c.key: c for c in [
    Column("station", ("站点编号", "站点编码", "社工站编号", "所属站点", "站点名称", "社工站"), as_text=True,
           help=STATION_REF_HELP, example="440104001000001"),
    Column("name", ("姓名",), help=gettext_lazy("As on the ID card."), example="张三"),
    Column("gender", ("性别",), required=False, help=gettext_lazy("男 or 女; empty: read from the ID number."),
           example="男"),
    Column("id_number", ID_NUMBER_LABELS, help=ID_NUMBER_HELP, example="440104199001011232", as_text=True),
    Column("mobile", ("手机号码", "手机", "联系电话", "电话"), required=False, as_text=True,
           help=gettext_lazy("The worker's mobile number."), example="13800138002"),
    Column("employer", ("工作单位", "所在单位", "用人单位"), required=False,
           help=gettext_lazy("The organization that employs the worker."), example="越秀区阳光社会工作服务中心"),
    Column("level", ("证书级别", "持证级别", "职业水平等级", "资格级别"), required=False,
           help=gettext_lazy("助理社会工作师, 社会工作师, 高级社会工作师, or 无 (empty: 无)."), example="社会工作师"),
    Column("certificate_no", ("证书管理号", "证书编号", "证书号"), required=False, as_text=True,
           help=gettext_lazy("The qualification certificate's number; required with a level."),
           example="2019035440000123"),
    Column("is_head", ("是否站长", "站长", "是否负责人"), required=False, help=gettext_lazy("是 or 否 (empty: 否)."),
           example="是"),
    Column("practice_since", ("从业开始日期", "从事社会工作时间", "从业时间", "参加工作时间"), required=False,
           help=gettext_lazy("Since when the worker does social work (for the rule that a head needs two years)."),
           example="2016-07-01"),
    Column("joined_on", ("入职日期", "入站日期", "到岗日期"), required=False,
           help=gettext_lazy("When the worker joined the station; empty: the day of the import."), example="2021-03-01"),
]}
WORKER_COLUMNS = list(W.values())
MANUAL_FIELDS = ("name", "gender", "mobile", "employer", "level", "certificate_no", "is_head", "practice_since",
                 "joined_on")


def _worker_row(cell, report, line) -> dict:
    values = {"name": required_text(cell["name"], W["name"], 100),
              "id_number": id_number_cell(cell["id_number"], report, line)}
    id_gender = gender_from_ric(values["id_number"])
    gender = gender_cell(cell.get("gender"), W["gender"])
    if gender and gender != id_gender:
        raise ImportValueError(_("The gender does not match the ID number."))
    values["gender"] = id_gender
    optional = {
        "mobile": phone_cell(cell.get("mobile"), W["mobile"]),
        "employer": text_cell(cell.get("employer"), W["employer"], 200),
        "certificate_no": text_cell(cell.get("certificate_no"), W["certificate_no"], 50).replace(" ", ""),
        "is_head": yes_no(cell.get("is_head"), W["is_head"]),
        "practice_since": date_cell(cell.get("practice_since"), W["practice_since"]),
        "joined_on": date_cell(cell.get("joined_on"), W["joined_on"]),
    }
    if len(optional["mobile"]) > 20:
        raise ImportValueError(_("%(column)s is longer than %(max)d characters") % {
            "column": W["mobile"].labels[0], "max": 20})
    level_raw = clean(cell.get("level")).replace(" ", "").lower()
    if level_raw:
        if level_raw not in LEVEL_NAMES:
            raise ImportValueError(_("unknown level %(value)r (expected 助理社会工作师, 社会工作师 or 高级社会工作师)")
                                   % {"value": clean(cell["level"])})
        optional["level"] = LEVEL_NAMES[level_raw]
        if optional["level"] != WorkerLevel.NONE and not optional["certificate_no"]:
            raise ImportValueError(_("Give the certificate number of the qualification."))
    values.update({k: v for k, v in optional.items() if v not in (None, "")})
    return values


def _registry_values(id_numbers) -> dict[str, tuple[SocialWorker, dict]]:
    """{ID number: (social worker, what a synced post shows)} of the registered social workers among these
    numbers: stations.services.registered_worker_find and registry_values for many people in two queries."""
    workers = {}
    numbers = sorted(id_numbers)
    for i in range(0, len(numbers), BATCH):
        found = (SocialWorker.objects.filter(id_number__in=numbers[i:i + BATCH],
                                             registrations__status=Registration.Status.VALID).distinct())
        workers.update({w.pk: w for w in found})
    current: dict[int, Registration] = {}
    ids = sorted(workers)
    for i in range(0, len(ids), BATCH):
        registrations = (Registration.objects.filter(worker_id__in=ids[i:i + BATCH], status=Registration.Status.VALID)
                         .select_related("qualification").order_by("worker_id", "-valid_to", "-id"))
        for registration in registrations:
            current.setdefault(registration.worker_id, registration)
    result = {}
    for pk, worker in workers.items():
        registration = current.get(pk)
        result[worker.id_number] = (worker, {
            "name": worker.name,
            "gender": worker.gender or "male",
            "id_number": worker.id_number,
            "mobile": worker.mobile,
            "employer": worker.employer,
            "level": registration.level if registration else WorkerLevel.NONE,
            "certificate_no": (registration.qualification.certificate_no
                               if registration and registration.qualification else ""),
            "practice_since": worker.work_start_date,
        })
    return result


def station_workers_import(*, path, dry_run: bool = False, progress: Callable[[int, int], None] | None = None,
                           scope: Region | None = None, actor: User | None = None, **options) -> ImportReport:
    """Add or update the current workers of stations from a legacy list. A person registered in SWMS (a valid
    registration) is added from the registry, as a station's "add from the registry" does: the registry's
    name, level and certificate are shown, and the file's name must match it. Anyone else is entered as
    written."""
    path = Path(path)
    table = read_table(path, WORKER_COLUMNS)
    report = ImportReport(dry_run=dry_run)
    parsed = []
    for line, raw in table.rows:
        report.read += 1
        cell = cells(raw, table.columns)
        try:
            parsed.append((line, raw, cell["station"], _worker_row(cell, report, line)))
        except (ImportValueError, ValidationError) as e:
            report.errors.append((line, list(raw), reason_of(e)))
        tick(report, table, progress)

    stations = StationLookup(scope)
    stations.prefetch(p[2] for p in parsed)
    rows, first_line = [], {}
    for line, raw, station_cell, values in parsed:
        try:
            station = stations(station_cell)
            key = (station.pk, values["id_number"])
            if key in first_line:
                raise ImportValueError(_("the same worker of this station as row %(line)d") % {"line": first_line[key]})
        except ImportValueError as e:
            report.errors.append((line, list(raw), reason_of(e)))
            continue
        first_line[key] = line
        rows.append((line, raw, station, values))

    registry = _registry_values({values["id_number"] for *_x, values in rows})
    current: dict[tuple[int, str], StationWorker] = {}
    station_ids = sorted({station.pk for _l, _r, station, _v in rows})
    numbers = sorted({values["id_number"] for *_x, values in rows})
    for i in range(0, len(numbers), BATCH):
        posts = StationWorker.objects.current().filter(station_id__in=station_ids, id_number__in=numbers[i:i + BATCH])
        current.update({(w.station_id, w.id_number): w for w in posts})

    to_create, to_update, update_fields, touched = [], [], set(), set()
    today = timezone.localdate()
    for line, raw, station, values in rows:
        synced = registry.get(values["id_number"])
        if synced is not None and synced[1]["name"] != values["name"]:
            report.errors.append((line, list(raw), _(
                "this ID number belongs to the registered social worker %(name)s, not to %(written)s: check the "
                "ID number") % {"name": synced[1]["name"], "written": values["name"]}))
            continue
        post = current.get((station.pk, values["id_number"]))
        if post is None:
            if synced is not None:
                data = {**synced[1], "is_head": values.get("is_head", False),
                        "joined_on": values.get("joined_on", today)}
                worker = StationWorker(station=station, source=StationWorker.Source.SYNCED, social_worker=synced[0],
                                       **data)
            else:
                worker = StationWorker(station=station, source=StationWorker.Source.MANUAL, **values)
                worker.joined_on = values.get("joined_on", today)
            to_create.append(worker)
            touched.add(station.region_id)
            continue
        editable = [f for f in MANUAL_FIELDS
                    if post.source == StationWorker.Source.MANUAL or f not in StationWorker.SYNCED_FIELDS]
        changed = [f for f in editable if f in values and getattr(post, f) != values[f]]
        if changed:
            for f in changed:
                setattr(post, f, values[f])
            update_fields.update(changed)
            to_update.append(post)
            touched.add(station.region_id)
        else:
            report.unchanged += 1
    report.created, report.updated = len(to_create), len(to_update)
    if not dry_run and (to_create or to_update):
        history = {"default_user": actor, "default_change_reason": IMPORT_REASON, "batch_size": BATCH}
        with transaction.atomic():
            bulk_create_with_history(to_create, StationWorker, **history)
            if to_update:
                bulk_update_with_history(to_update, StationWorker, with_hash_fields(StationWorker, sorted(update_fields)),
                                         **history)
            aggregates.touch((aggregates.STATIONS,), *touched)  # whether each station meets the staffing rules
    return finish_report(report, path, table, progress)


register(ImportKind(
    key="station_workers",
    label=gettext_lazy("Station workers"),
    columns=WORKER_COLUMNS,
    run=station_workers_import,
    description=gettext_lazy(
        "The full-time workers of stations (社工人员), one row per worker and station. A worker registered in "
        "SWMS is added from the registry (name, level and certificate as registered); others as written. Import "
        "the stations first. An empty optional cell leaves what SWMS has."),
    natural_key=gettext_lazy("a row is the same worker again by the station and the ID number (a current post)"),
    command="import_station_workers",
))
