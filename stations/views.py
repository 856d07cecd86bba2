"""Station pages: officials manage stations of their subtree; station accounts and operating
organizations keep their station's workers. State changes go through stations.services."""

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Prefetch, Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.reauth import recent_auth_required
from accounts.views import region_cascade, region_tree_root_for
from registration.models import Organization
from swms.decorators import official_required
from swms.domains import ServiceDomain
from swms.exports import Table, export_requested, export_response
from swms.id_search import id_hash, id_hash_filter, id_query_redirect
from swms.ids import normalize_ric
from swms.pagination import paginate
from swms.pii import mask_id_number, mask_phone
from swms.scoping import get_visible_or_404, within_requested_region

from . import services
from .current import SESSION_KEY, station_required, stations_for
from .forms import (
    DeleteForm,
    FundingFormSet,
    LeaveForm,
    ManualWorkerForm,
    OperatorFormSet,
    PasswordSetForm,
    StationForm,
    SyncedWorkerForm,
    WorkerLookupForm,
)
from .models import Station, StationOperator, StationWorker

# --- Officials: stations -------------------------------------------------------------------------


def _station_rows(request):
    """The scoped, filtered station list of the page and of its export."""
    user = request.user
    qs = Station.objects.visible_to(user).active()
    qs, region = within_requested_region(qs, request)
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(name__icontains=q) | Q(code__startswith=q))
    if request.GET.get("tier"):
        qs = qs.filter(tier=request.GET["tier"])
    today = timezone.localdate()
    qs = qs.select_related("region", "account").annotate(
        worker_count=Count("workers", filter=Q(workers__left_on__isnull=True))
    ).prefetch_related(
        Prefetch("operators", queryset=StationOperator.objects.current(today).select_related("organization"),
                 to_attr="current_operators")
    ).order_by("code")
    return qs, region, q


@login_required
@official_required
def station_list(request):
    qs, region, q = _station_rows(request)
    if export_requested(request):
        return export_response(request, station_table)
    page = paginate(request, qs, 25)
    return render(request, "stations/list.html", {
        "page": page, "region": region, "q": q, "tier": request.GET.get("tier", ""),
        "tiers": Station._meta.get_field("tier").choices,
        "tree_roots": region_tree_root_for(request.user), "list_url": "stations:list",
        "query": request.GET.urlencode(),
    })


def station_table(request) -> Table:
    """The filtered station list as an export table (also rebuilt by a background export job)."""
    qs, _region, _q = _station_rows(request)
    headers = [_("station code"), _("station name"), _("tier"), _("region"), _("address"), _("contact person"),
               _("contact phone"), _("founding date"), _("floor area (m²)"), _("workers"), _("operators")]

    def rows():
        for s in qs.iterator(chunk_size=500):
            yield [s.code, s.name, s.get_tier_display(), s.region.name, s.address, s.contact_person, mask_phone(s.contact_phone),
                   s.founded_on, s.floor_area, s.worker_count,
                   "、".join(o.organization.name for o in s.current_operators)]

    return Table(f"stations-{timezone.localdate():%Y%m%d}.xlsx", headers, rows(), _("Stations"), qs.count())


def _organizations_for(region):
    """Approved organizations of the province around `region` (the operator choices)."""
    province = region.ancestor_at("province") if region else None
    qs = Organization.objects.approved()
    return qs.within(province) if province else qs


def _station_form_context(request, station, form, funding, operators):
    return {"station": station, "form": form, "funding": funding, "operators": operators,
            "cascade": region_cascade(station.region if station else None,
                                      root=request.user.region if request.user.is_official else None,
                                      villages=True)}




def _formsets(request, station, region):
    prefix_f, prefix_o = "funding", "operators"
    organizations = _organizations_for(region or (request.user.region if request.user.is_official else None))
    if request.method == "POST":
        funding = FundingFormSet(request.POST, prefix=prefix_f)
        operators = OperatorFormSet(request.POST, prefix=prefix_o, form_kwargs={"organizations": organizations})
    else:
        funding = FundingFormSet(prefix=prefix_f, initial=[
            {"year": f.year, "amount": f.amount, "source": f.source} for f in station.funding.all()
        ] if station else [])
        operators = OperatorFormSet(prefix=prefix_o, form_kwargs={"organizations": organizations}, initial=[
            {"id": o.pk, "organization": o.organization_id, "status": o.status, "valid_from": o.valid_from,
             "valid_to": o.valid_to} for o in station.operators.all()
        ] if station else [])
    return funding, operators


