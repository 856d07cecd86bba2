"""Aggregates for statistics (DESIGN.md, "The governing side"): counts per (region at the lowest
level, day, measure, category) in `reports.StatCount`.

Each measure has ONE source query (a GROUP BY over the records, optionally limited to some regions).
The nightly rebuild runs every source over everything; the services that change records call the
`*_changed` hooks below, which recompute, on commit, the buckets of the affected regions from the
same source query. Incremental and rebuilt tables therefore agree by construction (tested).

Measures (region = the record's own region):

| measure          | kind  | region                 | day                          | category                 |
|------------------|-------|------------------------|------------------------------|--------------------------|
| registrations    | flow  | registration.region    | month of created_at          | "<kind>:<level>"         |
| workers          | stock | worker.work_region     | valid_to of the current reg. | "<level>:<stored status>"|
| ce_met           | stock | worker.work_region     | valid_to of the current reg. | level (valid, CE met)    |
| stations         | stock | station.region         | month of created_at          | tier (active stations)   |
| staffed          | stock | station.region         | month of created_at          | tier (staffing rules met)|
| clients          | stock | station.region         | month of created_at          | person type, and "all"   |
| activities       | flow  | station.region         | month of started_at          | service category         |
| worker_times     | flow  | station.region         | month of started_at          | service category         |
| clients_served   | flow  | station.region         | month of started_at          | category, and "all"      |
| person_times     | flow  | station.region         | month of started_at          | service category         |
| summaries        | flow  | station.region         | the summary's month          | review status            |

- A worker's current registration is their latest (greatest valid_to). The stock keeps the stored
  status (valid / frozen / revoked) and the exact expiry day, so "valid / expiring within 90 days /
  expired" on any date is a sum over day ranges: no record is read at request time.
- Clients, activities and summaries count as the officials' lists do: not deleted, of stations not
  deleted. Clients served is distinct per month (clients belong to one station, so region sums are
  exact; over several months it is the sum of the monthly figures, like the monthly summaries).
"""

from __future__ import annotations

import datetime
import secrets
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal

from django.core.cache import cache
from django.db import connection, models, transaction
from django.db.models import Count, Exists, OuterRef
from django.db.models.functions import TruncMonth
from django.utils import timezone

from .models import StatCount, StatRollup

REGISTRATIONS = "registrations"
WORKERS = "workers"
STATIONS = "stations"
CLIENTS = "clients"
ACTIVITIES = "activities"
WORKER_TIMES = "worker_times"
CLIENTS_SERVED = "clients_served"
PERSON_TIMES = "person_times"
SUMMARIES = "summaries"
CE_MET = "ce_met"
STAFFED = "staffed"
ALL = "all"

Rows = dict[tuple[int, datetime.date, str, str], int]


def _day(value) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def _month(field: str):
    return TruncMonth(field, output_field=models.DateField())


def _limit(qs, path: str, region_ids):
    return qs if region_ids is None else qs.filter(**{f"{path}__in": list(region_ids)})


# --- Sources: one GROUP BY per measure ------------------------------------------------------------


def _registrations(region_ids, out: Rows) -> None:
    from registration.models import Registration

    qs = _limit(Registration.objects.all(), "region_id", region_ids)
    for r, d, kind, level, n in (qs.values_list("region_id", _month("created_at"), "kind", "level")
                                 .annotate(n=Count("pk")).order_by()):
        out[(r, _day(d), REGISTRATIONS, f"{kind}:{level}")] += n


def current_registrations():
    """Each worker's current registration: their latest one (no other with a later valid_to)."""
    from registration.models import Registration

    newer = Registration.objects.filter(worker=OuterRef("worker"), valid_to__gt=OuterRef("valid_to"))
    return Registration.objects.exclude(Exists(newer))


def _workers(region_ids, out: Rows) -> None:
    qs = _limit(current_registrations().filter(worker__work_region__isnull=False), "worker__work_region_id",
                region_ids)
    for r, d, level, status, n in (qs.values_list("worker__work_region_id", "valid_to", "level", "status")
                                   .annotate(n=Count("worker_id", distinct=True)).order_by()):
        out[(r, d, WORKERS, f"{level}:{status}")] += n


