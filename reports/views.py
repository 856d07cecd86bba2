from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from accounts.models import UserKind
from stations.current import station_required

from .selectors import official_review_counts, official_workbench_figures, station_workbench

# What each role's workbench will gather as the later features land.
_INTRO = {
    UserKind.SOCIAL_WORKER: _(
        "Your registration applications, certificates and continuing-education hours will appear here."
    ),
    UserKind.ORGANIZATION: _("Your organization profile and the stations you operate will appear here."),
    UserKind.STATION: _("Notices, services in progress, workers and statistics of your station will appear here."),
}
_OPS_INTRO = _(
    "Operators run imports and maintenance with manage.py commands; the Django admin is available to superusers."
)


@login_required
def workbench(request):
    """The role's home page (工作台)."""
    user = request.user
    if user.is_official:
        context = official_workbench_figures(user=user)
        context["tree_roots"] = [user.region]
        context["review_counts"] = official_review_counts(user=user)
        return render(request, "reports/workbench_official.html", context)
    if user.kind == UserKind.SOCIAL_WORKER:
        from registration.selectors.worker import worker_home

        return render(request, "reports/workbench_worker.html", worker_home(user=user))
    if user.kind == UserKind.ORGANIZATION:
        # The organization's own home; each station it operates opens the station workbench
        # (reports:station-workbench) after switching to it.
        from registration.selectors.organizations import organization_home

        return render(request, "reports/workbench_org.html", organization_home(user=user))
    if user.kind == UserKind.STATION:
        from stations.current import current_station

        station = current_station(request)
        if station is not None:
            return render(request, "reports/workbench_station.html",
                          station_workbench(station=station, period=request.GET.get("period", "")))
    intro = _OPS_INTRO if user.is_superuser else _INTRO.get(user.kind, _OPS_INTRO)
    return render(request, "reports/workbench_basic.html", {"intro": intro})


@login_required
@station_required
def station_workbench_view(request):
    """The station workbench of the current station: for an organization, the station it switched to
    from its home; for a station account, the same page as its home."""
    return render(request, "reports/workbench_station.html",
                  station_workbench(station=request.station, period=request.GET.get("period", "")))
