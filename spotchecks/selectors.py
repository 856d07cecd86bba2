"""Spot-check reads shared by the pages and the export."""

from __future__ import annotations

import django_filters
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from registration.models import ApplicationMaterial
from registration.selectors.profiles import profile_review_context
from swms.workflow import State, review_log_for

from .models import Rectification, SpotCheckBatch, SpotCheckItem, SpotCheckResult


class ItemFilter(django_filters.FilterSet):
    """The batch page's filters, shared with its export: city and result."""

    city = django_filters.ModelChoiceFilter(label=_("city"), field_name="city", queryset=Region.objects.none())
    result = django_filters.ChoiceFilter(label=_("result"), choices=SpotCheckResult.choices)

    class Meta:
        model = SpotCheckItem
        fields = ["city", "result"]

    def __init__(self, *args, cities, **kwargs):
        super().__init__(*args, **kwargs)
        self.filters["city"].queryset = cities


def batch_items(batch: SpotCheckBatch):
    return (SpotCheckItem.objects.filter(batch=batch)
            .select_related("city", "registration__worker", "registration__application", "checked_by",
                            "rectification")
            .order_by("city__code", "pk"))


def batch_cities(batch: SpotCheckBatch):
    """The cities with items in the batch, by code."""
    return Region.objects.filter(pk__in=SpotCheckItem.objects.filter(batch=batch).values("city_id")).order_by("code")


def batch_report(batch: SpotCheckBatch) -> dict:
    """Per city: items, checked, passed, problems, pass rate (of those checked) and open rectifications."""
    open_q = Q(rectification__isnull=False) & ~Q(rectification__status=State.APPROVED)
    rows = list(
        SpotCheckItem.objects.filter(batch=batch).values("city_id", "city__name", "city__code")
        .annotate(
            total=Count("pk"),
            passed=Count("pk", filter=Q(result=SpotCheckResult.PASS)),
            problems=Count("pk", filter=Q(result=SpotCheckResult.PROBLEM)),
            open=Count("pk", filter=open_q),
        ).order_by("city__code")
    )
    totals = {"total": 0, "passed": 0, "problems": 0, "open": 0}
    for row in rows:
        row["checked"] = row["passed"] + row["problems"]
        row["rate"] = round(100 * row["passed"] / row["checked"], 1) if row["checked"] else None
        for key in totals:
            totals[key] += row[key]
    totals["checked"] = totals["passed"] + totals["problems"]
    totals["rate"] = round(100 * totals["passed"] / totals["checked"], 1) if totals["checked"] else None
    return {"rows": rows, "totals": totals}


def open_rectifications(batch: SpotCheckBatch):
    return (Rectification.objects.filter(item__batch=batch).open()
            .select_related("office", "item__registration__worker", "item__city").order_by("created_at", "pk"))


def item_file(item: SpotCheckItem) -> dict:
    """The full file of a sampled registration: profile, application materials, both review steps and their
    comments, and the rectification if one was opened."""
    from .services import approving_offices

    registration = item.registration
    worker = registration.worker
    application = registration.application
    rectification = Rectification.objects.filter(item=item).select_related("office").first()
    return {
        "registration": registration,
        "worker": worker,
        "application": application,
        **profile_review_context(worker),
        "materials": list(ApplicationMaterial.objects.filter(application=application).order_by("kind"))
        if application else [],
        "log": list(review_log_for(application).select_related("actor", "actor_region")) if application else [],
        "offices": approving_offices(application),
        "rectification": rectification,
        "rectification_log": list(review_log_for(rectification).select_related("actor", "actor_region"))
        if rectification else [],
    }


def rectification_context(rectification: Rectification) -> dict:
    item = rectification.item
    return {"item": item, "registration": item.registration, "worker": item.registration.worker}
