"""The services app's review queue (monthly summaries), registered in ServicesConfig.ready()."""

import django_filters
from django.utils.translation import gettext_lazy as _

from swms.review_queues import Queue, ReviewFilter

from . import summaries
from .models import MonthlySummary


class SummaryFilter(ReviewFilter):
    name_field = "station__name"
    id_field = ""
    q = django_filters.CharFilter(label=_("Station name or code"), method="filter_q")
    month = django_filters.DateFilter(label=_("month"), field_name="month", lookup_expr="exact",
                                      input_formats=["%Y-%m", "%Y-%m-%d"])

    class Meta:
        model = MonthlySummary
        fields = ["status"]

    def filter_q(self, queryset, name, value):
        from django.db.models import Q

        value = value.strip()
        return queryset.filter(Q(station__name__icontains=value) | Q(station__code__startswith=value))


QUEUES = [
    Queue(
        "summaries", MonthlySummary, SummaryFilter, _("Monthly summaries"),
        list_url="services:summary-queue", detail_url="services:summary-review",
        decide_url="services:summary-decide", template="services/summaries/review.html", path="summaries/",
        decider=lambda obj, actor, action, comment: summaries.summary_decide(
            summary=obj, actor=actor, action=action, comment=comment),
        select_related=("station", "station__region", "initial_region", "final_region"),
    ),
]
