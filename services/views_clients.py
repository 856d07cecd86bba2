"""Clients (服务对象, manual 2.5): the station adds, views, edits and deletes its clients; officials
read the clients of their subtree. Writes go through services.clients."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.views import region_tree_root_for
from stations.current import station_required
from swms.decorators import official_required
from swms.exports import Table, export_requested, export_response
from swms.id_search import id_hash, id_hash_filter, id_query_redirect
from swms.pagination import paginate
from swms.pii import mask_id_number, mask_phone
from swms.scoping import get_visible_or_404, within_requested_region

from .clients import CLIENT_FIELDS, ClientError, client_delete, client_save
from .forms_clients import ClientForm, DeleteForm, OfficialClientFilter, StationClientFilter
from .models import Activity, Client, PersonType

PAGE_SIZE = 25
_TYPE_LABELS = dict(PersonType.choices)


def _with_type_labels(clients):
    """Attach the person types' labels (the list stores the values)."""
    for c in clients:
        c.person_type_labels = [_TYPE_LABELS[t] for t in c.person_types if t in _TYPE_LABELS]
    return clients


def _activity_url(name: str) -> str:
    """The activity page's URL name if that page exists yet (activities are built separately)."""
    try:
        reverse(name, kwargs={"pk": 1})
    except NoReverseMatch:
        return ""
    return name


def _activities_page(request, client: Client):
    qs = (Activity.objects.filter(clients=client, deleted_at__isnull=True)
          .only("pk", "code", "category", "name", "status", "started_at").order_by("-started_at", "-id"))
    return paginate(request, qs, PAGE_SIZE)


# --- Station side --------------------------------------------------------------------------------


def _station_clients(request):
    """Clients of the current station, through the one scoping rule."""
    return Client.objects.visible_to(request.user).filter(station=request.station)


@login_required
@station_required
def client_list(request):
    # An ID number typed into the search box leaves the address as its keyed hash (swms.id_search).
    moved = id_query_redirect(request)
    if moved is not None:
        return moved
    clients = id_hash_filter(_station_clients(request).active(), "id_number", id_hash(request))
    filterset = StationClientFilter(request.GET or None, queryset=clients)
    qs = filterset.qs.order_by("-created_at", "-id")
    page = paginate(request, qs, PAGE_SIZE)
    _with_type_labels(page.object_list)
    return render(request, "services/clients/list.html", {
        "station": request.station, "page": page, "filter": filterset,
    })


def _form_data(form) -> dict:
    return {f: form.cleaned_data.get(f) for f in CLIENT_FIELDS}


def _save(request, form, client=None):
    """Run client_save with the form's data; a refusal becomes the form's error. Returns the client or None."""
    try:
        return client_save(station=request.station, client=client, data=_form_data(form), actor=request.user)
    except ClientError as e:
        form.add_error(e.field if e.field in form.fields else None, e.message)
    return None


@login_required
@station_required
def client_new(request):
    form = ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        client = _save(request, form)
        if client is not None:
            messages.success(request, _("%(name)s was added.") % {"name": client.name})
            return redirect("services:client-detail", pk=client.pk)
    return render(request, "services/clients/form.html", {"form": form, "client": None, "station": request.station})


@login_required
@station_required
def client_detail(request, pk):
    # A deleted client stays reachable (the activities it took part in link here) but read-only.
    client = get_visible_or_404(_station_clients(request).select_related("created_by"), request.user, pk=pk)
    _with_type_labels([client])
    return render(request, "services/clients/detail.html", {
        "client": client, "activities": _activities_page(request, client),
        "activity_url": _activity_url("services:activity-detail"), "official": False,
    })


@login_required
@station_required
def client_edit(request, pk):
    client = get_visible_or_404(_station_clients(request).active(), request.user, pk=pk)
    form = ClientForm(request.POST or None, instance=client)
    if request.method == "POST" and form.is_valid():
        saved = _save(request, form, client)
        if saved is not None:
            messages.success(request, _("Saved."))
            return redirect("services:client-detail", pk=saved.pk)
    return render(request, "services/clients/form.html", {"form": form, "client": client, "station": request.station})


