"""Review oversight (审核督办): the review dashboard of county, city and province officials."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from swms.db_router import reads_from_replica
from swms.decorators import official_required

from .review_dashboard import may_see_dashboard, review_dashboard_html


@login_required
@official_required
@reads_from_replica()  # after the checks above, which read the user from the primary (#17)
def review_dashboard_view(request):
    """Per review queue × office below: waiting, oldest, over the limit, decided, median days, return rate."""
    if not may_see_dashboard(request.user):
        raise PermissionDenied
    return render(request, "reports/review_dashboard.html", {"body_html": review_dashboard_html(request)})
