"""Service activity pages (manual 2.6): one set of views for all seven categories, the forms and detail
pages built from services/categories.py. Station-side pages act on `request.station`; officials read the
activities of their subtree. Writes go through services.activities."""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.views import region_tree_root_for
from stations.current import station_required
from swms.decorators import official_required
from swms.domains import ServiceDomain
from swms.exports import Table, export_requested, export_response
from swms.pagination import paginate
from swms.pii import mask_id_number, mask_phone
from swms.scoping import get_visible_or_404, within_requested_region

from .activities import ActivityError, activity_delete, activity_save
from .categories import CATEGORIES, Field
from .forms_activities import PICKER_LIMIT, ActivityFilter, activity_form_class, client_picker_matches
from .models import Activity, ActivityStatus, Client, PersonType

PAGE_SIZE = 25


def _category(key: str):
    try:
        return CATEGORIES[key]
    except KeyError:
        raise Http404 from None


def _display(field: Field, value):
    """A stored JSON value as the detail page shows it."""
    if value in (None, ""):
        return ""
    try:
        if field.kind == "datetime":
            return timezone.localtime(datetime.datetime.fromisoformat(value)).strftime("%Y-%m-%d %H:%M")
        if field.kind == "date":
            return datetime.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        return str(value)
    if field.kind == "choice":
        return dict(field.choices).get(value, value)
    return value


def _field_rows(fields, values: dict) -> list[dict]:
    return [{"label": f.label, "value": _display(f, values.get(f.name)), "kind": f.kind} for f in fields]


def _detail_context(activity: Activity) -> dict:
    spec = CATEGORIES[activity.category]
    type_labels = dict(PersonType.choices)
    clients = list(activity.clients.order_by("name", "pk"))
    for c in clients:
        c.type_labels = [type_labels.get(t, t) for t in c.person_types or []]
    return {
        "activity": activity,
        "category": spec,
        "basic_rows": _field_rows(spec.basic, activity.details),
        "summary_rows": _field_rows(spec.summary, activity.summary),
        "domain_labels": [ServiceDomain(d).label for d in activity.service_domains if d in ServiceDomain.values],
        "clients": clients,
        "workers": activity.workers.order_by("name", "pk"),
        "ended": activity.status == ActivityStatus.ENDED,
    }


# --- Station side --------------------------------------------------------------------------------


def _station_activity(request, pk) -> Activity:
    qs = Activity.objects.filter(station=request.station).active().select_related("lead_worker", "station")
    return get_visible_or_404(qs, request.user, pk=pk)


@login_required
@station_required
def activity_overview(request):
    """服务记录总览 (manual 2.6.1): counts per category, each leading to that category's list."""
    counts = {
        row["category"]: row
        for row in Activity.objects.filter(station=request.station).active().order_by().values("category").annotate(
            total=Count("pk"), ongoing=Count("pk", filter=Q(status=ActivityStatus.ONGOING)),
        )
    }
    rows = [{"category": spec, "total": counts.get(key, {}).get("total", 0),
             "ongoing": counts.get(key, {}).get("ongoing", 0)} for key, spec in CATEGORIES.items()]
    return render(request, "services/activities/overview.html", {
        "station": request.station, "rows": rows,
        "total": sum(r["total"] for r in rows), "ongoing": sum(r["ongoing"] for r in rows),
    })


@login_required
@station_required
def activity_list(request, category):
    spec = _category(category)
    qs = Activity.objects.filter(station=request.station, category=spec.key).active()
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__icontains=q))
    status = request.GET.get("status", "")
    if status in ActivityStatus.values:
        qs = qs.filter(status=status)
    qs = qs.select_related("lead_worker").order_by("-started_at", "-id")
    page = paginate(request, qs, PAGE_SIZE)
    return render(request, "services/activities/list.html", {
        "station": request.station, "category": spec, "page": page, "q": q, "status": status,
        "statuses": ActivityStatus.choices,
    })


def _save_from_form(request, form, spec, activity=None):
    return activity_save(
        station=request.station, activity=activity, category=spec.key, data=form.common_data(),
        details=form.details(), summary=form.summary(), clients=form.cleaned_data.get("clients") or [],
        workers=form.cleaned_data.get("workers") or [], actor=request.user,
    )


@login_required
@station_required
def activity_new(request, category):
    spec = _category(category)
    form_class = activity_form_class(spec)
    form = form_class(request.POST or None, station=request.station,
                      initial={"contact_phone": request.station.contact_phone, "status": ActivityStatus.ONGOING,
                               "volunteer_count": 0})
    if request.method == "POST" and form.is_valid():
        try:
            activity = _save_from_form(request, form, spec)
        except ActivityError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("The activity %(code)s was saved.") % {"code": activity.code})
            return redirect("services:activity-detail", pk=activity.pk)
    return render(request, "services/activities/form.html", {"form": form, "category": spec, "activity": None})


