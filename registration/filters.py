import datetime

import django_filters
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from swms.ids import normalize_ric
from swms.review_queues import ReviewFilter
from swms.search import text_contains

from .models import (
    CEClaim,
    Certificate,
    Courseware,
    Organization,
    ProfileChangeRequest,
    QualificationLevel,
    RegionChangeRequest,
    Registration,
    RegistrationApplication,
    RegistrationKind,
    ReplacementRequest,
    RestoreApplication,
    RosterCorrectionRequest,
    SocialWorker,
)
from .selectors.registry import ce_short_q, registration_state_q
from .services.organizations import looks_like_uscc, normalize_uscc

# The registry's status filter: registration_state's codes and labels (selectors/worker.py).
REGISTRY_STATUS_CHOICES = [
    ("valid", pgettext_lazy("registration state", "Valid")),
    ("expiring", pgettext_lazy("registration state", "Expiring soon")),
    ("expired", pgettext_lazy("registration state", "Expired")),
    ("frozen", pgettext_lazy("registration state", "Frozen")),
    ("revoked", pgettext_lazy("registration state", "Revoked")),
]


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


class RegistryFilter(django_filters.FilterSet):
    """The registry's filters (社工登记库). Other pages link here with exactly these parameters (the region is
    `?region=<pk>`, handled by swms.scoping.within_requested_region): level, status, expiring_days,
    ce_short=1 and q (a name). An ID number never lands in a URL: the POSTed `id_number` (or a `q` that is an
    ID number) is redirected to `?idh=<keyed hash>` (swms.id_search), applied by the view before this filter;
    exact matches only, the column being encrypted.
    The rows are registered workers (selectors.registry.registry_queryset); the registration filters apply
    to each one's current registration."""

    REG = "current_registration__"

    level = django_filters.ChoiceFilter(label=_("qualification level"), choices=QualificationLevel.choices,
                                        field_name="current_registration__level")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=REGISTRY_STATUS_CHOICES, method="filter_status")
    expiring_days = django_filters.NumberFilter(label=_("Expiring within (days)"), method="filter_expiring",
                                                min_value=0, max_value=3660)
    ce_short = django_filters.BooleanFilter(label=_("Continuing education still missing"), method="filter_ce_short",
                                            widget=django_filters.widgets.BooleanWidget())
    q = django_filters.CharFilter(label=_("full name"), method="filter_q")
    id_number = django_filters.CharFilter(label=_("ID number"), method="filter_id_number")
    # Workers registered (a registration of this kind created) in a period: where the statistics' counts
    # of new registrations and renewals lead. Applied together in filter_queryset.
    kind = django_filters.ChoiceFilter(label=_("registration kind"), choices=RegistrationKind.choices,
                                       method="filter_later")
    registered_from = django_filters.DateFilter(label=_("Registered from"), method="filter_later")
    registered_to = django_filters.DateFilter(label=_("Registered until"), method="filter_later")

    class Meta:
        model = SocialWorker
        fields = []

    def __init__(self, *args, on_date, **kwargs):
        self.on_date = on_date
        super().__init__(*args, **kwargs)

    def filter_later(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        data = self.form.cleaned_data
        kind, first, last = data.get("kind"), data.get("registered_from"), data.get("registered_to")
        if not (kind or first or last):
            return queryset
        registered = Registration.objects.filter(worker=OuterRef("pk"))
        if kind:
            registered = registered.filter(kind=kind)
        if first:
            registered = registered.filter(created_at__date__gte=first)
        if last:
            registered = registered.filter(created_at__date__lte=last)
        return queryset.filter(Exists(registered))

    def filter_status(self, queryset, name, value):
        return queryset.filter(registration_state_q(value, on_date=self.on_date, prefix=self.REG))

    def filter_expiring(self, queryset, name, value):
        # Still in force and ending within N days (frozen or cancelled ones are not "expiring").
        until = self.on_date + datetime.timedelta(days=int(value))
        return queryset.filter(**{f"{self.REG}status": Registration.Status.VALID,
                                  f"{self.REG}valid_to__gte": self.on_date, f"{self.REG}valid_to__lte": until})

    def filter_ce_short(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(ce_short_q(bool(value)))

    def filter_q(self, queryset, name, value):
        value = value.strip()
        ric = normalize_ric("".join(value.split()))
        if len(ric) == 18 and ric[:17].isdigit():
            return queryset.filter(id_number=ric)
        # Through the n-gram index (two-character names included), the same rows as icontains.
        return queryset.filter(text_contains("name", value, model=SocialWorker))

    def filter_id_number(self, queryset, name, value):
        return queryset.filter(id_number=normalize_ric("".join(value.split())))


class CertificateIssuedFilter(django_filters.FilterSet):
    """Certificates issued, by period (issue date, inclusive) and registration kind; the region is the tree's."""

    issued_from = django_filters.DateFilter(label=_("Issued from"), field_name="issued_at", lookup_expr="date__gte")
    issued_to = django_filters.DateFilter(label=_("Issued until"), field_name="issued_at", lookup_expr="date__lte")
    kind = django_filters.ChoiceFilter(label=_("registration kind"), field_name="registration__kind",
                                       choices=RegistrationKind.choices)

    class Meta:
        model = Certificate
        fields = ["kind"]
