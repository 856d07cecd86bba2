"""Service activities (服务活动, manual 2.6): codes, saving and deleting. Views and forms stay thin;
every rule about what an activity may hold is checked here, against the declarations in
services/categories.py."""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from reports import aggregates
from stations.models import Station, StationWorker
from swms.domains import ServiceDomain

from .categories import CATEGORIES, Category, Field
from .models import Activity, ActivityCodeCounter, ActivityStatus, Client

# The common columns a caller may set through `data`; status goes through the checks below.
COMMON_FIELDS = ("status", "name", "lead_worker", "contact_phone", "service_domains", "started_at", "ended_at",
                 "location", "volunteer_count")


class ActivityError(Exception):
    """An activity change refused for a reason fit to show the user."""

    def __init__(self, message):
        self.message = message
        super().__init__(str(message))


def activity_code(station: Station, started_at: datetime.datetime) -> str:
    """`<station code>-<YYYYMM>-<seq>` for the month the activity starts in. Locks the station-month
    counter row, so two activities saved at once get different numbers, and numbers are never reused
    (a deleted activity keeps its code). Call inside the caller's transaction."""
    month = timezone.localtime(started_at).date().replace(day=1)
    ActivityCodeCounter.objects.bulk_create([ActivityCodeCounter(station=station, month=month)],
                                            ignore_conflicts=True)
    counter = ActivityCodeCounter.objects.select_for_update().get(station=station, month=month)
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"{station.code}-{month:%Y%m}-{counter.last:04d}"