def _ce_met(region_ids, out: Rows) -> None:
    """Current valid registrations whose CE hours since valid_from meet the renewal's requirement
    (72 h assistant, 90 h intermediate and senior), by work region, expiry day and level: "meeting on
    a date" is the sum over expiry days from that date on. Recomputed with the workers' stock and
    whenever CE hours are booked (ce_changed)."""
    from django.db.models import Case, DecimalField, F, Q, Subquery, Sum, Value, When
    from django.db.models.functions import Coalesce

    from registration.models import CE_HOURS_REQUIRED, CERecord, Registration

    decimal = DecimalField(max_digits=9, decimal_places=1)
    hours = (CERecord.objects.counted().filter(worker=OuterRef("worker_id"), completed_on__gte=OuterRef("valid_from"))
             .order_by().values("worker").annotate(s=Sum("hours")).values("s"))
    need = Case(*[When(level=lvl, then=Value(h)) for lvl, h in CE_HOURS_REQUIRED.items()],
                default=Value(Decimal(0)), output_field=decimal)
    qs = _limit(current_registrations().filter(worker__work_region__isnull=False, status=Registration.Status.VALID),
                "worker__work_region_id", region_ids)
    qs = qs.annotate(have=Coalesce(Subquery(hours, output_field=decimal), Value(Decimal(0)), output_field=decimal),
                     need=need).filter(Q(have__gte=F("need")))
    for r, d, level, n in (qs.values_list("worker__work_region_id", "valid_to", "level")
                           .annotate(n=Count("worker_id", distinct=True)).order_by()):
        out[(r, d, CE_MET, level)] += n


def _stations(region_ids, out: Rows) -> None:
    from stations.models import Station

    qs = _limit(Station.objects.filter(deleted_at__isnull=True), "region_id", region_ids)
    for r, d, tier, n in qs.values_list("region_id", _month("created_at"), "tier").annotate(n=Count("pk")).order_by():
        out[(r, _day(d), STATIONS, tier)] += n
    _staffed(qs, out)


def _staffed(stations, out: Rows) -> None:
    """Stations meeting the Shenmu staffing rules today (stations.services.staffing_warnings, the one rule
    the station pages warn with): the stations and their current workers in two queries. Recomputed
    when a station or its workers change, and nightly (years of practice grow with time)."""
    from stations.models import StationWorker
    from stations.services import staffing_warnings

    stations = list(stations.only("pk", "region_id", "tier", "created_at"))
    workers = defaultdict(list)
    for w in StationWorker.objects.current().filter(station__in=[s.pk for s in stations]):
        workers[w.station_id].append(w)
    for s in stations:
        if not staffing_warnings(s, workers[s.pk]):
            out[(s.region_id, timezone.localtime(s.created_at).date().replace(day=1), STAFFED, s.tier)] += 1


def _clients(region_ids, out: Rows) -> None:
    from services.models import Client

    qs = _limit(Client.objects.filter(deleted_at__isnull=True, station__deleted_at__isnull=True),
                "station__region_id", region_ids)
    # Grouped by the whole JSON list of types (few distinct combinations), split here: a client of
    # two types counts under each, and once under "all".
    for r, d, types, n in (qs.values_list("station__region_id", _month("created_at"), "person_types")
                           .annotate(n=Count("pk")).order_by()):
        d = _day(d)
        out[(r, d, CLIENTS, ALL)] += n
        for t in set(types or []):
            out[(r, d, CLIENTS, t)] += n


