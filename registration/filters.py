import django_filters
from django.utils.translation import gettext_lazy as _

from swms.review_queues import ReviewFilter

from .models import (
    CEClaim,
    Courseware,
    ProfileChangeRequest,
    RegionChangeRequest,
    RegistrationApplication,
    RegistrationKind,
    ReplacementRequest,
    RestoreApplication,
    RosterCorrectionRequest,
    SocialWorker,
)


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


class ProfileChangeFilter(ReviewFilter):
    class Meta:
        model = ProfileChangeRequest
        fields = ["status"]