def _rows(formset):
    return [f.cleaned_data for f in formset.forms if f.cleaned_data and not f.cleaned_data.get("DELETE")]


@login_required
@official_required
def station_edit(request, pk=None):
    station = get_visible_or_404(Station.objects.active(), request.user, pk=pk) if pk else None
    form = StationForm(request.POST or None, instance=station, user=request.user)
    region = station.region if station else None
    if request.method == "POST" and form.is_valid():
        region = form.cleaned_data["region"]
    funding, operators = _formsets(request, station, region)
    if request.method == "POST" and form.is_valid() and funding.is_valid() and operators.is_valid():
        data = {f: form.cleaned_data[f] for f in StationForm.Meta.fields}
        try:
            if station is None:
                station, password = services.station_create(
                    actor=request.user, data=data, funding=_rows(funding), operators=_rows(operators),
                )
                return render(request, "stations/created.html", {"station": station, "password": password})
            services.station_update(actor=request.user, station=station, data=data, funding=_rows(funding),
                                    operators=_rows(operators))
        except services.StationError as e:
            form.add_error(None, e.message)
        except ValidationError as e:
            form.add_error(None, e)
        except PermissionDenied as e:
            form.add_error(None, str(e))
        else:
            messages.success(request, _("Saved."))
            return redirect("stations:detail", pk=station.pk)
    return render(request, "stations/form.html", _station_form_context(request, station, form, funding, operators))


def _station_detail_context(station):
    workers = list(station.workers.select_related("social_worker").order_by("left_on", "-is_head", "name"))
    current = [w for w in workers if w.left_on is None]
    return {
        "station": station,
        "workers": workers,
        "current_workers": current,
        "warnings": services.staffing_warnings(station, current),
        "funding": station.funding.all(),
        "operators": station.operators.select_related("organization"),
        "domain_labels": [ServiceDomain(d).label for d in station.service_domains if d in ServiceDomain.values],
    }


@login_required
@official_required
def station_detail(request, pk):
    station = get_visible_or_404(Station.objects.select_related("region", "account", "deleted_by"), request.user, pk=pk)
    context = _station_detail_context(station)
    context.update({
        "password_form": PasswordSetForm(),
        "history": station.history.select_related("history_user").order_by("-history_date")[:20],
    })
    return render(request, "stations/detail.html", context)


@login_required
@official_required
def station_delete(request, pk):
    station = get_visible_or_404(Station.objects.active(), request.user, pk=pk)
    form = DeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.station_delete(actor=request.user, station=station, reason=form.cleaned_data["reason"])
        except services.StationError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("The station was deleted. Its records are kept."))
            return redirect("stations:list")
    return render(request, "stations/delete.html", {
        "station": station, "form": form,
        "worker_count": station.workers.current().count(),
        "operator_count": station.operators.current().count(),
    })


@require_POST
@login_required
@official_required
@recent_auth_required
def station_password(request, pk):
    station = get_visible_or_404(Station.objects.active().select_related("account"), request.user, pk=pk)
    form = PasswordSetForm(request.POST)
    if form.is_valid():
        try:
            password = services.station_password_set(
                actor=request.user, station=station, password=form.cleaned_data["password"], request=request
            )
        except ValidationError as e:
            messages.error(request, " ".join(e.messages))
        except services.StationError as e:
            messages.error(request, e.message)
        else:
            station.refresh_from_db()
            return render(request, "stations/created.html", {"station": station, "password": password, "reset": True})
    return redirect("stations:detail", pk=station.pk)


# --- Officials: station workers of the subtree -----------------------------------------------------


def _worker_overview(request):
    """The scoped, filtered station workers of the overview and of its export: (queryset, region, q, station_q)."""
    qs = StationWorker.objects.visible_to(request.user).filter(station__deleted_at__isnull=True)
    qs, region = within_requested_region(qs, request)
    qs = id_hash_filter(qs, "id_number", id_hash(request))  # an ID search arrives as its hash (swms.id_search)
    q = request.GET.get("q", "").strip()
    if q:
        ric = normalize_ric(q)
        qs = qs.filter(id_number=ric) if len(ric) == 18 else qs.filter(name__icontains=q)
    station_q = request.GET.get("station", "").strip()
    if station_q:
        qs = qs.filter(Q(station__name__icontains=station_q) | Q(station__code__startswith=station_q))
    if request.GET.get("status") != "all":
        qs = qs.current()
    # Current workers first (PostgreSQL sorts NULLs last unless told), the head at the top, then by name.
    qs = qs.select_related("station", "station__region").order_by(
        "station__code", F("left_on").asc(nulls_first=True), "-is_head", "name", "pk")
    return qs, region, q, station_q


