"""Reads for an organization's home (工作台): its review status and what to do next, its staff count,
the stations it operates with their monthly-summary status, in a fixed number of queries."""

from __future__ import annotations

import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from swms.workflow import State, review_log_for

from ..models import Organization


def _month_starts(today: datetime.date) -> tuple[datetime.date, datetime.date]:
    this_month = today.replace(day=1)
    last_month = (this_month - datetime.timedelta(days=1)).replace(day=1)
    return this_month, last_month


def organization_next_step(organization: Organization) -> str:
    """What the organization does (or waits for) next, in one sentence."""
    status = organization.status
    region = organization.awaiting_region
    if status == State.DRAFT:
        return _("Check the registration data and submit it for review.")
    if status == State.SUBMITTED:
        return _("Waiting for the initial review by the civil-affairs office of %(region)s.") % {
            "region": region.name if region else "—"}
    if status == State.COUNTY_APPROVED:
        return _("The initial review was passed; waiting for the final review by the civil-affairs office of "
                 "%(region)s.") % {"region": region.name if region else "—"}
    if status == State.RETURNED:
        return _("The registration was returned: correct what the reviewer asks for and submit it again.")
    if status == State.REJECTED:
        return _("The registration was not approved. You may correct the data and submit it again.")
    return _("The registration is approved: civil-affairs offices can choose the organization as a station "
             "operator. Keep the staff list up to date.")


def organization_home(*, user, today: datetime.date | None = None) -> dict:
    """The organization home of `user` (an organization account): {"organization": None} if it has no
    registration yet."""
    from services.models import MonthlySummary
    from stations.current import stations_for
    from stations.models import StationOperator

    organization = (Organization.objects.owned_by(user)
                    .select_related("region", "initial_region", "final_region").first())
    if organization is None:
        return {"organization": None}
    today = today or timezone.localdate()
    this_month, last_month = _month_starts(today)

    comment = ""
    if organization.status in (State.RETURNED, State.REJECTED):
        last = review_log_for(organization).order_by("-created_at", "-id").first()
        comment = last.comment if last else ""

    operators = list(
        StationOperator.objects.filter(organization=organization, station__deleted_at__isnull=True)
        .select_related("station", "station__region")
        .order_by("station__code", "-valid_to")
    )
    station_ids = {o.station_id for o in operators}
    summaries = {
        (s.station_id, s.month): s
        for s in MonthlySummary.objects.filter(station_id__in=station_ids, month__in=(this_month, last_month))
        .only("id", "station_id", "month", "status")
    }
    workable = set(stations_for(user).filter(pk__in=station_ids).values_list("pk", flat=True)) if station_ids else set()
    # One row per station; a station operated over several periods lists each period (validity).
    rows: dict[int, dict] = {}
    for operator in operators:
        row = rows.setdefault(operator.station_id, {
            "station": operator.station, "periods": [], "current": False,
            "can_work": operator.station_id in workable,
            "months": [
                {"month": month, "summary": summaries.get((operator.station_id, month))}
                for month in (last_month, this_month)
            ],
        })
        row["periods"].append(operator)
        row["current"] = row["current"] or operator.is_current(today)
    return {
        "organization": organization,
        "next_step": organization_next_step(organization),
        "return_comment": comment,
        "staff_count": organization.staff.filter(left_on__isnull=True).count(),
        "station_rows": list(rows.values()),
        "this_month": this_month,
        "last_month": last_month,
    }