def _is_empty(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _json_value(field: Field, value):
    """The JSON form of one declared field's value; refuses values of the wrong kind."""
    label = str(field.label)
    if field.kind == "datetime":
        if isinstance(value, str):
            value = _parse(datetime.datetime.fromisoformat, value, label)
        if not isinstance(value, datetime.datetime):
            raise ActivityError(_("%(field)s is not a valid date and time.") % {"field": label})
        if timezone.is_naive(value):
            value = timezone.make_aware(value)
        return timezone.localtime(value).isoformat()
    if field.kind == "date":
        if isinstance(value, str):
            value = _parse(datetime.date.fromisoformat, value, label)
        if isinstance(value, datetime.datetime):
            value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
        if not isinstance(value, datetime.date):
            raise ActivityError(_("%(field)s is not a valid date.") % {"field": label})
        return value.isoformat()
    if field.kind == "int":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ActivityError(_("%(field)s must be a whole number, 0 or more.") % {"field": label})
        return value
    if field.kind == "choice":
        if str(value) not in {str(k) for k, _label in field.choices}:
            raise ActivityError(_("%(field)s: choose one of the offered values.") % {"field": label})
        return str(value)
    return str(value).strip()


def _parse(parser, value, label):
    try:
        return parser(value)
    except ValueError:
        raise ActivityError(_("%(field)s is not a valid date.") % {"field": label}) from None


def _declared_values(fields: tuple[Field, ...], values: dict, *, required: bool) -> dict:
    """Only the declared fields, in JSON form; the required ones must be there when `required`."""
    result = {}
    for field in fields:
        value = values.get(field.name)
        if _is_empty(value):
            if required and field.required:
                raise ActivityError(_("%(field)s is required.") % {"field": field.label})
            continue
        result[field.name] = _json_value(field, value)
    return result


def _check_people(station, activity, category: Category, data, clients, workers):
    """Lead worker and workers: current workers of the station; clients: its active clients. People
    already on the activity stay allowed (a worker who has since left, a client since deleted)."""
    kept_workers = set()
    kept_clients = set()
    if activity is not None:
        kept_workers = set(activity.workers.values_list("pk", flat=True)) | {activity.lead_worker_id}
        kept_clients = set(activity.clients.values_list("pk", flat=True))
    allowed_workers = set(station.workers.current().values_list("pk", flat=True)) | kept_workers
    lead = data.get("lead_worker")
    if not isinstance(lead, StationWorker) or lead.station_id != station.pk or lead.pk not in allowed_workers:
        raise ActivityError(_("The responsible worker must be a current worker of this station."))
    if any(w.station_id != station.pk or w.pk not in allowed_workers for w in workers):
        raise ActivityError(_("Workers taking part must be current workers of this station."))
    allowed_clients = set(station.clients.active().values_list("pk", flat=True)) | kept_clients
    if any(c.station_id != station.pk or c.pk not in allowed_clients for c in clients):
        raise ActivityError(_("Clients served must be clients of this station."))
    if category.clients_required and not clients:
        raise ActivityError(_("Choose at least one client served for a %(category)s activity.")
                            % {"category": category.label})


def _check_common(data: dict) -> None:
    missing = [f for f in ("name", "contact_phone", "started_at") if _is_empty(data.get(f))]
    if missing:
        raise ActivityError(_("The activity name, contact phone and start are required."))
    if data.get("status") not in ActivityStatus.values:
        raise ActivityError(_("Choose the status of the activity."))
    domains = data.get("service_domains") or []
    if not domains:
        raise ActivityError(_("Choose at least one service domain."))
    if any(d not in ServiceDomain.values for d in domains):
        raise ActivityError(_("Unknown service domain."))
    if (data.get("volunteer_count") or 0) < 0:
        raise ActivityError(_("The number of volunteers cannot be negative."))
    ended_at = data.get("ended_at")
    if ended_at is not None and ended_at < data["started_at"]:
        raise ActivityError(_("The end is before the start."))
    if data["status"] == ActivityStatus.ENDED and ended_at is None:
        raise ActivityError(_("An activity that has ended needs its end date and time."))


def _month(moment) -> datetime.date:
    return timezone.localtime(moment).date().replace(day=1)


def _check_month_open(station: Station, month: datetime.date) -> None:
    """A month whose summary has been submitted (or approved) keeps the figures it reported: its
    activities cannot be added, moved, deleted or given other clients until the summary is returned."""
    from .models import MonthlySummary

    if MonthlySummary.objects.filter(station=station, month=month, status__in=["submitted", "approved"]).exists():
        raise ActivityError(
            _("The monthly summary of %(month)s has been submitted, so the activities it counts are fixed. Ask "
              "the reviewer to return the summary if they need to change.") % {"month": f"{month:%Y-%m}"}
        )


def refresh_activity_people(activity_ids: Iterable[int]) -> None:
    """Recount the clients and workers of these activities and the person types of their clients (the
    stored `client_count`, `worker_count`, `client_types`), from the link tables: three queries and one
    bulk update per call."""
    ids = sorted(set(activity_ids))
    if not ids:
        return
    client_links = Activity.clients.through.objects.filter(activity_id__in=ids).order_by()
    worker_links = Activity.workers.through.objects.filter(activity_id__in=ids).order_by()
    worker_counts = dict(worker_links.values("activity_id").annotate(n=Count("*")).values_list("activity_id", "n"))
    client_counts: dict[int, int] = {}
    types: dict[int, set] = {}
    for activity_id, person_types in client_links.values_list("activity_id", "client__person_types"):
        client_counts[activity_id] = client_counts.get(activity_id, 0) + 1
        types.setdefault(activity_id, set()).update(person_types or ())
    rows = [Activity(pk=pk, client_count=client_counts.get(pk, 0), worker_count=worker_counts.get(pk, 0),
                     client_types=sorted(types.get(pk, ()))) for pk in ids]
    Activity.objects.bulk_update(rows, ["client_count", "worker_count", "client_types"], batch_size=500)


def refresh_all_activity_people() -> None:
    """Every activity's stored counts and client types at once (migration services 0004, the scale generator):
    one UPDATE per link table on PostgreSQL, batches of refresh_activity_people() elsewhere."""
    if connection.vendor != "postgresql":
        ids = list(Activity.objects.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), 2000):
            refresh_activity_people(ids[start:start + 2000])
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE services_activity a SET client_count = c.n, client_types = c.types FROM ("
            " SELECT l.activity_id, count(DISTINCT l.client_id) AS n,"
            "  coalesce(jsonb_agg(DISTINCT t.value ORDER BY t.value) FILTER (WHERE t.value IS NOT NULL),"
            "  '[]'::jsonb) AS types"
            " FROM services_activity_clients l JOIN services_client cl ON cl.id = l.client_id"
            " LEFT JOIN LATERAL jsonb_array_elements_text(cl.person_types) AS t(value) ON true"
            " GROUP BY l.activity_id) c"
            " WHERE c.activity_id = a.id AND (a.client_count, a.client_types) IS DISTINCT FROM (c.n, c.types)")
        cursor.execute(
            "UPDATE services_activity a SET worker_count = w.n FROM ("
            " SELECT activity_id, count(*) AS n FROM services_activity_workers GROUP BY activity_id) w"
            " WHERE w.activity_id = a.id AND a.worker_count <> w.n")
        # Activities without any link (no UPDATE ... FROM row above).
        cursor.execute(
            "UPDATE services_activity a SET client_count = 0, client_types = '[]'::jsonb"
            " WHERE (a.client_count <> 0 OR a.client_types <> '[]'::jsonb)"
            " AND NOT EXISTS (SELECT 1 FROM services_activity_clients l WHERE l.activity_id = a.id)")
        cursor.execute(
            "UPDATE services_activity a SET worker_count = 0 WHERE a.worker_count <> 0"
            " AND NOT EXISTS (SELECT 1 FROM services_activity_workers l WHERE l.activity_id = a.id)")


