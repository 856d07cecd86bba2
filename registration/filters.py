import django_filters
from django.utils.translation import gettext_lazy as _

from swms.review_queues import ReviewFilter

from .models import (
    CEClaim,
    Courseware,
    Organization,
    ProfileChangeRequest,
    RegionChangeRequest,
    RegistrationApplication,
    RegistrationKind,
    ReplacementRequest,
    RestoreApplication,
    RosterCorrectionRequest,
    SocialWorker,
)
from .services.organizations import looks_like_uscc, normalize_uscc


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


class OrganizationFilter(ReviewFilter):
    q = django_filters.CharFilter(label=_("Name or credit code"), method="filter_q")

    name_field = "name"
    id_field = "uscc"

    class Meta:
        model = Organization
        fields = ["status"]

    def filter_q(self, queryset, name, value):
        # A credit code (any case, full-width, with spaces) matches exactly; an 18-character name must
        # not be mistaken for one, so only the code's shape counts, not its length.
        code = normalize_uscc(value)
        if looks_like_uscc(code):
            return queryset.filter(uscc=code)
        return queryset.filter(name__icontains=value.strip())