@login_required
@station_required
def activity_client_search(request):
    """The activity form's client picker (htmx): at most PICKER_LIMIT of the current station's clients
    matching `q`, leaving out those already chosen; ID numbers and phones masked. The picker POSTs what is typed,
    so an ID number never travels in a query string (P4); GET still answers."""
    params = request.POST if request.method == "POST" else request.GET
    q = params.get("q", "").strip()[:50]
    chosen = [v for v in params.getlist("clients") if v.isdigit()]
    clients = Client.objects.visible_to(request.user).filter(station=request.station, deleted_at__isnull=True)
    found = list(client_picker_matches(clients, q).exclude(pk__in=chosen)
                 .only("pk", "name", "id_number", "phone").order_by("name", "pk")[:PICKER_LIMIT + 1])
    for c in found:
        c.masked_id = mask_id_number(c.id_number)
        c.masked_phone = mask_phone(c.phone)
    return render(request, "services/activities/_client_results.html", {
        "q": q, "matches": found[:PICKER_LIMIT], "more": len(found) > PICKER_LIMIT, "limit": PICKER_LIMIT,
    })


@login_required
@station_required
def activity_detail(request, pk):
    activity = _station_activity(request, pk)
    context = _detail_context(activity)
    context["history"] = activity.history.select_related("history_user").order_by("-history_date")[:10]
    return render(request, "services/activities/detail.html", context)


@login_required
@station_required
def activity_edit(request, pk):
    activity = _station_activity(request, pk)
    spec = CATEGORIES[activity.category]
    form = activity_form_class(spec)(request.POST or None, station=request.station, activity=activity)
    if request.method == "POST" and form.is_valid():
        try:
            _save_from_form(request, form, spec, activity)
        except ActivityError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("services:activity-detail", pk=activity.pk)
    return render(request, "services/activities/form.html", {"form": form, "category": spec, "activity": activity})


@login_required
@station_required
def activity_delete_view(request, pk):
    activity = _station_activity(request, pk)
    if request.method == "POST":
        try:
            activity_delete(activity=activity, actor=request.user)
        except ActivityError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, _("The activity %(code)s was deleted.") % {"code": activity.code})
        return redirect("services:activity-list", category=activity.category)
    return render(request, "services/activities/delete.html", {"activity": activity,
                                                                "category": CATEGORIES[activity.category]})


# --- Officials: activities of the subtree, read-only -------------------------------------------------


def _official_activities(user):
    """What an official may read: activities of their subtree, not deleted, of stations not deleted."""
    return Activity.objects.visible_to(user).active().filter(station__deleted_at__isnull=True)


def _official_rows(request):
    user = request.user
    qs = _official_activities(user)
    qs, region = within_requested_region(qs, request)
    filterset = ActivityFilter(request.GET or None, queryset=qs)
    qs = filterset.qs.select_related("station", "station__region", "lead_worker").order_by("-started_at", "-id")
    return qs, region, filterset


@login_required
@official_required
def official_activity_list(request):
    """服务活动管理 for officials (manual 2.6): region tree, search, the filter panel, Excel export."""
    qs, region, filterset = _official_rows(request)
    if export_requested(request):
        return export_response(request, activity_table)
    page = paginate(request, qs, PAGE_SIZE)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    return render(request, "services/activities/official_list.html", {
        "page": page, "region": region, "filter": filterset, "query": query.urlencode(),
        "tree_roots": region_tree_root_for(request.user), "list_url": "services:official-activity-list",
    })


def activity_table(request) -> Table:
    """The officials' filtered activity list as an export table (also rebuilt by a background job)."""
    qs, _region, _filterset = _official_rows(request)
    headers = [_("service code"), _("category"), _("activity name"), _("status"), _("station"), _("station code"),
               _("region"), _("responsible worker"), _("contact phone"), _("service domains"), _("start"), _("end"),
               _("location"), _("clients served"), _("workers taking part"), _("volunteers")]
    tz = timezone.get_current_timezone()
    # Labels resolved once per export; rows as tuples, not model instances (bench/bench_exports.py).
    domains = {value: str(label) for value, label in ServiceDomain.choices}
    categories = {value: str(label) for value, label in Activity._meta.get_field("category").choices}
    statuses = {value: str(label) for value, label in Activity._meta.get_field("status").choices}
    columns = ("code", "category", "name", "status", "station__name", "station__code", "station__region__name",
               "lead_worker__name", "contact_phone", "service_domains", "started_at", "ended_at", "location",
               "client_count", "worker_count", "volunteer_count")

    def rows():
        for (code, category, name, status, station_name, station_code, region_name, lead_name, contact_phone,
             service_domains, started_at, ended_at, location, client_count, worker_count,
             volunteer_count) in qs.values_list(*columns).iterator(chunk_size=2000):
            yield [code, categories.get(category, category), name, statuses.get(status, status), station_name,
                   station_code, region_name, lead_name, contact_phone,
                   "、".join(domains.get(d, d) for d in service_domains or ()),
                   started_at.astimezone(tz), ended_at.astimezone(tz) if ended_at else None,
                   location, client_count, worker_count, volunteer_count]

    return Table(f"activities-{timezone.localdate():%Y%m%d}.xlsx", headers, rows(), _("Service activities"),
                 qs.count())


@login_required
@official_required
def official_activity_detail(request, pk):
    qs = _official_activities(request.user).select_related("station", "station__region", "lead_worker")
    activity = get_visible_or_404(qs, request.user, pk=pk)
    context = _detail_context(activity)
    context["official"] = True
    return render(request, "services/activities/detail.html", context)