def refresh_activity_provinces(activity_model=None, station_model=None, region_model=None) -> int:
    """Store on every activity the province of its station's region (`Activity.province`), where it differs:
    after a station moves, and after a region import that moved regions. The regions are read once and the
    provinces found in memory; one UPDATE per province. The models may be a migration's historical ones."""
    from accounts.models import LEVEL_RANK, RegionLevel

    activity_model = activity_model or Activity
    station_model = station_model or Station
    if region_model is None:
        from accounts.models import Region as region_model
    regions = {pk: (parent, level) for pk, parent, level in region_model.objects.values_list("pk", "parent_id", "level")}

    def province(pk):
        top = pk
        while pk is not None:
            parent, level = regions[pk]
            if level == RegionLevel.PROVINCE:
                return pk
            if LEVEL_RANK[level] < LEVEL_RANK[RegionLevel.PROVINCE]:
                return None
            top, pk = pk, parent
        return top

    by_province: dict[int, list[int]] = {}
    for station_id, region_id in station_model.objects.values_list("pk", "region_id"):
        found = province(region_id)
        if found is not None:
            by_province.setdefault(found, []).append(station_id)
    changed = 0
    for found, station_ids in by_province.items():
        for start in range(0, len(station_ids), 5000):
            changed += (activity_model.objects.filter(station_id__in=station_ids[start:start + 5000])
                        .exclude(province_id=found).update(province_id=found))
    return changed


def activity_save(*, station: Station, activity: Activity | None = None, category: str, data: dict, details: dict,
                  summary: dict, clients: Iterable[Client], workers: Iterable[StationWorker],
                  actor: User) -> Activity:
    """Create (activity=None) or update an activity of `station`, with its category's details and, once
    ended, its summary record (manual 2.6: 已结束 needs the summary; 进行中 has none)."""
    if category not in CATEGORIES:
        raise ActivityError(_("Unknown activity category."))
    spec = CATEGORIES[category]
    if station.is_deleted:
        raise ActivityError(_("This station has been deleted."))
    data = {k: v for k, v in data.items() if k in COMMON_FIELDS}
    clients, workers = list(clients), list(workers)
    with transaction.atomic():
        if activity is not None:
            activity = Activity.objects.select_for_update().get(pk=activity.pk)
            if activity.station_id != station.pk or activity.deleted_at is not None:
                raise ActivityError(_("This activity has been deleted."))
            if activity.category != category:
                raise ActivityError(_("The category of an activity cannot be changed."))
        _check_common(data)
        _check_people(station, activity, spec, data, clients, workers)
        new_month = _month(data["started_at"])
        if activity is None:
            _check_month_open(station, new_month)
        else:
            old_month = _month(activity.started_at)
            clients_changed = {c.pk for c in clients} != set(activity.clients.values_list("pk", flat=True))
            if new_month != old_month:
                _check_month_open(station, old_month)
                _check_month_open(station, new_month)
            elif clients_changed:
                _check_month_open(station, old_month)
        ended = data["status"] == ActivityStatus.ENDED
        details_json = _declared_values(spec.basic, details, required=True)
        # An activity in progress has no summary record: whatever was sent is dropped.
        summary_json = _declared_values(spec.summary, summary, required=True) if ended else {}
        if activity is None:
            activity = Activity(station=station, category=category, created_by=actor,
                                code=activity_code(station, data["started_at"]))
        for field, value in data.items():
            setattr(activity, field, value)
        activity.volunteer_count = activity.volunteer_count or 0
        activity.location = activity.location or ""
        activity.details = details_json
        activity.summary = summary_json
        activity._history_user = actor
        activity.save()
        activity.clients.set(clients)
        activity.workers.set(workers)
        refresh_activity_people([activity.pk])
        activity.refresh_from_db(fields=["client_count", "worker_count", "client_types"])
        aggregates.activity_changed(activity)
    return activity


def activity_delete(*, activity: Activity, actor: User) -> Activity:
    """Soft delete: the row and its code stay (history, and codes are never given out again)."""
    with transaction.atomic():
        activity = Activity.objects.select_for_update().get(pk=activity.pk)
        if activity.deleted_at is not None:
            raise ActivityError(_("This activity has already been deleted."))
        _check_month_open(activity.station, _month(activity.started_at))
        activity.deleted_at = timezone.now()
        activity._history_user = actor
        activity.save(update_fields=["deleted_at", "updated_at"])
        aggregates.activity_changed(activity)
    return activity
