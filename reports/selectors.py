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
    official_totals = officials.aggregate(
        total=Count("pk"),
        active=Count("pk", filter=Q(is_active=True)),
        must_change=Count("pk", filter=Q(is_active=True, must_change_password=True)),
    )
    children = list(root.get_children().exclude(level=RegionLevel.VILLAGE).order_by("code"))
    if children:
        # Officials per child subtree in one query: one conditional count per child range.
        per_child = officials.aggregate(
            **{
                f"c{c.pk}": Count("pk", filter=Q(region__lft__gte=c.lft, region__rght__lte=c.rght))
                for c in children
            }
        )
        for c in children:
            c.official_count = per_child[f"c{c.pk}"]
            c.descendant_total = c.get_descendant_count()
    return {
        "region_totals": {k: v for k, v in totals.items() if v},
        "official_totals": official_totals,
        "children": children,
    }


def official_review_counts(*, user: User) -> list[dict]:
    """Items waiting for this official's own action, per registered review queue (two queries each)."""
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
