"""The province's review of rectification answers (see swms/review_queues.py), registered in ready()."""

import django_filters
from django.utils.translation import gettext_lazy as _

from swms.review_queues import Queue, ReviewFilter

from . import services
from .models import Rectification


class RectificationFilter(ReviewFilter):
    name_field = "item__registration__worker__name"
    id_field = "item__registration__worker__id_number"
    q = django_filters.CharFilter(label=_("Name or ID number"), method="filter_q")

    class Meta:
        model = Rectification
        fields = ["status"]


def _detail_context(rectification):
    from .selectors import rectification_context

    return rectification_context(rectification)


QUEUES = [
    Queue(
        "rectifications", Rectification, RectificationFilter, _("Rectification answers"),
        list_url="spotchecks:rectification-queue", detail_url="spotchecks:rectification-review",
        decide_url="spotchecks:rectification-decide", template="spotchecks/rectification_review.html",
        path="rectifications/",
        decider=lambda obj, actor, action, comment: services.rectification_decide(
            rectification=obj, actor=actor, action=action, comment=comment),
        select_related=("office", "item__registration__worker", "item__batch", "initial_region", "final_region"),
        detail_context=_detail_context,
    ),
]
