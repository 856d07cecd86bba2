"""Monthly summaries: the station writes and submits; officials review (the generic review queue of
swms/review_queues.py) and watch completeness — which stations have not submitted for a month."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, OuterRef, Subquery
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.views import region_tree_root_for
from stations.current import station_required
from stations.models import Station
from swms.decorators import official_required
from swms.exports import Table, export_requested, export_response
from swms.pagination import paginate
from swms.pii import mask_phone
from swms.scoping import get_visible_or_404, within_requested_region
from swms.uploads import serve_private_file
from swms.workflow import State, WorkflowError, review_log_for

from . import summaries
from .forms_summaries import MonthForm, SummaryForm
from .models import MonthlySummary
from .stats import month_figures


def _previous_month(today: datetime.date) -> datetime.date:
    return (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)


# --- Station side --------------------------------------------------------------------------------


@login_required
@station_required
def summary_list(request):
    station = request.station
    rows = MonthlySummary.objects.filter(station=station).order_by("-month")
    page = paginate(request, rows, 24)
    today = timezone.localdate()
    return render(request, "services/summaries/list.html", {
        "station": station, "page": page,
        "month_form": MonthForm(initial={"month": _previous_month(today)}),
        "this_month": month_figures(station.pk, today.replace(day=1)),
    })


@require_POST
@login_required
@station_required
def summary_new(request):
    form = MonthForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose the month."))
        return redirect("services:summary-list")
    try:
        summary = summaries.summary_start(station=request.station, month=form.cleaned_data["month"], actor=request.user)
    except WorkflowError as e:
        messages.error(request, e.message)
        return redirect("services:summary-list")
    if not summary.is_editable:
        return redirect("services:summary-detail", pk=summary.pk)
    return redirect("services:summary-edit", pk=summary.pk)


def _own_summary(request, pk):
    return get_visible_or_404(MonthlySummary.objects.filter(station=request.station), request.user, pk=pk)


@login_required
@station_required
def summary_edit(request, pk):
    summary = _own_summary(request, pk)
    if not summary.is_editable:
        messages.info(request, _("This summary has been submitted and is locked until the review is done."))
        return redirect("services:summary-detail", pk=summary.pk)
    form = SummaryForm(request.POST or None, request.FILES or None, initial={"text": summary.text})
    if request.method == "POST" and form.is_valid():
        try:
            summaries.summary_save(summary=summary, text=form.cleaned_data["text"],
                                   document=form.cleaned_data["document"], actor=request.user,
                                   remove_document=form.cleaned_data["remove_document"])
            if request.POST.get("action") == "submit":
                summaries.summary_submit(summary=summary, actor=request.user)
                messages.success(request, _("The summary was submitted to %(region)s for review.")
                                 % {"region": summary.final_region.name})
                return redirect("services:summary-detail", pk=summary.pk)
            messages.success(request, _("The draft was saved."))
            return redirect("services:summary-edit", pk=summary.pk)
        except WorkflowError as e:
            form.add_error(None, e.message)
    return render(request, "services/summaries/edit.html", {
        "summary": summary, "form": form, "figures": month_figures(summary.station_id, summary.month),
        "log": review_log_for(summary).select_related("actor", "actor_region"),
    })


@login_required
@station_required
def summary_detail(request, pk):
    summary = _own_summary(request, pk)
    return render(request, "services/summaries/detail.html", {
        "summary": summary, "log": review_log_for(summary).select_related("actor", "actor_region"),
    })


@login_required
def summary_document(request, pk):
    """The attached document, for the station and for officials in scope."""
    summary = get_visible_or_404(MonthlySummary, request.user, pk=pk)
    return serve_private_file(summary.document, download_name=summary.document_name or None, inline=False)


# --- Officials: completeness ---------------------------------------------------------------------


def _completeness(request):
    """The month asked for and the scoped stations expected to have summarized it, with the stations that have not
    (each with its summary's status so far, if any), for the page and its export:
    (form, month, stations, missing, region)."""
    form = MonthForm(request.GET or None, initial={"month": _previous_month(timezone.localdate())})
    month = form.cleaned_data["month"] if form.is_valid() else _previous_month(timezone.localdate())
    month = month.replace(day=1)
    stations = Station.objects.visible_to(request.user).active().filter(created_at__date__lt=_next_month(month))
    stations, region = within_requested_region(stations, request)
    so_far = MonthlySummary.objects.filter(station=OuterRef("pk"), month=month).values("status")[:1]
    missing = (summaries.missing_summaries(stations, month).select_related("region")
               .annotate(summary_status=Subquery(so_far)).order_by("code"))
    return form, month, stations, missing, region


@login_required
@official_required
def summary_completeness(request):
    """Which stations of the subtree have not submitted the month's summary (like DHIS2's data-set
    completeness): totals, the rate, and the missing stations with what they have so far."""
    if export_requested(request):
        return export_response(request, summary_completeness_table)
    user = request.user
    form, month, stations, missing, region = _completeness(request)
    counts = dict(
        MonthlySummary.objects.filter(station__in=stations.values("pk"), month=month)
        .values_list("status").annotate(n=Count("pk"))
    )
    total = stations.count()
    submitted = counts.get(State.SUBMITTED, 0) + counts.get(State.APPROVED, 0)
    page = paginate(request, missing, 50)
    return render(request, "services/summaries/completeness.html", {
        "form": form, "month": month, "region": region, "page": page, "total": total, "submitted": submitted,
        "approved": counts.get(State.APPROVED, 0), "returned": counts.get(State.RETURNED, 0),
        "rate": round(submitted * 100 / total) if total else None,
        "tree_roots": region_tree_root_for(user), "list_url": "services:summary-completeness",
    })


def summary_completeness_table(request) -> Table:
    """The stations that have not submitted the month's summary, as an export table; contact phones masked."""
    _form, month, _stations, missing, _region = _completeness(request)
    headers = [_("month"), _("station code"), _("station name"), _("region"), _("contact person"),
               _("contact phone"), _("Status")]
    states = {State.DRAFT: _("Draft, not submitted"), State.RETURNED: _("Returned, not resubmitted")}
    not_started = _("Not started")
    label = f"{month:%Y-%m}"

    def rows():
        for s in missing.iterator(chunk_size=2000):
            yield [label, s.code, s.name, s.region.name, s.contact_person, mask_phone(s.contact_phone),
                   states.get(s.summary_status, not_started)]

    return Table(f"summaries-missing-{month:%Y%m}.xlsx", headers, rows(), _("Stations that have not submitted"),
                 missing.count())


def _next_month(month: datetime.date) -> datetime.date:
    return (month + datetime.timedelta(days=32)).replace(day=1)
