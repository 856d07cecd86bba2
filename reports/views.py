from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.models import UserKind

from .selectors import official_workbench_figures


@login_required
def workbench(request):
    """The role's home page (工作台)."""
    user = request.user
    context = {}
    if user.is_official:
        context.update(official_workbench_figures(user=user), tree_roots=[user.region])
        template = "reports/workbench_official.html"
    elif user.is_superuser:
        template = "reports/workbench_ops.html"
    else:
        template = {
            UserKind.SOCIAL_WORKER: "reports/workbench_social_worker.html",
            UserKind.ORGANIZATION: "reports/workbench_organization.html",
            UserKind.STATION: "reports/workbench_station.html",
        }.get(user.kind, "reports/workbench_ops.html")
    return render(request, template, context)
