"""Legacy import of clients (服务对象) of stations (`manage.py import_clients`, issue #15).

Every row is checked by the same rules as a station's own entry (services.clients: the ID number's birth
date and gender, a birth date or else an age, known person types) and matched the way the station's
duplicate check matches: the same ID number at the station, or else the same name, birth date and phone.
A client without an ID number or birth date is matched by name, age and phone. Imported clients are marked
as such (Client.Source.IMPORTED).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from accounts.models import Region, User
from reports import aggregates
from stations.imports import (
    BATCH,
    IMPORT_REASON,
    STATION_REF_HELP,
    StationLookup,
    date_cell,
    finish_report,
    gender_cell,
    id_number_cell,
    names_cell,
    phone_cell,
    reason_of,
    required_text,
    text_cell,
    tick,
    yes_no,
)
from swms.encrypted_fields import with_hash_fields
from swms.import_values import Column, ImportValueError, clean
from swms.imports import ID_NUMBER_HELP, ID_NUMBER_LABELS, ImportKind, register
from swms.xlsx_import import ImportReport, cells, read_table

from .activities import refresh_activity_people
from .clients import ClientError, _clean, gender_from_ric
from .models import Activity, Client, PersonType

# The Chinese names of the person types (as the zh-Hans catalog shows them) and what clerks also write.
PERSON_TYPE_NAMES = {name.lower(): value for name, value in {
    "老年人": PersonType.ELDERLY, "老年人(60岁及以上)": PersonType.ELDERLY, "老人": PersonType.ELDERLY,
    "高龄老人": PersonType.ELDERLY, "独居老人": PersonType.ELDERLY, "空巢老人": PersonType.ELDERLY,
    "残疾人": PersonType.DISABLED, "残障人士": PersonType.DISABLED,
    "儿童": PersonType.CHILD, "未成年人": PersonType.CHILD,
    "留守儿童": PersonType.LEFT_BEHIND, "困境儿童": PersonType.DISTRESSED_CHILD, "孤儿": PersonType.ORPHAN,
    "低保对象": PersonType.DIBAO, "低保": PersonType.DIBAO, "低保户": PersonType.DIBAO,
    "特困人员": PersonType.EXTREME_POVERTY, "特困": PersonType.EXTREME_POVERTY,
    "特困供养人员": PersonType.EXTREME_POVERTY, "五保户": PersonType.EXTREME_POVERTY,
    "低收入/困难家庭": PersonType.LOW_INCOME, "低收入家庭": PersonType.LOW_INCOME, "困难家庭": PersonType.LOW_INCOME,
    "低收入": PersonType.LOW_INCOME, "流浪乞讨人员": PersonType.VAGRANT, "普通居民": PersonType.RESIDENT,
    "居民": PersonType.RESIDENT, "其他": PersonType.OTHER, "其它": PersonType.OTHER,
    **{value: value for value in PersonType.values},
}.items()}

K = {c.key: c for c in [
    Column("station", ("站点编号", "站点编码", "社工站编号", "所属站点", "站点名称", "社工站"), as_text=True,
           help=STATION_REF_HELP, example="440104001000001"),
    Column("name", ("姓名", "服务对象姓名"), help=gettext_lazy("The client's full name."), example="陈婆婆"),
    Column("gender", ("性别",), required=False, help=gettext_lazy("男 or 女; may be empty with an ID number."),
           example="女"),
    Column("id_number", ID_NUMBER_LABELS, required=False, as_text=True, example="440104194805010021",
           help=format_lazy("{} {} {}", gettext_lazy("Optional."), ID_NUMBER_HELP,
                            gettext_lazy("The birth date and gender are read from it."))),
    Column("birth_date", ("出生日期", "出生年月日", "生日"), required=False, example="1948-05-01",
           help=gettext_lazy("Needed without an ID number, unless the age is given.")),
    Column("age", ("年龄",), required=False, example="",
           help=gettext_lazy("Only when neither the ID number nor the birth date is known, e.g. 75.")),
    Column("person_types", ("人员类别", "对象类别", "服务对象类别", "人员类型", "类别"), required=False,
           example="老年人、低保对象",
           help=gettext_lazy("One or more of 老年人、残疾人、儿童、留守儿童、困境儿童、孤儿、低保对象、特困人员、"
                             "低收入/困难家庭、流浪乞讨人员、普通居民、其他, separated by 、 or commas.")),
    Column("phone", ("联系电话", "电话", "手机号码"), required=False, as_text=True, example="13800138004",
           help=gettext_lazy("The client's or the family's telephone number.")),
    Column("address", ("住址", "地址", "家庭住址", "居住地址"), required=False, example="广州市越秀区洪桥街 10 号",
           help=gettext_lazy("Where the client lives.")),
    Column("notes", ("备注", "情况说明"), required=False, help=gettext_lazy("Anything else the station keeps."),
           example=""),
    Column("filed", ("是否建档", "已建档", "建档"), required=False, help=gettext_lazy("是 if a file has been opened "
                                                                                   "(建档), else 否 (empty: 否)."),
           example="是"),
]}
COLUMNS = list(K.values())
_AGE = re.compile(r"^(\d{1,3})(?:岁|周岁)?$")


def _age(value) -> int | None:
    raw = clean(value).replace(" ", "")
    if not raw:
        return None
    match = _AGE.match(raw)
    if not match or int(match.group(1)) > 130:
        raise ImportValueError(_("%(column)s: “%(value)s” is not an age") % {"column": K["age"].labels[0],
                                                                            "value": raw})
    return int(match.group(1))


def _row(cell, report, line) -> tuple[dict, set[str]]:
    """(the client's values as services.clients checks them, the fields the row gives)."""
    raw_id = clean(cell.get("id_number"))
    data = {
        "name": required_text(cell["name"], K["name"], 100),
        "gender": gender_cell(cell.get("gender"), K["gender"]),
        "id_number": id_number_cell(cell.get("id_number"), report, line) if raw_id else "",
        "birth_date": date_cell(cell.get("birth_date"), K["birth_date"]),
        "age": _age(cell.get("age")),
        "person_types": names_cell(cell.get("person_types"), K["person_types"], PERSON_TYPE_NAMES, PersonType),
        "phone": phone_cell(cell.get("phone"), K["phone"]),
        "address": text_cell(cell.get("address"), K["address"], 200),
        "notes": clean(cell.get("notes")),
        "filed": yes_no(cell.get("filed"), K["filed"]),
    }
    given = {f for f, v in data.items() if v not in (None, "", [])}
    try:
        values = _clean(data)
    except ClientError as e:
        raise ImportValueError(e.message) from None
    if values["id_number"]:
        given |= {"birth_date", "gender"}
    if values["birth_date"] is not None:
        given |= {"birth_date", "age"}  # the age is computed from the birth date
    return values, given


def _name_key(station_id: int, values: dict) -> tuple:
    """Without an ID number: the same name, birth date (else age) and phone at the station."""
    return (station_id, values["name"], values["birth_date"] or values["age"], values["phone"])


def clients_import(*, path, dry_run: bool = False, progress: Callable[[int, int], None] | None = None,
                   scope: Region | None = None, actor: User | None = None, **options) -> ImportReport:
    """Add or update the clients of stations from a legacy list; see the module docstring. An empty optional
    cell leaves what the station has; an ID number is added to a client who had none, never changed."""
    path = Path(path)
    table = read_table(path, COLUMNS)
    report = ImportReport(dry_run=dry_run)
    parsed = []
    for line, raw in table.rows:
        report.read += 1
        cell = cells(raw, table.columns)
        try:
            values, given = _row(cell, report, line)
            parsed.append((line, raw, cell["station"], values, given))
        except (ImportValueError, ValidationError) as e:
            report.errors.append((line, list(raw), reason_of(e)))
        tick(report, table, progress)

    stations = StationLookup(scope)
    stations.prefetch(p[2] for p in parsed)
    rows = []
    seen_id: dict[tuple, int] = {}
    seen_name: dict[tuple, int] = {}  # rows without an ID number
    seen_name_with_id: dict[tuple, int] = {}
    for line, raw, station_cell, values, given in parsed:
        try:
            station = stations(station_cell)
            id_key = (station.pk, values["id_number"]) if values["id_number"] else None
            name_key = _name_key(station.pk, values)
            if id_key:
                earlier = seen_id.get(id_key) or seen_name.get(name_key)
            else:
                earlier = seen_name.get(name_key) or seen_name_with_id.get(name_key)
            if earlier:
                raise ImportValueError(_("the same client of this station as row %(line)d") % {"line": earlier})
        except ImportValueError as e:
            report.errors.append((line, list(raw), reason_of(e)))
            continue
        if id_key:
            seen_id[id_key] = line
            seen_name_with_id.setdefault(name_key, line)
        else:
            seen_name[name_key] = line
        rows.append((line, raw, station, values, given))

    # The clients these rows may be: of the same stations, with one of the ID numbers or names.
    by_id: dict[tuple, Client] = {}
    by_name: dict[tuple, list[Client]] = defaultdict(list)
    station_ids = sorted({station.pk for _l, _r, station, _v, _g in rows})
    numbers = sorted({v["id_number"] for *_x, v, _g in rows if v["id_number"]})
    names = sorted({v["name"] for *_x, v, _g in rows})
    for i in range(0, max(len(numbers), len(names)), BATCH):
        candidates = (Client.objects.active().filter(station_id__in=station_ids)
                      .filter(Q(id_number__in=numbers[i:i + BATCH]) | Q(name__in=names[i:i + BATCH]))
                      .order_by("created_at", "id"))
        for client in candidates:
            if client.id_number:
                by_id.setdefault((client.station_id, client.id_number), client)
            by_name[_name_key(client.station_id, {"name": client.name, "birth_date": client.birth_date,
                                                  "age": client.age, "phone": client.phone})].append(client)

    to_create, to_update, fields, types_changed, regions = [], [], set(), [], set()
    matched: set[int] = set()
    for line, raw, station, values, given in rows:
        client = None
        if values["id_number"]:
            client = by_id.get((station.pk, values["id_number"]))
            if client is None:  # the same person entered without an ID number: it is added
                client = next((c for c in by_name.get(_name_key(station.pk, values), []) if not c.id_number), None)
        else:
            # Without an ID number the row may describe a client that has one (services.clients.client_duplicate).
            same = by_name.get(_name_key(station.pk, values), [])
            client = same[0] if same else None
        if client is None:
            to_create.append(Client(station=station, source=Client.Source.IMPORTED, created_by=actor, **{
                **values, "filed": bool(values["filed"])}))
            regions.add(station.region_id)
            continue
        if client.pk in matched:
            report.errors.append((line, list(raw), _("the same client of this station as an earlier row")))
            continue
        matched.add(client.pk)
        if client.id_number and not values["id_number"] and "gender" in given \
                and gender_from_ric(client.id_number) != values["gender"]:
            report.errors.append((line, list(raw), _("The gender does not match the ID number.")))
            continue
        apply = set(given) - ({"id_number"} if client.id_number else set())
        changed = [f for f in sorted(apply) if getattr(client, f) != values[f]]
        if not changed:
            report.unchanged += 1
            continue
        if "person_types" in changed:
            types_changed.append(client.pk)
        for f in changed:
            setattr(client, f, values[f])
        fields.update(changed)
        to_update.append(client)
        regions.add(station.region_id)
    report.created, report.updated = len(to_create), len(to_update)

    if not dry_run and (to_create or to_update):
        history = {"default_user": actor, "default_change_reason": IMPORT_REASON, "batch_size": BATCH}
        with transaction.atomic():
            bulk_create_with_history(to_create, Client, **history)
            if to_update:
                bulk_update_with_history(to_update, Client, with_hash_fields(Client, sorted(fields)), **history)
            if types_changed:
                # The person types their activities are found by (stored on each activity).
                links = Activity.clients.through.objects.filter(client_id__in=types_changed)
                refresh_activity_people(links.values_list("activity_id", flat=True))
            aggregates.touch((aggregates.CLIENTS,), *regions)
    return finish_report(report, path, table, progress)


register(ImportKind(
    key="clients",
    label=gettext_lazy("Clients of stations"),
    columns=COLUMNS,
    run=clients_import,
    description=gettext_lazy(
        "The clients (服务对象) of stations, one row per client and station, checked like a station's own "
        "entry. Import the stations first. An empty optional cell leaves what the station has."),
    natural_key=gettext_lazy(
        "a row is the same client again by the station and the ID number; without an ID number by the "
        "station, the name, the birth date (else the age) and the phone"),
    command="import_clients",
))
