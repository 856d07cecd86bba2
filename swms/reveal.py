"""显示完整号码: the one way a full ID or mobile number is shown once it is masked (P1, A6, L1).

Pages show personal numbers masked. Where a role needs the whole number (an official checking an
applicant's ID against the paper form, a station calling its client), the page offers a button that asks
for a fresh password (re-authentication within SWMS_REAUTH_MINUTES), shows the number in place and writes
an ID_REVEALED security event naming who saw which number of which record. Each revealable field is
declared once in REVEALABLE; the object comes through the role's own scoping (out of scope = 404).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext_lazy as _

from swms import pii
from swms.scoping import get_visible_or_404


@dataclass(frozen=True)
class Revealable:
    model: str  # "app_label.ModelName"
    fields: dict[str, tuple[str, Callable[[str | None], str]]]  # field -> (label, mask)
    # Who may ask at all (beyond seeing the object): e.g. officials need no client's whole number.
    may_reveal: Callable[[object], bool]
    # The queryset the object is taken from, given the request (the role's own scoping).
    queryset: Callable[[object], object]
    owner: Callable[[object], object | None] = lambda obj: None  # the account the number belongs to


def _workers(request):
    return apps.get_model("registration", "SocialWorker").objects.visible_to(request.user)


def _station_clients(request):
    from stations.current import current_station

    station = current_station(request)
    qs = apps.get_model("services", "Client").objects.visible_to(request.user)
    return qs.filter(station=station) if station is not None else qs.none()


REVEALABLE: dict[str, Revealable] = {
    # A worker's profile, for the officials who review it (the worker sees their own on their profile page).
    "worker": Revealable(
        model="registration.SocialWorker",
        fields={"id_number": (_("ID number"), pii.mask_id_number), "mobile": (_("mobile phone"), pii.mask_phone)},
        may_reveal=lambda user: user.is_official,
        queryset=_workers,
        owner=lambda obj: obj.user,
    ),
    # A station's client, for the station that serves them; officials oversee with masked numbers only.
    "client": Revealable(
        model="services.Client",
        fields={"id_number": (_("ID number"), pii.mask_id_number), "phone": (_("phone"), pii.mask_phone)},
        may_reveal=lambda user: user.kind in ("station", "organization"),
        queryset=_station_clients,
    ),
}


def reveal_url(kind: str, pk: int, field: str, next_url: str = "") -> str:
    url = reverse("reveal", args=[kind, pk, field])
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def _safe_next(request) -> str:
    value = request.POST.get("next") or request.GET.get("next") or ""
    if value.startswith("/") and url_has_allowed_host_and_scheme(value, {request.get_host()}, request.is_secure()):
        return value
    return ""


@login_required
def reveal(request, kind: str, pk: int, field: str):
    """GET: the confirmation step (also the page re-authentication returns to); POST: show the number."""
    from accounts.models import SecurityEvent
    from accounts.reauth import has_recent_auth
    from accounts.services import security_event_record

    spec = REVEALABLE.get(kind)
    if spec is None or field not in spec.fields or not spec.may_reveal(request.user):
        raise Http404
    obj = get_visible_or_404(spec.queryset(request), request.user, pk=pk)
    label, mask = spec.fields[field]
    value = getattr(obj, field) or ""
    next_url = _safe_next(request)
    context = {"obj": obj, "kind": kind, "field": field, "label": label, "masked": mask(value),
               "next": next_url, "url": reverse("reveal", args=[kind, pk, field])}
    if request.method != "POST":
        return render(request, "includes/reveal_confirm.html", context)
    if not has_recent_auth(request):
        # Back to the confirmation step (a GET) after the password, never a replayed POST.
        target = f"{reverse('accounts:reauth')}?{urlencode({'next': reveal_url(kind, pk, field, next_url)})}"
        if request.htmx:
            response = HttpResponse(status=204)
            response["HX-Redirect"] = target
            return response
        return redirect(target)
    security_event_record(
        kind=SecurityEvent.Kind.ID_REVEALED, request=request, target=spec.owner(obj),
        detail=f"{kind}:{obj.pk}:{field}",
    )
    context["value"] = value
    template = "includes/revealed.html" if request.htmx else "includes/reveal_confirm.html"
    return render(request, template, context)