@login_required
@official_required
def worker_overview(request):
    """社工人员 of every station in the subtree (manual 2.4): region tree, name or ID number, station."""
    moved = id_query_redirect(request)
    if moved is not None:
        return moved
    if export_requested(request):
        return export_response(request, worker_overview_table)
    qs, region, q, station_q = _worker_overview(request)
    page = paginate(request, qs, 25)
    return render(request, "stations/worker_overview.html", {
        "page": page, "region": region, "q": q, "station_q": station_q, "status": request.GET.get("status", ""),
        # An ID number searched for is not carried on into the export links.
        "id_search": len(normalize_ric(q)) == 18,
        "tree_roots": region_tree_root_for(request.user), "list_url": "stations:worker-overview",
    })


def worker_overview_table(request) -> Table:
    """The filtered station workers as an export table (also rebuilt by a background job); ID numbers and
    mobile numbers masked."""
    qs, _region, _q, _station_q = _worker_overview(request)
    headers = [_("Full name"), _("ID number"), _("mobile phone"), _("gender"), _("qualification level"),
               _("certificate number"), _("station head"), _("how added"), _("station code"), _("station"),
               _("region"), _("employer"), _("joined on"), _("left on"), _("reason for leaving")]
    levels = {value: str(label) for value, label in StationWorker._meta.get_field("level").choices}
    genders = {value: str(label) for value, label in StationWorker._meta.get_field("gender").choices}
    sources = {StationWorker.Source.SYNCED: _("Synced"), StationWorker.Source.MANUAL: _("Manual")}
    yes = _("Yes")

    def rows():
        for w in qs.iterator(chunk_size=2000):
            yield [w.name, mask_id_number(w.id_number), mask_phone(w.mobile), genders.get(w.gender, w.gender),
                   levels.get(w.level, w.level), w.certificate_no, yes if w.is_head else "",
                   sources.get(w.source, w.source), w.station.code, w.station.name, w.station.region.name,
                   w.employer, w.joined_on, w.left_on, w.left_reason]

    return Table(f"station-workers-{timezone.localdate():%Y%m%d}.xlsx", headers, rows(), _("Station workers"),
                 qs.count())


# --- Station side --------------------------------------------------------------------------------


@require_POST
@login_required
def station_switch(request):
    """The top-bar switcher of an organization operating several stations (manual 2.2)."""
    if request.user.kind != "organization":
        raise PermissionDenied
    station = get_visible_or_404(stations_for(request.user), request.user, pk=request.POST.get("station") or 0)
    request.session[SESSION_KEY] = station.pk
    request.__dict__.pop("_swms_current_station", None)
    messages.success(request, _("You are now working in %(station)s.") % {"station": station.name})
    return redirect(request.POST.get("next") if _safe_next(request) else "stations:workers")


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    nxt = request.POST.get("next", "")
    return bool(nxt) and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()},
                                                         require_https=request.is_secure())


@login_required
@station_required
def my_station(request):
    station = request.station
    return render(request, "stations/my_station.html", _station_detail_context(station))


@login_required
@station_required
def workers(request):
    station = request.station
    show = request.GET.get("show", "current")
    qs = station.workers.select_related("social_worker")
    if show != "all":
        qs = qs.current()
    page = paginate(request, qs.order_by("left_on", "-is_head", "name"), 25)
    return render(request, "stations/workers.html", {
        "station": station, "page": page, "show": show,
        "warnings": services.staffing_warnings(station),
    })


LOOKUP_SESSION_KEY = "swms_station_lookup"
LOOKUP_VALID_SECONDS = 15 * 60