def _activities(region_ids, out: Rows) -> None:
    from services.models import Activity

    live = dict(deleted_at__isnull=True, station__deleted_at__isnull=True)
    qs = _limit(Activity.objects.filter(**live), "station__region_id", region_ids)
    for r, d, c, n in (qs.values_list("station__region_id", _month("started_at"), "category")
                       .annotate(n=Count("pk")).order_by()):
        out[(r, _day(d), ACTIVITIES, c)] += n
    links = {f"activity__{k}": v for k, v in live.items()}
    workers = _limit(Activity.workers.through.objects.filter(**links), "activity__station__region_id", region_ids)
    for r, d, c, n in (workers.values_list("activity__station__region_id", _month("activity__started_at"),
                                           "activity__category").annotate(n=Count("pk")).order_by()):
        out[(r, _day(d), WORKER_TIMES, c)] += n
    clients = _limit(Activity.clients.through.objects.filter(**links), "activity__station__region_id", region_ids)
    for r, d, c, served, times in (
        clients.values_list("activity__station__region_id", _month("activity__started_at"), "activity__category")
        .annotate(served=Count("client_id", distinct=True), times=Count("pk")).order_by()
    ):
        out[(r, _day(d), CLIENTS_SERVED, c)] += served
        out[(r, _day(d), PERSON_TIMES, c)] += times
    for r, d, served in (clients.values_list("activity__station__region_id", _month("activity__started_at"))
                         .annotate(served=Count("client_id", distinct=True)).order_by()):
        out[(r, _day(d), CLIENTS_SERVED, ALL)] += served


def _summaries(region_ids, out: Rows) -> None:
    from services.models import MonthlySummary

    qs = _limit(MonthlySummary.objects.filter(station__deleted_at__isnull=True), "station__region_id", region_ids)
    for r, d, status, n in qs.values_list("station__region_id", "month", "status").annotate(n=Count("pk")).order_by():
        out[(r, d, SUMMARIES, status)] += n


# Sources by group; a group is what one kind of change can affect.
SOURCES = {
    REGISTRATIONS: ((REGISTRATIONS,), _registrations),
    WORKERS: ((WORKERS, CE_MET), lambda region_ids, out: (_workers(region_ids, out), _ce_met(region_ids, out))),
    STATIONS: ((STATIONS, STAFFED), _stations),
    CLIENTS: ((CLIENTS,), _clients),
    ACTIVITIES: ((ACTIVITIES, WORKER_TIMES, CLIENTS_SERVED, PERSON_TIMES), _activities),
    SUMMARIES: ((SUMMARIES,), _summaries),
}
STATION_GROUPS = (STATIONS, CLIENTS, ACTIVITIES, SUMMARIES)


def compute(groups: Iterable[str] = tuple(SOURCES), region_ids: Iterable[int] | None = None) -> Rows:
    """The buckets of `groups` computed from the records (all regions, or only `region_ids`)."""
    out: Rows = defaultdict(int)
    for group in groups:
        SOURCES[group][1](region_ids, out)
    return {k: v for k, v in out.items() if v}


def _write(rows: Rows) -> None:
    StatCount.objects.bulk_create(
        [StatCount(region_id=r, day=d, measure=m, category=c, value=v) for (r, d, m, c), v in rows.items()],
        batch_size=5000,
    )


def recompute(groups: Iterable[str], region_ids: Iterable[int]) -> None:
    """Replace the buckets of `groups` in `region_ids` by what the records say now (all months), and
    move the subtree sums (StatRollup) of those regions and their ancestors by the difference."""
    from accounts.models import Region

    groups = tuple(groups)
    region_ids = {r for r in region_ids if r is not None}
    if not region_ids:
        return
    measures = [m for g in groups for m in SOURCES[g][0]]
    with transaction.atomic():
        # One recompute of a region at a time: the difference is taken against the rows it replaces.
        list(Region.objects.select_for_update().filter(pk__in=region_ids).order_by("pk").values_list("pk"))
        own = StatCount.objects.filter(measure__in=measures, region_id__in=region_ids)
        delta: dict = defaultdict(int)
        for r, d, m, c, v in own.values_list("region_id", "day", "measure", "category", "value"):
            delta[(r, d, m, c)] -= v
        own.delete()
        rows = compute(groups, region_ids)
        _write(rows)
        for key, v in rows.items():
            delta[key] += v
        _rollup_add({k: v for k, v in delta.items() if v})


def _ancestors(region_ids) -> dict[int, list[int]]:
    """{region: [itself and every ancestor]} in one query over the tree."""
    from accounts.models import Region

    regions = list(Region.objects.filter(pk__in=set(region_ids)).values("pk", "tree_id", "lft", "rght"))
    if not regions:
        return {}
    q = models.Q()
    for r in regions:
        q |= models.Q(tree_id=r["tree_id"], lft__lte=r["lft"], rght__gte=r["rght"])
    nodes = list(Region.objects.filter(q).values("pk", "tree_id", "lft", "rght"))
    return {r["pk"]: [n["pk"] for n in nodes if n["tree_id"] == r["tree_id"] and n["lft"] <= r["lft"]
                      and n["rght"] >= r["rght"]] for r in regions}


