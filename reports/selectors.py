"""Reads for the workbenches."""

from django.db.models import Count, Q

from accounts.models import Region, RegionLevel, User


def official_workbench_figures(*, user: User) -> dict:
    """Child regions with their subtree's region and official counts, plus subtree totals.

    Counting by MPTT range: one query for the subtree totals, one for the per-child figures.
    """
    root = user.region
    regions = Region.objects.within(root)
    totals = regions.aggregate(
        **{level: Count("pk", filter=Q(level=level)) for level in RegionLevel.values},
    )
    officials = User.objects.officials().within(root)
    children = list(root.get_children().exclude(level=RegionLevel.VILLAGE).order_by("code"))
    # The subtree's officials in one pass: totals and one conditional count per child range.
    figures = officials.aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(is_active=True)),
        must_change=Count("pk", filter=Q(is_active=True, must_change_password=True)),
        **{f"c{c.pk}": Count("pk", filter=Q(region__lft__gte=c.lft, region__rght__lte=c.rght)) for c in children},
    )
    official_totals = {key: figures[key] for key in ("total", "active", "must_change")}
    for c in children:
        c.official_count = figures[f"c{c.pk}"]
        c.descendant_total = c.get_descendant_count()
    return {
        "region_totals": {k: v for k, v in totals.items() if v},
        "official_totals": official_totals,
        "children": children,
        "stats": official_workbench_statistics(root=root, children=children),
    }


def official_review_counts(*, user: User) -> list[dict]:
    """Items waiting for this official's own action, per registered review queue (one query each)."""
    from swms.review_queues import waiting_counts

    return waiting_counts(user)


def station_workbench(*, station, period: str = "") -> dict:
    """The station workbench (manual 2.3): services in progress, current workers and the four
    statistics for a month ("YYYY-MM", default this month) or a year ("YYYY")."""
    import datetime

    from django.utils import timezone

    from services.models import Activity, ActivityStatus
    from services.stats import month_bounds, workbench_figures

    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    try:
        if len(period) == 4:
            year = int(period)
            start = datetime.datetime(year, 1, 1, tzinfo=tz)
            end = datetime.datetime(year + 1, 1, 1, tzinfo=tz)
            label = f"{year}"
        else:
            month = datetime.datetime.strptime(period, "%Y-%m").date() if period else today.replace(day=1)
            start, end = month_bounds(month)
            label = f"{month:%Y-%m}"
    except ValueError:
        start, end = month_bounds(today.replace(day=1))
        label = f"{today:%Y-%m}"
    ongoing = (Activity.objects.filter(station=station, status=ActivityStatus.ONGOING, deleted_at__isnull=True)
               .select_related("lead_worker").order_by("-started_at"))
    return {
        "station": station,
        "period_label": label,
        "period_month": label if len(label) == 7 else "",
        "this_year": f"{today.year}",
        "ongoing": ongoing[:10],
        "ongoing_count": ongoing.count(),
        "workers": station.workers.current().order_by("-is_head", "name")[:20],
        "worker_count": station.workers.current().count(),
        "charts": workbench_figures(station.pk, start, end),
    }


def official_workbench_statistics(*, root, children, today=None) -> dict:
    """The official workbench's figures (manual 2.3), read from the aggregates: stations, social
    workers, service records and clients of the subtree this month and this year, the charts by
    service category, and stations and workers per child region (four queries, or one cache read until
    the subtree's sums change)."""
    from django.utils import timezone

    from . import aggregates as A

    today = today or timezone.localdate()
    figures = A.cached(root, "workbench", lambda: _workbench_statistics(root, children, today),
                       today, *[c.pk for c in children])
    for c in children:
        c.station_count, c.worker_count = figures["children"].get(c.pk, (0, 0))
    return figures


def _workbench_statistics(root, children, today) -> dict:
    import datetime

    from services.models import ActivityCategory

    from . import aggregates as A
    from .statistics import sums, worker_states

    month, year = today.replace(day=1), datetime.date(today.year, 1, 1)
    measures = [A.ACTIVITIES, A.WORKER_TIMES, A.CLIENTS_SERVED, A.PERSON_TIMES]
    flows = sums(root, [], measures, first=year, last=month, by_day=True)
    stocks = sums(root, children, [A.STATIONS, A.CLIENTS])
    workers = worker_states(root, children, today)

    def flow(measure, since, category=None):
        return sum(v for (_c, m, cat, d), v in flows.items()
                   if m == measure and d >= since and (cat == category if category else cat != A.ALL))

    def served(since):
        return sum(v for (_c, m, cat, d), v in flows.items() if m == A.CLIENTS_SERVED and d >= since and cat == A.ALL)

    in_force = ("valid", "expiring")
    cats = list(ActivityCategory)
    return {
        # (stations, workers in force) per child region
        "children": {c.pk: (sum(v for (k, m, _cat), v in stocks.items() if k == c.pk and m == A.STATIONS),
                            sum(v for (k, _lvl, st), v in workers.items() if k == c.pk and st in in_force))
                     for c in children},
        "stations": sum(v for (_k, m, _cat), v in stocks.items() if m == A.STATIONS),
        "clients": sum(v for (_k, m, cat), v in stocks.items() if m == A.CLIENTS and cat == A.ALL),
        "workers": sum(v for (_k, _lvl, st), v in workers.items() if st in in_force),
        "expiring": sum(v for (_k, _lvl, st), v in workers.items() if st == "expiring"),
        "month": {"activities": flow(A.ACTIVITIES, month), "person_times": flow(A.PERSON_TIMES, month),
                  "clients_served": served(month), "worker_times": flow(A.WORKER_TIMES, month)},
        "year": {"activities": flow(A.ACTIVITIES, year), "person_times": flow(A.PERSON_TIMES, year),
                 "clients_served": served(year), "worker_times": flow(A.WORKER_TIMES, year)},
        "month_label": f"{month:%Y-%m}", "year_label": f"{today.year}",
        "charts": {
            "labels": [str(c.label) for c in cats],
            "activities_month": [flow(A.ACTIVITIES, month, c.value) for c in cats],
            "activities_year": [flow(A.ACTIVITIES, year, c.value) for c in cats],
            "person_times_year": [flow(A.PERSON_TIMES, year, c.value) for c in cats],
            "clients_year": [flow(A.CLIENTS_SERVED, year, c.value) for c in cats],
        },
    }
