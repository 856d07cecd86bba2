from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from accounts.models import UserKind
from accounts.operator_roles import is_operator
from stations.current import station_required
from swms.db_router import reads_from_replica
from swms.decorators import official_required
from swms.exports import Table, export_requested, export_response

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
    intro = _OPS_INTRO if is_operator(user) else _INTRO.get(user.kind, _OPS_INTRO)
    return render(request, "reports/workbench_basic.html", {"intro": intro})


@login_required
@station_required
def station_workbench_view(request):
    """The station workbench of the current station: for an organization, the station it switched to
    from its home; for a station account, the same page as its home."""
    return render(request, "reports/workbench_station.html",
                  station_workbench(station=request.station, period=request.GET.get("period", "")))


# --- Statistics (统计分析) -----------------------------------------------------------------------------


def _statistics_root(request, pk=None):
    """The region asked for (out of scope: 404), else the user's own (a superuser: the first root)."""
    from accounts.models import Region
    from swms.scoping import get_visible_or_404

    pk = pk if pk is not None else request.GET.get("region") or None
    if pk is not None:
        if not str(pk).isdigit():
            raise Http404
        return get_visible_or_404(Region, request.user, pk=pk)
    if request.user.region_id:
        return request.user.region
    root = Region.objects.root_nodes().order_by("code").first()
    if root is None:
        raise Http404
    return root


def _statistics_context(request, pk=None, *, figures=True) -> dict:
    """The page's region, period and trail, and (unless `figures` is False) the figures themselves."""
    from django.utils import timezone

    from .statistics import period_from

    root = _statistics_root(request, pk)
    form, period = period_from(request.GET, timezone.localdate())
    context = _statistics_figures(root, period) if figures else {"root": root, "period": period}
    context["form"] = form
    top = request.user.region
    context["trail"] = [r for r in root.get_ancestors(include_self=True)
                        if top is None or top.contains(r)]
    return context


def _statistics_figures(root, period) -> dict:
    from .statistics import statistics

    def drill(region):
        return f"{reverse('reports:statistics-region', args=[region.pk])}?{period.query}"

    return statistics(root=root, period=period, drill_url=drill)


@login_required
@official_required
@reads_from_replica()  # after the checks above, which read the user from the primary (#17)
def statistics_view(request, pk=None):
    """统计分析: the figures of a region by child region, for a period; drill down by the region names.

    The figures are the same for every official who opens a region and period, and change only when the
    region's sums do: their HTML is cached under the region's data version (`aggregates.cached`), so a
    repeated view reads one cache entry instead of eight aggregate queries and 2,500 cells."""
    if export_requested(request):
        return export_response(request, statistics_table)
    from .aggregates import cached

    context = _statistics_context(request, pk, figures=False)
    context["figures_html"] = cached(
        context["root"], "statistics-html",
        lambda: render_to_string("reports/_statistics_figures.html",
                                 {**context, **_statistics_figures(context["root"], context["period"])}, request),
        context["period"].query)
    return render(request, "reports/statistics.html", context)


def statistics_table(request) -> Table:
    """One figure of the statistics page (`?table=<code>&region=<pk>` and the period) as an export table."""
    context = _statistics_context(request)
    code = request.GET.get("table", "")
    figure = next((f for f in context["figures"] if f.code == code), None)
    if figure is None:
        raise Http404
    rows = [[r.label, *[c.value for c in r.cells]] for r in [*figure.rows, figure.total]]
    name = f"{context['root'].name}-{figure.title}-{context['period'].label}"
    return Table(filename=f"{name}.xlsx", headers=[_("Region"), *figure.columns], rows=rows,
                 sheet_title=str(figure.title), total=len(rows))