def _rollup_add(delta: Rows) -> None:
    """Add the own-bucket differences to the subtree sums of each region and its ancestors (upsert)."""
    if not delta:
        return
    lineage = _ancestors({r for r, _d, _m, _c in delta})
    summed: dict = defaultdict(int)
    for (r, d, m, c), v in delta.items():
        for node in lineage.get(r, ()):
            summed[(node, d, m, c)] += v
    table = connection.ops.quote_name(StatRollup._meta.db_table)
    with connection.cursor() as cursor:
        cursor.executemany(
            # Table names from the models' own _meta, values as parameters.
            f"INSERT INTO {table} (region_id, day, measure, category, value) VALUES (%s, %s, %s, %s, %s) "  # noqa: S608
            f"ON CONFLICT (region_id, day, measure, category) DO UPDATE SET value = {table}.value + EXCLUDED.value",
            [(r, d, m, c, v) for (r, d, m, c), v in summed.items() if v],
        )
    nodes = {node for node, _d, _m, _c in summed}
    measures = {m for _n, _d, m, _c in summed}
    StatRollup.objects.filter(region_id__in=nodes, measure__in=measures, value=0).delete()
    transaction.on_commit(lambda: _bump(nodes))


def rollup_rebuild() -> int:
    """Every region's subtree sums from the leaf buckets, in one INSERT … SELECT over the MPTT ranges."""
    from accounts.models import Region

    rollup = connection.ops.quote_name(StatRollup._meta.db_table)
    count = connection.ops.quote_name(StatCount._meta.db_table)
    region = connection.ops.quote_name(Region._meta.db_table)
    with transaction.atomic():
        StatRollup.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {rollup} (region_id, day, measure, category, value) "  # noqa: S608
                f"SELECT a.id, s.day, s.measure, s.category, SUM(s.value) FROM {count} s "
                f"JOIN {region} r ON r.id = s.region_id "
                f"JOIN {region} a ON a.tree_id = r.tree_id AND a.lft <= r.lft AND a.rght >= r.rght "
                f"GROUP BY a.id, s.day, s.measure, s.category"
            )
        transaction.on_commit(lambda: _bump(()))
    return StatRollup.objects.count()


def rebuild() -> int:
    """Recompute the whole table from the records (nightly, and `manage.py rebuild_statistics`)."""
    rows = compute()
    with transaction.atomic():
        StatCount.objects.all().delete()
        _write(rows)
        rollup_rebuild()
    return len(rows)


# --- Versions, for caching what is read from the sums ----------------------------------------------

EPOCH_KEY = "stats:epoch"


def _version_key(region_id) -> str:
    return f"stats:version:{region_id}"


def renew(*keys: str) -> None:
    """Replace the version tokens under these cache keys. Tokens are random, not counters, so a token evicted
    from the cache and made anew never meets an entry cached under the old one. Each carries the time it was
    made ("<hex>t<milliseconds>"): what is computed for it must not come from a replica behind that time."""
    made = f"t{int(time.time() * 1000)}"
    cache.set_many({key: secrets.token_hex(8) + made for key in keys}, timeout=None)


def renewed_at(version: str) -> float | None:
    """The newest time (Unix seconds) at which a token of `version` (joined tokens) was renewed, if any."""
    times = [int(part.rpartition("t")[2]) / 1000 for part in version.split(".") if "t" in part]
    return max(times, default=None)


def token(*keys: str) -> str:
    """The version tokens under these cache keys, joined (one cache read; a missing token is made)."""
    values = cache.get_many(keys)
    for key in keys:
        if key not in values:
            cache.add(key, secrets.token_hex(8), timeout=None)
            values[key] = cache.get(key)
    return ".".join(str(values[k]) for k in keys)


