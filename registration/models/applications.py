"""Registration windows, applications of the four kinds and their materials."""


from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from swms.pii import mask_id_number
from swms.scoping import ScopedQuerySet
from swms.workflow import (
    Action,
    Reviewable,
    ReviewableQuerySet,
    State,
    Step,
    Workflow,
)

from .profiles import SocialWorker
from .roster import Qualification


class RegistrationWindowQuerySet(ScopedQuerySet):
    region_path = "province"

    def visible_to(self, user):
        """Officials see the windows of the province they work in (set above them, not below)."""
        if user.is_authenticated and user.is_active and user.is_official:
            r = user.region
            return self.filter(province__tree_id=r.tree_id, province__lft__lte=r.lft, province__rght__gte=r.rght)
        return super().visible_to(user)

    def owned_by(self, user):
        # Workers, organizations and stations may see when registration is open.
        return self.all()

    def open_on(self, day):
        return self.filter(opens_on__lte=day, closes_on__gte=day)


class RegistrationWindow(models.Model):
    """A registration period (登记期) set by a province: e.g. one month; certificates are issued a set
    number of days after it closes (Beijing: 14)."""

    province = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("province")
    )
    name = models.CharField(_("name"), max_length=100)
    opens_on = models.DateField(_("opens on"))
    closes_on = models.DateField(_("closes on"))
    certificate_delay_days = models.PositiveSmallIntegerField(
        _("certificate issued days after closing"), default=14
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("created by")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = RegistrationWindowQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("registration window")
        verbose_name_plural = _("registration windows")
        ordering = ["-opens_on"]
        constraints = [
            models.CheckConstraint(condition=Q(closes_on__gte=models.F("opens_on")), name="window_closes_after_open"),
        ]

    def __str__(self):
        return self.name

    @property
    def certificate_issue_on(self):
        from datetime import timedelta

        return self.closes_on + timedelta(days=self.certificate_delay_days)


class RegistrationKind(models.TextChoices):
    FIRST = "first", _("First registration")  # 首登记
    RENEWAL = "renewal", _("Renewal")  # 再登记
    LATE = "late", _("Late registration")  # 补登记
    REISSUE = "reissue", _("Reissue")  # 补证


class Pickup(models.TextChoices):
    MAIL = "mail", _("By mail")
    ELECTRONIC = "electronic", _("Electronic certificate")


# Beijing manual 2.2: mail for first registration and reissue, electronic for renewal and late.
DEFAULT_PICKUP = {
    RegistrationKind.FIRST: Pickup.MAIL,
    RegistrationKind.REISSUE: Pickup.MAIL,
    RegistrationKind.RENEWAL: Pickup.ELECTRONIC,
    RegistrationKind.LATE: Pickup.ELECTRONIC,
}

# Beijing manual 2.3: once submitted, an application can be neither edited nor withdrawn until it is
# reviewed. County initial review, city (or province) final review. A returned application is fixed
# and resubmitted; a rejection (不予通过) is final: the worker starts a new application, which the
# eligibility engine allows or refuses with its reasons. A draft or a returned application may be
# withdrawn (撤回), which closes it too.
APPLICATION_WORKFLOW = Workflow(
    {
        State.DRAFT: {Action.SUBMIT: State.SUBMITTED, Action.WITHDRAW: State.WITHDRAWN},
        State.SUBMITTED: {
            Action.APPROVE: {Step.INITIAL: State.COUNTY_APPROVED, Step.FINAL: State.APPROVED},
            Action.REJECT: State.REJECTED,
            Action.RETURN: State.RETURNED,
        },
        State.COUNTY_APPROVED: {
            Action.APPROVE: State.APPROVED,
            Action.REJECT: State.REJECTED,
            Action.RETURN: State.RETURNED,
        },
        State.RETURNED: {Action.SUBMIT: State.SUBMITTED, Action.WITHDRAW: State.WITHDRAWN},
    },
    waiting={State.SUBMITTED: (Step.INITIAL, Step.FINAL), State.COUNTY_APPROVED: (Step.FINAL,)},
    applicant_actions=(Action.SUBMIT, Action.WITHDRAW),
    editable_states=(State.DRAFT, State.RETURNED),
)

# Final states: such an application no longer blocks a new one (the constraint below and `open()`).
APPLICATION_CLOSED_STATES = (State.APPROVED, State.REJECTED, State.WITHDRAWN)


class ApplicationQuerySet(ReviewableQuerySet):
    def owned_by(self, user):
        return self.filter(applicant=user)

    def open(self):
        return self.exclude(status__in=APPLICATION_CLOSED_STATES)


class RegistrationApplication(Reviewable):
    """A registration application (登记申请) of one of the four kinds."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("applicant")
    )
    worker = models.ForeignKey(
        SocialWorker, on_delete=models.PROTECT, related_name="applications", verbose_name=_("social worker")
    )
    kind = models.CharField(_("registration kind"), max_length=20, choices=RegistrationKind.choices)
    qualification = models.ForeignKey(
        Qualification, on_delete=models.PROTECT, related_name="applications", verbose_name=_("qualification")
    )
    window = models.ForeignKey(
        RegistrationWindow,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="applications",
        verbose_name=_("registration window"),
    )
    # The worker's work region when the application was last saved: decides scope and review chain.
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    pickup = models.CharField(_("certificate pickup"), max_length=20, choices=Pickup.choices)
    mailing_address = models.CharField(_("mailing address"), max_length=200, blank=True)
    pledge = models.BooleanField(_("pledge"), default=False)
    pledged_at = models.DateTimeField(_("pledged at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    workflow = APPLICATION_WORKFLOW
    applicant_field = "applicant"

    objects = ApplicationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("registration application")
        verbose_name_plural = _("registration applications")
        constraints = [
            # One open application per person (Beijing 2.3: no second submission before review).
            models.UniqueConstraint(
                fields=["worker"], condition=~Q(status__in=APPLICATION_CLOSED_STATES),
                name="one_open_application_per_worker",
            ),
        ]

    def __str__(self):
        return f"{self.worker} · {self.get_kind_display()}"

    @property
    def is_open(self) -> bool:
        return self.status not in APPLICATION_CLOSED_STATES

    @property
    def queue_details(self) -> str:
        return f"{self.get_kind_display()} · {mask_id_number(self.worker.id_number)}"


class MaterialKind(models.TextChoices):
    PHOTO = "photo", _("Two-inch photo")
    ID_FRONT = "id_front", _("ID card front")
    ID_BACK = "id_back", _("ID card back")
    QUALIFICATION = "qualification", _("Qualification certificate")
    LAST_REGISTRATION = "last_registration", _("Last registration certificate")
    CE_PROOF = "ce_proof", _("Continuing-education proof")


class ApplicationMaterial(models.Model):
    """One uploaded material of an application, stored privately and served by permission."""

    application = models.ForeignKey(RegistrationApplication, on_delete=models.CASCADE, related_name="materials")
    kind = models.CharField(_("material"), max_length=30, choices=MaterialKind.choices)
    file = models.FileField(_("file"), upload_to="applications/", max_length=200)
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64)
    # Attached by the system (e.g. the last certificate we issued) rather than uploaded.
    attached_by_system = models.BooleanField(default=False)
    uploaded_at = models.DateTimeField(default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("application material")
        verbose_name_plural = _("application materials")
        constraints = [models.UniqueConstraint(fields=["application", "kind"], name="one_material_per_kind")]

    def __str__(self):
        return f"{self.application_id} {self.kind}"