@login_required
@station_required
def worker_add(request):
    """Add a worker from the registry (ID number → a registered worker linked to the station, synced) or by
    hand. The lookup is a POST (no ID number in URLs or logs), rate-limited and audited; it answers with the
    masked name, registration number and status only, and the same "not found" for an unknown number and
    for a worker not linked to the station. The worker found is kept in the session for the add."""
    station = request.station
    mode = request.POST.get("mode") if request.method == "POST" else None
    lookup = WorkerLookupForm(request.POST if mode == "lookup" else None, auto_id="lookup_%s")
    manual = ManualWorkerForm(request.POST if mode == "manual" else None, initial={"joined_on": timezone.localdate()})
    found = None  # the summary of the worker looked up (masked), never the profile itself
    searched = limited = False
    synced_form = None
    status = 200
    if mode == "lookup" and lookup.is_valid():
        request.session.pop(LOOKUP_SESSION_KEY, None)
        searched = True
        try:
            social_worker = services.worker_lookup(request=request, station=station,
                                                   id_number=lookup.cleaned_data["id_number"])
        except services.LookupThrottled:
            limited, status = True, 429  # the page says why
        else:
            if social_worker is not None:
                request.session[LOOKUP_SESSION_KEY] = {"station": station.pk, "worker": social_worker.pk,
                                                       "at": time.time()}
                found = services.lookup_summary(social_worker)
                synced_form = SyncedWorkerForm(initial={"joined_on": timezone.localdate()}, auto_id="synced_%s")
        lookup = WorkerLookupForm(auto_id="lookup_%s")  # the number typed is not echoed back
    elif mode == "synced":
        synced_form = SyncedWorkerForm(request.POST, auto_id="synced_%s")
        social_worker = _looked_up_worker(request, station)
        try:
            if social_worker is None:
                raise services.StationError(_("Look the worker up by ID number first."))
            found = services.lookup_summary(social_worker)  # shown again if the add is refused
            if synced_form.is_valid():
                services.station_worker_add_synced(
                    station=station, social_worker=social_worker, is_head=synced_form.cleaned_data["is_head"],
                    joined_on=synced_form.cleaned_data["joined_on"], actor=request.user,
                )
                request.session.pop(LOOKUP_SESSION_KEY, None)
                messages.success(request, _("%(name)s was added from the registry.") % {"name": social_worker.name})
                return redirect("stations:workers")
        except services.StationError as e:
            messages.error(request, e.message)
    elif mode == "manual" and manual.is_valid():
        data = {f: manual.cleaned_data[f] for f in ManualWorkerForm.Meta.fields}
        try:
            worker = services.station_worker_add_manual(station=station, data=data, actor=request.user)
        except services.StationError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, _("%(name)s was added.") % {"name": worker.name})
            return redirect("stations:workers")
    return render(request, "stations/worker_add.html", {
        "station": station, "lookup": lookup, "found": found, "searched": searched, "limited": limited,
        "synced_form": synced_form, "manual": manual,
    }, status=status)


def _looked_up_worker(request, station):
    """The worker this station looked up last in this session (within LOOKUP_VALID_SECONDS), if still
    registered and linked; None otherwise."""
    from registration.models import SocialWorker

    kept = request.session.get(LOOKUP_SESSION_KEY) or {}
    if kept.get("station") != station.pk or time.time() - kept.get("at", 0) > LOOKUP_VALID_SECONDS:
        return None
    worker = SocialWorker.objects.filter(pk=kept.get("worker")).first()
    if worker is None or not services.worker_linked_to_station(worker, station):
        return None
    return worker


def _station_worker(request, pk) -> StationWorker:
    return get_visible_or_404(StationWorker.objects.filter(station=request.station), request.user, pk=pk)


@login_required
@station_required
def worker_edit(request, pk):
    worker = _station_worker(request, pk)
    form = ManualWorkerForm(request.POST or None, instance=worker)
    if worker.left_on is not None:
        messages.info(request, _("This worker has left; the record is archived and read-only."))
    elif request.method == "POST" and form.is_valid():
        data = {f: form.cleaned_data[f] for f in ManualWorkerForm.Meta.fields if not form.fields[f].disabled}
        try:
            services.station_worker_update(worker=StationWorker.objects.get(pk=worker.pk), data=data,
                                           actor=request.user)
        except services.StationError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("stations:workers")
    return render(request, "stations/worker_edit.html", {
        "worker": worker, "form": form, "leave_form": LeaveForm(initial={"left_on": timezone.localdate()}),
        "history": worker.history.select_related("history_user").order_by("-history_date")[:10],
    })


@require_POST
@login_required
@station_required
def worker_leave(request, pk):
    worker = _station_worker(request, pk)
    form = LeaveForm(request.POST)
    if form.is_valid():
        try:
            services.station_worker_leave(worker=worker, left_on=form.cleaned_data["left_on"],
                                          reason=form.cleaned_data["reason"], actor=request.user)
        except services.StationError as e:
            messages.error(request, e.message)
            return redirect("stations:worker-edit", pk=pk)
        messages.success(request, _("%(name)s was archived as left.") % {"name": worker.name})
    else:
        messages.error(request, _("Give the leaving date."))
        return redirect("stations:worker-edit", pk=pk)
    return redirect("stations:workers")
