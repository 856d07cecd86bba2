"""Which station a station-side page works in: the station account's own, or for an organization the
one chosen in the top-bar switcher among those it operates today (manual 2.2 站点切换)."""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .models import Station

SESSION_KEY = "swms_station_id"


def stations_for(user):
    """The stations this station or organization account may work in now."""
    if not user.is_authenticated or user.kind not in ("station", "organization"):
        return Station.objects.none()
    return Station.objects.owned_by(user).active().select_related("region").order_by("code")


def current_station(request) -> Station | None:
    """The station of this request, looked up once (the decorator and the page shell both ask)."""
    if not hasattr(request, "_swms_current_station"):
        request._swms_current_station = _lookup_station(request)
    return request._swms_current_station


def _lookup_station(request) -> Station | None:
    user = request.user
    choices = stations_for(user).select_related("region")  # pages show the station's region
    if user.kind == "station":
        return choices.first()
    wanted = request.session.get(SESSION_KEY)
    station = choices.filter(pk=wanted).first() if wanted else None
    if station is None:
        # Access may have ended since it was chosen (operator expired): fall back to the first.
        station = choices.first()
        if station is not None:
            request.session[SESSION_KEY] = station.pk
    return station


def station_required(view):
    """Station-side pages: a station account or an organization operating a station today; the view
    gets `request.station`. An organization with no current station gets a clear message."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.kind not in ("station", "organization"):
            raise PermissionDenied
        station = current_station(request)
        if station is None:
            from django.contrib import messages

            messages.error(request, _("You do not operate any station at present."))
            return redirect("reports:workbench")
        request.station = station
        return view(request, *args, **kwargs)

    return wrapper
