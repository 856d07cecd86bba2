import datetime

import django_filters
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from swms.ids import normalize_ric
from swms.workflow import State

from .models import (
    CEClaim,
    Courseware,
    RegionChangeRequest,
    RegistrationApplication,
    RegistrationKind,
    ReplacementRequest,
    RestoreApplication,
    RosterCorrectionRequest,
    SocialWorker,
)


class ReviewFilter(django_filters.FilterSet):
    """Filters shared by the review queues: status, days waiting, name or ID number."""

    status = django_filters.ChoiceFilter(label=_("Status"), choices=State.choices)
    waiting = django_filters.ChoiceFilter(
        label=_("Waiting"),
        choices=[("7", _("more than 7 days")), ("14", _("more than 14 days")), ("30", _("more than 30 days"))],
        method="filter_waiting",
    )
    q = django_filters.CharFilter(label=_("Name or ID number"), method="filter_q")

    name_field = "worker__name"
    id_field = "worker__id_number"

    def filter_waiting(self, queryset, name, value):
        since = timezone.now() - datetime.timedelta(days=int(value))
        return queryset.filter(submitted_at__lt=since)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        # An ID number matches exactly (normalized); anything else searches names.
        ric = normalize_ric(value)
        if len(ric) == 18:
            return queryset.filter(**{self.id_field: ric})
        return queryset.filter(Q(**{f"{self.name_field}__icontains": value}))


class ApplicationFilter(ReviewFilter):
    kind = django_filters.ChoiceFilter(label=_("registration kind"), choices=RegistrationKind.choices)

    class Meta:
        model = RegistrationApplication
        fields = ["kind", "status"]


class ProfileFilter(ReviewFilter):
    name_field = "name"
    id_field = "id_number"

    class Meta:
        model = SocialWorker
        fields = ["status"]


class CorrectionFilter(ReviewFilter):
    class Meta:
        model = RosterCorrectionRequest
        fields = ["status"]


class CEClaimFilter(ReviewFilter):
    class Meta:
        model = CEClaim
        fields = ["status"]


class CoursewareFilter(ReviewFilter):
    name_field = "title"
    id_field = "title"

    class Meta:
        model = Courseware
        fields = ["status"]


class RestoreFilter(ReviewFilter):
    class Meta:
        model = RestoreApplication
        fields = ["status"]


class ReplacementFilter(ReviewFilter):
    class Meta:
        model = ReplacementRequest
        fields = ["status"]


class RegionChangeFilter(ReviewFilter):
    class Meta:
        model = RegionChangeRequest
        fields = ["status"]
