"""Figures computed from a station's activities: the monthly summary's three numbers and the four
statistics of the station workbench (manual 2.3). Each is a handful of aggregate queries on the
indexed (station, started_at) range, never a Python loop over rows."""

from __future__ import annotations

import datetime
from collections import Counter

from django.db.models import Count

from .models import Activity, ActivityCategory, Client, PersonType


def month_bounds(month: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """[first moment of the month, first moment of the next) in the current time zone."""
    from django.utils import timezone

    start = month.replace(day=1)
    end = (start + datetime.timedelta(days=32)).replace(day=1)
    tz = timezone.get_current_timezone()
    return (datetime.datetime.combine(start, datetime.time.min, tzinfo=tz),
            datetime.datetime.combine(end, datetime.time.min, tzinfo=tz))


def activities_between(station_id: int, start: datetime.datetime, end: datetime.datetime):
    """The station's activities that started in [start, end), deleted ones left out."""
    return Activity.objects.filter(station_id=station_id, started_at__gte=start, started_at__lt=end,
                                   deleted_at__isnull=True)


def month_figures(station_id: int, month: datetime.date) -> dict:
    """The monthly summary's figures: activities started that month, distinct clients they served,
    and person-times (each client counted once per activity they took part in)."""
    activities = activities_between(station_id, *month_bounds(month))
    links = Activity.clients.through.objects.filter(activity__in=activities.values("pk"))
    return {
        "activity_count": activities.count(),
        "persons_served": links.values("client_id").distinct().count(),
        "person_times": links.count(),
    }


def workbench_figures(station_id: int, start: datetime.datetime, end: datetime.datetime) -> dict:
    """The four statistics of the station workbench for a period, ready for Chart.js:
    activity count per category, worker participation person-times per category, clients served per
    category, and person-times per client type."""
    activities = activities_between(station_id, start, end)
    ids = activities.values("pk")
    per_category = dict(activities.values_list("category").annotate(n=Count("pk")))
    worker_links = Activity.workers.through.objects.filter(activity__in=ids)
    workers = dict(worker_links.values_list("activity__category").annotate(n=Count("pk")))
    client_links = Activity.clients.through.objects.filter(activity__in=ids)
    clients = dict(client_links.values_list("activity__category").annotate(n=Count("client_id", distinct=True)))
    by_type: Counter = Counter()
    # One row per client with the number of activities they took part in; types are a JSON list. The
    # totals follow from the same rows: one client per row, its links summed.
    clients_served = person_times = 0
    for types, times in (
        Client.objects.filter(pk__in=client_links.values("client_id"))
        .annotate(times=Count("activities", filter=_in_activities(ids)))
        .values_list("person_types", "times")
    ):
        clients_served += 1
        person_times += times
        for t in types or [PersonType.OTHER]:
            by_type[t] += times
    categories = list(ActivityCategory)
    return {
        "labels": [str(c.label) for c in categories],
        "activities": [per_category.get(c.value, 0) for c in categories],
        "worker_times": [workers.get(c.value, 0) for c in categories],
        "clients": [clients.get(c.value, 0) for c in categories],
        "type_labels": [str(t.label) for t in PersonType],
        "type_times": [by_type.get(t.value, 0) for t in PersonType],
        "totals": {
            "activities": sum(per_category.values()),
            "worker_times": sum(workers.values()),
            "clients": clients_served,
            "person_times": person_times,
        },
    }


def _in_activities(ids):
    from django.db.models import Q

    return Q(activities__in=ids)