def _bump(region_ids) -> None:
    """After a commit that moved the subtree sums of these regions (or all of them: a rebuild moves the
    epoch), what was cached from their sums is out of date."""
    renew(*([_version_key(r) for r in region_ids] or [EPOCH_KEY]))


def data_version(region_id) -> str:
    """A token that changes whenever the subtree sums of this region change."""
    return token(EPOCH_KEY, _version_key(region_id))


# A cached figure is replaced as soon as its region's sums change; the timeout only bounds what a change
# made outside the services (repaired by the nightly rebuild) leaves on a page.
CACHE_SECONDS = 3600


def cached(region, name: str, compute, *parts, version: str | None = None, timeout: int = CACHE_SECONDS):
    """`compute()`, cached under a data version (default: the region's, `data_version`), the region's place
    in the tree (a region added below it renumbers it), today's date (stocks are "as of today"), the language
    and the script prefix (labels and links in what is computed), and `parts`. `region` None: the country."""
    from django.urls import get_script_prefix
    from django.utils.translation import get_language

    place = [str(region.pk), str(region.tree_id), str(region.lft), str(region.rght)] if region is not None else ["all"]
    if version is None:
        version = data_version(region.pk)
    key = ":".join(["stats", name, *place, version, timezone.localdate().isoformat(), get_language() or "",
                    get_script_prefix(), *map(str, parts)])
    value = cache.get(key)
    if value is None:
        from swms.db_router import reads_from_replica

        # Sums read from the replica only once it has replayed the change this version stands for (#17).
        with reads_from_replica(fresh_after=renewed_at(version)):
            value = compute()
        cache.set(key, value, timeout=timeout)
    return value


# --- Hooks for the services (each a one-liner there) ------------------------------------------------


_pending = threading.local()


def touch(groups: Iterable[str], *region_ids) -> None:
    """Recompute `groups` for these regions once the current transaction commits. Touches within one
    transaction are merged (a monthly freeze of many rows recomputes each region once)."""
    pending = getattr(_pending, "buckets", None)
    if pending is None:
        pending = _pending.buckets = defaultdict(set)
    for group in groups:
        pending[group].update(r for r in region_ids if r is not None)
    transaction.on_commit(_flush)


def _flush() -> None:
    """Recompute whatever is pending (the first callback of a commit does it all, the others find
    nothing; entries left by a rolled-back transaction are recomputed harmlessly with the next)."""
    pending = getattr(_pending, "buckets", None)
    if not pending:
        return
    _pending.buckets = None
    by_regions: dict[frozenset, list[str]] = defaultdict(list)
    for group, ids in pending.items():
        by_regions[frozenset(ids)].append(group)
    for ids, groups in by_regions.items():
        recompute(groups, ids)


def registration_changed(registration) -> None:
    """A registration was created or changed status: its region's flow and its worker's stock."""
    from registration.models import SocialWorker

    work_region = SocialWorker.objects.filter(pk=registration.worker_id).values_list("work_region_id", flat=True)
    touch((REGISTRATIONS,), registration.region_id)
    touch((WORKERS,), *work_region)


def ce_changed(worker_ids) -> None:
    """CE hours were booked for these workers: the CE stock of their work regions."""
    from registration.models import SocialWorker

    touch((WORKERS,), *SocialWorker.objects.filter(pk__in=list(worker_ids)).values_list("work_region_id", flat=True))


def worker_moved(old_region_id, new_region_id) -> None:
    touch((WORKERS,), old_region_id, new_region_id)


def station_changed(station, old_region_id=None) -> None:
    """A station was created, edited (perhaps moved) or deleted: everything counted by its region."""
    touch(STATION_GROUPS, station.region_id, old_region_id)


def client_changed(client) -> None:
    touch((CLIENTS,), _station_region(client.station_id))


def station_workers_changed(station) -> None:
    """A station's workers changed: whether it meets the staffing rules."""
    touch((STATIONS,), station.region_id)


def activity_changed(activity) -> None:
    touch((ACTIVITIES,), _station_region(activity.station_id))


def summary_changed(summary) -> None:
    touch((SUMMARIES,), _station_region(summary.station_id))


def _station_region(station_id):
    from stations.models import Station

    return Station.objects.filter(pk=station_id).values_list("region_id", flat=True).first()
