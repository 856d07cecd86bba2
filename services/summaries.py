"""Monthly summaries (月度总结): drafted and submitted by the station, reviewed by its county."""

from __future__ import annotations

import datetime

from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from notices.services import message_send
from reports import aggregates
from swms.uploads import CheckedDocument
from swms.workflow import State, WorkflowError, review_approve, review_return, review_submit

from .models import MonthlySummary
from .stats import month_figures


class SummaryError(WorkflowError):
    """A summary action refused for a reason fit to show the user."""


def first_of_month(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def summary_start(*, station, month: datetime.date, actor) -> MonthlySummary:
    """The station's summary of `month` (a draft is created if there is none yet)."""
    month = first_of_month(month)
    if month > first_of_month(timezone.localdate()):
        raise SummaryError(_("A summary can only be written for the current or a past month."))
    existing = MonthlySummary.objects.filter(station=station, month=month).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            summary = MonthlySummary(station=station, month=month, created_by=actor, **month_figures(station.pk, month))
            summary._history_user = actor
            summary.save()
            aggregates.summary_changed(summary)
    except IntegrityError:  # created meanwhile by a colleague
        summary = MonthlySummary.objects.get(station=station, month=month)
    return summary


def _refresh_figures(summary: MonthlySummary) -> None:
    for name, value in month_figures(summary.station_id, summary.month).items():
        setattr(summary, name, value)


def summary_save(*, summary: MonthlySummary, text: str, document: CheckedDocument | None, actor,
                 remove_document: bool = False) -> MonthlySummary:
    """Save the draft (or the returned summary being fixed); the figures are recomputed, never typed."""
    if not summary.is_editable:
        raise SummaryError(_("This summary has been submitted and is locked until the review is done."))
    summary.text = (text or "").strip()
    if remove_document and summary.document:
        summary.document.delete(save=False)
        summary.document_name = ""
    if document is not None:
        if summary.document:
            summary.document.delete(save=False)
        summary.document.save(document.content.name, document.content, save=False)
        summary.document_name = document.original_name
    _refresh_figures(summary)
    summary._history_user = actor
    summary.save()
    return summary


def summary_submit(*, summary: MonthlySummary, actor) -> MonthlySummary:
    """Submit for review: the figures are frozen as of now and the summary is locked."""
    if not summary.text and not summary.document:
        raise SummaryError(_("Write the summary or attach the summary document before submitting."))
    with transaction.atomic():
        locked = MonthlySummary.objects.select_for_update().get(pk=summary.pk)
        if not locked.is_editable:
            raise SummaryError(_("This summary has been submitted and is locked until the review is done."))
        _refresh_figures(locked)
        locked.save(update_fields=["activity_count", "persons_served", "person_times", "updated_at"])
        summary.activity_count, summary.persons_served, summary.person_times = (
            locked.activity_count, locked.persons_served, locked.person_times)
        aggregates.summary_changed(summary)
        return review_submit(summary, actor=actor)


def summary_decide(*, summary: MonthlySummary, actor, action: str, comment: str = "") -> MonthlySummary:
    """The county approves, or returns it with a reason (it becomes editable for the station)."""
    with transaction.atomic():
        if action == "approve":
            summary = review_approve(summary, actor=actor, comment=comment)
            title = _("The monthly summary of %(month)s was approved") % {"month": f"{summary.month:%Y-%m}"}
        elif action == "return":
            summary = review_return(summary, actor=actor, comment=comment)
            title = _("The monthly summary of %(month)s was returned for changes") % {
                "month": f"{summary.month:%Y-%m}"}
        else:
            raise SummaryError(_("A monthly summary can be approved or returned."))
        aggregates.summary_changed(summary)
        station = summary.station
        if station.account_id:
            message_send(user=station.account, title=title, body=comment,
                         link=reverse("services:summary-detail", args=[summary.pk]))
    return summary


def missing_summaries(stations, month: datetime.date):
    """Stations (a scoped queryset) with no submitted or approved summary for `month`: no summary at
    all, a draft, or one returned and not yet resubmitted."""
    done = MonthlySummary.objects.filter(month=first_of_month(month), status__in=[State.SUBMITTED, State.APPROVED])
    return stations.exclude(pk__in=done.values("station_id"))