@login_required
@station_required
def client_delete_view(request, pk):
    client = get_visible_or_404(_station_clients(request).active(), request.user, pk=pk)
    form = DeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            client_delete(client=client, actor=request.user)
        except ClientError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("%(name)s was deleted.") % {"name": client.name})
            return redirect("services:client-list")
    activity_count = Activity.objects.filter(clients=client, deleted_at__isnull=True).count()
    return render(request, "services/clients/delete.html", {
        "client": client, "form": form, "activity_count": activity_count,
    })


# --- Officials: clients of the subtree (read-only) ------------------------------------------------


def _official_rows(request):
    """The scoped, filtered list of the page and of its export."""
    user = request.user
    qs = Client.objects.visible_to(user).active().filter(station__deleted_at__isnull=True)
    qs, region = within_requested_region(qs, request)
    qs = id_hash_filter(qs, "id_number", id_hash(request))
    filterset = OfficialClientFilter(request.GET or None, queryset=qs)
    qs = filterset.qs.select_related("station", "station__region").order_by("station__code", "-created_at", "-id")
    return qs, filterset, region


@login_required
@official_required
def official_client_list(request):
    moved = id_query_redirect(request)
    if moved is not None:
        return moved
    qs, filterset, region = _official_rows(request)
    if export_requested(request):
        return export_response(request, client_table)
    page = paginate(request, qs, PAGE_SIZE)
    _with_type_labels(page.object_list)
    return render(request, "services/clients/official_list.html", {
        "page": page, "filter": filterset, "region": region,
        "panel_fields": [filterset.form[f] for f in OfficialClientFilter.panel_fields],
        "tree_roots": region_tree_root_for(request.user), "list_url": "services:official-client-list",
    })


def client_table(request) -> Table:
    """The officials' filtered client list as an export table (also rebuilt by a background job)."""
    qs, _filterset, _region = _official_rows(request)
    headers = [_("full name"), _("gender"), _("age"), _("ID number"), _("person types"), _("phone"),
               _("file opened (建档)"), _("how added"), _("station name"), _("station code"), _("region"),
               _("created at")]
    today = timezone.localdate()
    tz = timezone.get_current_timezone()
    # Labels resolved once per export, and plain tuples rather than model instances: at a million rows
    # the per-row model objects and lazy translations were most of the time (bench/bench_exports.py).
    genders = {value: str(label) for value, label in Client._meta.get_field("gender").choices}
    sources = {value: str(label) for value, label in Client.Source.choices}
    types = {value: str(label) for value, label in _TYPE_LABELS.items()}
    yes, no = _("Yes"), _("No")
    columns = ("name", "gender", "birth_date", "age", "id_number", "person_types", "phone", "filed", "source",
               "station__name", "station__code", "station__region__name", "created_at")

    def rows():
        for (name, gender, birth, age, id_number, person_types, phone, filed, source, station_name, station_code,
             region_name, created_at) in qs.values_list(*columns).iterator(chunk_size=2000):
            if birth is not None:  # as Client.age_on(today)
                age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
            yield [name, genders.get(gender, gender), age, mask_id_number(id_number),
                   "、".join(types[t] for t in person_types or () if t in types), mask_phone(phone),
                   yes if filed else no, sources.get(source, source), station_name, station_code, region_name,
                   created_at.astimezone(tz)]

    return Table(f"clients-{today:%Y%m%d}.xlsx", headers, rows(), _("Clients"), qs.count())


@login_required
@official_required
def official_client_detail(request, pk):
    client = get_visible_or_404(Client.objects.active().select_related("station", "station__region", "created_by"),
                                request.user, pk=pk)
    _with_type_labels([client])
    return render(request, "services/clients/detail.html", {
        "client": client, "activities": _activities_page(request, client),
        "activity_url": _activity_url("services:official-activity-detail"), "official": True,
        # Officials need neither the whole ID number nor the phone to oversee (PIPL art. 6, minimum necessary).
        "id_number": mask_id_number(client.id_number), "phone": mask_phone(client.phone),
    })
