"""Registration of social workers' professional qualification (社会工作者职业水平证书登记).

Sources: the Xiamen registration manual (profile, draft/submit, histories) and the Beijing
社工人才服务系统 manual (four registration kinds, materials, windows, review, messages).
"""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
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
    county_only_chain,
)


class QualificationLevel(models.TextChoices):
    ASSISTANT = "assistant", _("Assistant social worker")  # 助理社会工作师
    # "Social worker" alone is also the account type (社会工作者); the level is 社会工作师.
    INTERMEDIATE = "intermediate", pgettext_lazy("qualification level", "Social worker")  # 社会工作师
    SENIOR = "senior", _("Senior social worker")  # 高级社会工作师


# Continuing-education hours a renewal needs in the registration period (Beijing manual 2.4:
# 72 h for assistants, 90 h for social workers and senior social workers).
CE_HOURS_REQUIRED = {
    QualificationLevel.ASSISTANT: Decimal(72),
    QualificationLevel.INTERMEDIATE: Decimal(90),
    QualificationLevel.SENIOR: Decimal(90),
}
# A registration is valid for three years (登记有效期三年).
REGISTRATION_YEARS = 3


class Qualification(models.Model):
    """One certificate of the national exam pass list (职业水平证书), imported from the roster."""

    class Source(models.TextChoices):
        ROSTER = "roster", _("Exam roster import")
        CORRECTION = "correction", _("Roster correction request")

    id_number = models.CharField(_("ID number"), max_length=18, db_index=True)
    name = models.CharField(_("full name"), max_length=100)
    level = models.CharField(_("qualification level"), max_length=20, choices=QualificationLevel.choices)
    certificate_no = models.CharField(_("certificate management number"), max_length=50, unique=True)
    exam_year = models.PositiveSmallIntegerField(_("exam year"))
    issuing_province = models.CharField(_("issuing province"), max_length=50, blank=True)
    source = models.CharField(_("source"), max_length=20, choices=Source.choices, default=Source.ROSTER)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("qualification")
        verbose_name_plural = _("qualifications")
        ordering = ["exam_year", "certificate_no"]

    def __str__(self):
        return f"{self.certificate_no} {self.get_level_display()}"


class Gender(models.TextChoices):
    MALE = "male", _("Male")
    FEMALE = "female", _("Female")


class MaritalStatus(models.TextChoices):
    SINGLE = "single", _("Single")
    MARRIED = "married", _("Married")
    DIVORCED = "divorced", _("Divorced")
    WIDOWED = "widowed", _("Widowed")


class PoliticalStatus(models.TextChoices):
    CPC = "cpc", _("Member of the CPC")
    PROBATIONARY = "probationary", _("Probationary CPC member")
    LEAGUE = "league", _("Member of the Communist Youth League")
    OTHER_PARTY = "other_party", _("Member of another party")
    NONE = "none", _("The masses")


class Education(models.TextChoices):
    SECONDARY = "secondary", _("Secondary school or below")
    JUNIOR_COLLEGE = "junior_college", _("Junior college")
    BACHELOR = "bachelor", _("Bachelor")
    MASTER = "master", _("Master")
    DOCTOR = "doctor", _("Doctorate")


class Position(models.TextChoices):
    FRONTLINE = "frontline", _("Frontline social worker")
    ADMINISTRATIVE = "administrative", _("Administrative staff")
    OTHER = "other", _("Other")


# The 17 practice domains of the Xiamen manual (执业领域).
class PracticeDomain(models.TextChoices):
    CIVIL_AFFAIRS = "civil_affairs", _("Civil affairs")
    EDUCATION = "education", _("Education")
    JUSTICE = "justice", _("Justice")
    COMMUNITY = "community", _("Community")
    DISABILITY = "disability", _("Disability")
    DRUG_CONTROL = "drug_control", _("Drug control")
    HEALTH = "health", _("Health")
    YOUTH = "youth", _("Youth")
    FAMILY_PLANNING = "family_planning", _("Family planning")
    PETITIONS = "petitions", _("Letters and visits")
    MIGRANT_WORKERS = "migrant_workers", _("Migrant workers")
    ETHNIC_MINORITIES = "ethnic_minorities", _("Ethnic minorities")
    MILITARY = "military", _("Military")
    PUBLIC_SECURITY = "public_security", _("Comprehensive public security")
    WOMEN = "women", _("Women")
    ELDERLY = "elderly", _("The elderly")
    OTHER = "other", _("Other")


def county_check_workflow(*, can_reject: bool = False, reopenable: bool = False) -> Workflow:
    """One check by the nearest county: approve or return (and, if asked for, reject); once submitted the
    item cannot be withdrawn, and only a returned item is edited again. A reopenable item can be handed
    back by the county after approval (REOPEN), for one more edit and review."""
    decisions = {Action.APPROVE: State.APPROVED, Action.RETURN: State.RETURNED}
    if can_reject:
        decisions[Action.REJECT] = State.REJECTED
    transitions = {
        State.DRAFT: {Action.SUBMIT: State.SUBMITTED},
        State.SUBMITTED: decisions,
        State.RETURNED: {Action.SUBMIT: State.SUBMITTED},
    }
    if reopenable:
        transitions[State.APPROVED] = {Action.REOPEN: State.RETURNED}
    return Workflow(
        transitions,
        waiting={State.SUBMITTED: (Step.FINAL,)},
        chain=county_only_chain,
        applicant_actions=(Action.SUBMIT,),
        editable_states=(State.DRAFT, State.RETURNED),
        authority_actions=(Action.REOPEN,) if reopenable else (),
    )


# A profile is checked once by the county (Xiamen: 提交审核 to the administrator); once approved it is
# locked, and only a granted change request (ProfileChangeRequest) reopens it for one edit.
PROFILE_WORKFLOW = county_check_workflow(reopenable=True)


class SocialWorkerQuerySet(ReviewableQuerySet):
    region_path = "work_region"

    def owned_by(self, user):
        return self.filter(user=user)


class SocialWorker(Reviewable):
    """A social worker's profile (the Xiamen manual's basic, contact and practice sections)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="social_worker", verbose_name=_("account")
    )
    # Basic information (基本信息). Name and ID come from the roster when it knows the person.
    name = models.CharField(_("full name"), max_length=100)
    id_number = models.CharField(_("ID number"), max_length=18, unique=True)
    roster_locked = models.BooleanField(
        _("name locked by roster"), default=False, help_text=_("Name and ID number were taken from the exam roster.")
    )
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=30, blank=True)
    hukou = models.CharField(_("household registration (hukou)"), max_length=100, blank=True)
    native_place = models.CharField(_("native place"), max_length=100, blank=True)
    marital_status = models.CharField(_("marital status"), max_length=20, choices=MaritalStatus.choices, blank=True)
    political_status = models.CharField(
        _("political status"), max_length=20, choices=PoliticalStatus.choices, blank=True
    )
    education = models.CharField(_("education"), max_length=20, choices=Education.choices, blank=True)
    school = models.CharField(_("school"), max_length=100, blank=True)
    major = models.CharField(_("major"), max_length=100, blank=True)
    graduation_date = models.DateField(_("graduation date"), null=True, blank=True)
    work_start_date = models.DateField(_("work start date"), null=True, blank=True)
    photo = models.FileField(_("photo"), upload_to="profiles/photos/", blank=True, max_length=200)
    # Contact information (通讯信息): changeable at any time without review.
    address = models.CharField(_("postal address"), max_length=200, blank=True)
    postcode = models.CharField(_("postcode"), max_length=6, blank=True)
    mobile = models.CharField(_("mobile phone"), max_length=20, blank=True)
    office_phone = models.CharField(_("office phone"), max_length=30, blank=True)
    email = models.EmailField(_("email"), blank=True)
    qq = models.CharField(_("QQ"), max_length=20, blank=True)
    # Practice information (执业信息).
    full_time = models.BooleanField(_("full-time social worker"), null=True, blank=True)
    years_in_social_work = models.PositiveSmallIntegerField(_("years in social work"), null=True, blank=True)
    position = models.CharField(_("position"), max_length=20, choices=Position.choices, blank=True)
    work_region = models.ForeignKey(
        "accounts.Region",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("work region"),
        help_text=_("Down to the town or street where you work."),
    )
    employer = models.CharField(_("current employer"), max_length=200, blank=True)
    practice_domains = models.JSONField(_("practice domains"), default=list, blank=True)
    experience = models.TextField(_("experience and achievements"), blank=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    workflow = PROFILE_WORKFLOW
    review_region_field = "work_region"
    applicant_field = "user"

    objects = SocialWorkerQuerySet.as_manager()
    history = HistoricalRecords()

    @property
    def queue_title(self) -> str:
        return self.name

    @property
    def queue_details(self) -> str:
        return mask_id_number(self.id_number)

    @property
    def region_locked(self) -> bool:
        """Once registered, work region and employer change only through a region change request,
        which the new region's officials review."""
        return self.registrations.exists()

    # Fields a worker changes freely at any time (Xiamen: 联系信息修改, no review).
    CONTACT_FIELDS = ("address", "postcode", "mobile", "office_phone", "email", "qq")
    # Fields that must be filled before anything is submitted.
    REQUIRED_FIELDS = (
        "name", "id_number", "gender", "birth_date", "ethnicity", "hukou", "native_place", "marital_status",
        "political_status", "education", "school", "major", "graduation_date", "work_start_date", "photo",
        "address", "postcode", "mobile", "email", "full_time", "years_in_social_work", "position",
        "work_region", "employer", "practice_domains", "experience",
    )

    class Meta(Reviewable.Meta):
        verbose_name = _("social worker")
        verbose_name_plural = _("social workers")

    def __str__(self):
        return self.name

    def missing_fields(self) -> list[str]:
        """Names of required fields still empty (for a clear message before submitting)."""
        missing = []
        for name in self.REQUIRED_FIELDS:
            value = getattr(self, name if name != "work_region" else "work_region_id")
            if value in (None, "", []) or (name == "photo" and not value):
                missing.append(name)
        return missing


class RosterCorrectionQuerySet(ReviewableQuerySet):
    def owned_by(self, user):
        return self.filter(applicant=user)


class RosterCorrectionRequest(Reviewable):
    """"My exam record is missing from the roster": a request to the county with a certificate scan,
    so that nobody who passed the exam reaches a dead end."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("applicant")
    )
    worker = models.ForeignKey(
        SocialWorker, on_delete=models.PROTECT, related_name="roster_corrections", verbose_name=_("social worker")
    )
    region = models.ForeignKey(
        "accounts.Region",
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("county"),
        help_text=_("The civil-affairs office that checks your certificate."),
    )
    level = models.CharField(_("qualification level"), max_length=20, choices=QualificationLevel.choices)
    certificate_no = models.CharField(_("certificate management number"), max_length=50)
    exam_year = models.PositiveSmallIntegerField(_("exam year"))
    issuing_province = models.CharField(_("issuing province"), max_length=50, blank=True)
    scan = models.FileField(_("certificate scan"), upload_to="roster/scans/", max_length=200)
    note = models.TextField(_("note"), blank=True)
    qualification = models.ForeignKey(
        Qualification, on_delete=models.PROTECT, null=True, blank=True, related_name="+", editable=False
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    workflow = county_check_workflow(can_reject=True)
    applicant_field = "applicant"

    objects = RosterCorrectionQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("roster correction request")
        verbose_name_plural = _("roster correction requests")

    def __str__(self):
        return f"{self.worker} {self.certificate_no}"


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


class CERecordQuerySet(models.QuerySet):
    def counted(self):
        """Records that count towards renewal (#4 adds review of offline hours)."""
        return self.filter(status=CERecord.Status.ACCEPTED)


class CERecord(models.Model):
    """Continuing-education hours (继续教育学时). #4 builds the full ledger on this model."""

    class Source(models.TextChoices):
        ONLINE = "online", _("Online course")
        OFFLINE = "offline", _("Offline training")
        IMPORTED = "imported", _("Imported from a provider")

    class Status(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        PENDING = "pending", _("Pending review")
        RETURNED = "returned", _("Returned")

    worker = models.ForeignKey(SocialWorker, on_delete=models.PROTECT, related_name="ce_records")
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    hours = models.DecimalField(_("hours"), max_digits=6, decimal_places=1)
    completed_on = models.DateField(_("completed on"))
    provider = models.CharField(_("provider"), max_length=200, blank=True)
    course = models.CharField(_("course"), max_length=200, blank=True)
    proof = models.FileField(_("proof"), upload_to="ce/proofs/", blank=True, max_length=200)
    # The provider's own record number: re-importing the same provider file changes nothing.
    external_ref = models.CharField(_("provider record number"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACCEPTED)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = CERecordQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("continuing-education record")
        verbose_name_plural = _("continuing-education records")
        ordering = ["-completed_on"]
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0), name="ce_hours_positive"),
            models.UniqueConstraint(
                fields=["provider", "external_ref"], condition=~Q(external_ref=""), name="one_ce_record_per_provider_ref"
            ),
        ]

    def __str__(self):
        return f"{self.worker} {self.hours} h"


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
# reviewed. County initial review, city (or province) final review; a rejection can be fixed and
# resubmitted while the window is open.
APPLICATION_WORKFLOW = Workflow(
    {
        State.DRAFT: {Action.SUBMIT: State.SUBMITTED},
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
        State.RETURNED: {Action.SUBMIT: State.SUBMITTED},
        State.REJECTED: {Action.SUBMIT: State.SUBMITTED},
    },
    waiting={State.SUBMITTED: (Step.INITIAL, Step.FINAL), State.COUNTY_APPROVED: (Step.FINAL,)},
    applicant_actions=(Action.SUBMIT,),
)


class ApplicationQuerySet(ReviewableQuerySet):
    def owned_by(self, user):
        return self.filter(applicant=user)

    def open(self):
        return self.exclude(status=State.APPROVED)


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
                fields=["worker"], condition=~Q(status=State.APPROVED), name="one_open_application_per_worker"
            ),
        ]

    def __str__(self):
        return f"{self.worker} · {self.get_kind_display()}"

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


class RegistrationQuerySet(ScopedQuerySet):
    def owned_by(self, user):
        return self.filter(worker__user=user)


class Registration(models.Model):
    """A registration record (登记记录), valid for three years; #4 issues its certificate PDF."""

    class Status(models.TextChoices):
        VALID = "valid", _("Valid")
        FROZEN = "frozen", _("Frozen")
        REVOKED = "revoked", _("Revoked")

    worker = models.ForeignKey(SocialWorker, on_delete=models.PROTECT, related_name="registrations")
    application = models.OneToOneField(
        RegistrationApplication, on_delete=models.PROTECT, null=True, blank=True, related_name="registration"
    )
    registration_no = models.CharField(_("registration number"), max_length=30, unique=True)
    kind = models.CharField(_("registration kind"), max_length=20, choices=RegistrationKind.choices)
    level = models.CharField(_("qualification level"), max_length=20, choices=QualificationLevel.choices)
    qualification = models.ForeignKey(Qualification, on_delete=models.PROTECT, related_name="registrations")
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.VALID)
    # When the electronic certificate is due (window close + delay, or at once); #4 issues it.
    certificate_due_on = models.DateField(_("certificate due on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = RegistrationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["-valid_from"]

    def __str__(self):
        return self.registration_no


def _certificate_token() -> str:
    import secrets

    return secrets.token_urlsafe(24)


class CertificateQuerySet(ScopedQuerySet):
    region_path = "registration__region"

    def owned_by(self, user):
        return self.filter(registration__worker__user=user)

    def current(self):
        return self.filter(revoked_at__isnull=True)


class Certificate(models.Model):
    """An electronic registration certificate (电子登记证书): a PDF with a public verification token."""

    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="certificates")
    # Random and unguessable: it is the only key of the public verification page.
    token = models.CharField(max_length=64, unique=True, default=_certificate_token, editable=False)
    file = models.FileField(_("file"), upload_to="certificates/", max_length=200)
    sha256 = models.CharField(max_length=64)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    issued_by = models.CharField(_("issuing authority"), max_length=100)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_reason = models.CharField(_("revocation reason"), max_length=200, blank=True)

    objects = CertificateQuerySet.as_manager()

    class Meta:
        verbose_name = _("certificate")
        verbose_name_plural = _("certificates")
        ordering = ["-issued_at"]
        constraints = [
            # One current certificate per registration: issuing twice cannot make two (R2).
            models.UniqueConstraint(
                fields=["registration"], condition=Q(revoked_at__isnull=True), name="one_current_certificate"
            ),
        ]

    def __str__(self):
        return f"{self.registration.registration_no} ({self.issued_at:%Y-%m-%d})"

    def verification_status(self, today=None) -> str:
        """valid / expired / revoked / frozen, as the public page shows it."""
        today = today or timezone.localdate()
        if self.revoked_at or self.registration.status == Registration.Status.REVOKED:
            return "revoked"
        if self.registration.status == Registration.Status.FROZEN:
            return "frozen"
        if self.registration.valid_to < today:
            return "expired"
        return "valid"


class CertificateLookup(models.Model):
    """Every lookup of the public verification page is logged."""

    certificate = models.ForeignKey(Certificate, on_delete=models.CASCADE, null=True, related_name="lookups")
    token_prefix = models.CharField(max_length=12)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    found = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("certificate lookup")
        verbose_name_plural = _("certificate lookups")

    def __str__(self):
        return f"{self.token_prefix}… {self.created_at:%Y-%m-%d %H:%M}"


class CEClaimQuerySet(ReviewableQuerySet):
    def owned_by(self, user):
        return self.filter(applicant=user)


class CEClaim(Reviewable):
    """Offline continuing-education hours claimed by a worker with a proof scan; the county of the
    worker's region checks them (Guangdong notice: offline CE review, weekly)."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("applicant")
    )
    worker = models.ForeignKey(SocialWorker, on_delete=models.PROTECT, related_name="ce_claims")
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    provider = models.CharField(_("provider"), max_length=200)
    course = models.CharField(_("course"), max_length=200)
    started_on = models.DateField(_("from"))
    finished_on = models.DateField(_("to"))
    hours = models.DecimalField(_("hours"), max_digits=6, decimal_places=1)
    proof = models.FileField(_("proof"), upload_to="ce/claims/", max_length=200)
    record = models.OneToOneField(CERecord, on_delete=models.PROTECT, null=True, blank=True, editable=False,
                                  related_name="claim")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    workflow = county_check_workflow()
    applicant_field = "applicant"

    objects = CEClaimQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("offline CE claim")
        verbose_name_plural = _("offline CE claims")
        constraints = [
            models.CheckConstraint(condition=Q(hours__gt=0), name="ce_claim_hours_positive"),
            models.CheckConstraint(condition=Q(finished_on__gte=models.F("started_on")), name="ce_claim_dates"),
        ]

    def __str__(self):
        return f"{self.worker} {self.course} {self.hours} h"


def courseware_chain(region):
    """Courseware goes up from the county: the city reviews, the province opens it (a county with no
    city above, as in 北京, goes straight to the province)."""
    from swms.workflow import ReviewChain

    city = region.ancestor_at("city")
    province = region.ancestor_at("province")
    return ReviewChain(initial=city, final=province or city)


class CoursewareQuerySet(ReviewableQuerySet):
    def owned_by(self, user):
        # Social workers (and stations, organizations) see the courseware the province opened.
        return self.filter(status=State.APPROVED)


class Courseware(Reviewable):
    """课件资源库: collected by counties, passed up by the city, opened by the province."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("submitted by")
    )
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("county"))
    title = models.CharField(_("title"), max_length=200)
    provider = models.CharField(_("provider"), max_length=200)
    hours = models.DecimalField(_("hours"), max_digits=5, decimal_places=1)
    link = models.URLField(_("link"), blank=True)
    file = models.FileField(_("file"), upload_to="courseware/", blank=True, max_length=200)
    description = models.TextField(_("description"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    workflow = Workflow(
        {
            State.DRAFT: {Action.SUBMIT: State.SUBMITTED},
            State.SUBMITTED: {
                Action.APPROVE: {Step.INITIAL: State.COUNTY_APPROVED, Step.FINAL: State.APPROVED},
                Action.RETURN: State.RETURNED,
            },
            State.COUNTY_APPROVED: {Action.APPROVE: State.APPROVED, Action.RETURN: State.RETURNED},
            State.RETURNED: {Action.SUBMIT: State.SUBMITTED},
        },
        waiting={State.SUBMITTED: (Step.INITIAL, Step.FINAL), State.COUNTY_APPROVED: (Step.FINAL,)},
        chain=courseware_chain,
        applicant_actions=(Action.SUBMIT,),
        editable_states=(State.DRAFT, State.RETURNED),
    )
    applicant_field = "applicant"

    objects = CoursewareQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("courseware")
        verbose_name_plural = _("courseware")
        constraints = [models.CheckConstraint(condition=Q(hours__gt=0), name="courseware_hours_positive")]

    def __str__(self):
        return self.title

    @property
    def queue_details(self) -> str:
        return f"{self.provider} · {self.hours} h"


class RegistrationPolicy(models.Model):
    """Per-province rules: how long past expiry an unrenewed registration stays valid before it is
    frozen (Xiamen: frozen by the administrator; restored on application)."""

    province = models.OneToOneField(
        "accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("province")
    )
    freeze_grace_days = models.PositiveIntegerField(_("grace period before freezing (days)"), default=365)

    class Meta:
        verbose_name = _("registration policy")
        verbose_name_plural = _("registration policies")

    def __str__(self):
        return f"{self.province}: {self.freeze_grace_days}"


class RestoreQuerySet(ReviewableQuerySet):
    def owned_by(self, user):
        return self.filter(applicant=user)


class RestoreApplication(Reviewable):
    """恢复登记申请: a frozen worker asks for the registration back; reviewed like a registration."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("applicant")
    )
    worker = models.ForeignKey(SocialWorker, on_delete=models.PROTECT, related_name="restore_applications")
    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="restore_applications")
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    workflow = APPLICATION_WORKFLOW
    applicant_field = "applicant"

    objects = RestoreQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("restore application")
        verbose_name_plural = _("restore applications")
        constraints = [
            models.UniqueConstraint(
                fields=["registration"], condition=~Q(status__in=["approved"]), name="one_open_restore_per_registration"
            ),
        ]

    def __str__(self):
        return f"{self.worker} · {self.registration}"


class ReplacementQuerySet(ReviewableQuerySet):
    def owned_by(self, user):
        return self.filter(applicant=user)


class ReplacementRequest(Reviewable):
    """补换: a lost or damaged certificate, or changed core information; the county approves and a new
    certificate replaces (and revokes) the old one."""

    class Reason(models.TextChoices):
        LOST = "lost", _("Lost")
        DAMAGED = "damaged", _("Damaged")
        CHANGED = "changed", _("Core information changed")

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("applicant")
    )
    worker = models.ForeignKey(SocialWorker, on_delete=models.PROTECT, related_name="replacements")
    registration = models.ForeignKey(Registration, on_delete=models.PROTECT, related_name="replacements")
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    details = models.TextField(_("details"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    workflow = county_check_workflow()
    applicant_field = "applicant"

    objects = ReplacementQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("certificate replacement request")
        verbose_name_plural = _("certificate replacement requests")

    def __str__(self):
        return f"{self.worker} · {self.registration}"


class RegionChangeQuerySet(ReviewableQuerySet):
    region_path = "new_region"

    def owned_by(self, user):
        return self.filter(applicant=user)


class RegionChangeRequest(Reviewable):
    """工作区域 / 所属机构变更: reviewed by the county and then the city of the NEW region; on approval the
    worker moves into that scope (the old region's officials lose sight of the profile)."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("applicant")
    )
    worker = models.ForeignKey(SocialWorker, on_delete=models.PROTECT, related_name="region_changes")
    old_region = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("current work region")
    )
    new_region = models.ForeignKey(
        "accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("new work region")
    )
    old_employer = models.CharField(_("current employer"), max_length=200, blank=True)
    new_employer = models.CharField(_("new employer"), max_length=200)
    reason = models.TextField(_("reason"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    workflow = APPLICATION_WORKFLOW
    review_region_field = "new_region"
    applicant_field = "applicant"

    objects = RegionChangeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("region or employer change")
        verbose_name_plural = _("region or employer changes")

    def __str__(self):
        return f"{self.worker}: {self.old_region} → {self.new_region}"


class ProfileChangeQuerySet(ReviewableQuerySet):
    def owned_by(self, user):
        return self.filter(applicant=user)


class ProfileChangeRequest(Reviewable):
    """信息修改申请: the worker asks to change an approved (locked) profile and says why; when the county
    grants it the profile opens for one edit, and that edit is reviewed again."""

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("applicant")
    )
    worker = models.ForeignKey(SocialWorker, on_delete=models.PROTECT, related_name="change_requests")
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    reason = models.TextField(_("what to change and why"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    workflow = county_check_workflow(can_reject=True)
    applicant_field = "applicant"

    objects = ProfileChangeQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("profile change request")
        verbose_name_plural = _("profile change requests")
        constraints = [
            models.UniqueConstraint(
                fields=["worker"], condition=Q(status__in=["draft", "submitted", "returned"]),
                name="one_open_profile_change_per_worker",
            ),
        ]

    def __str__(self):
        return f"{self.worker} · {self.created_at:%Y-%m-%d}"


class OrganizationQuerySet(ReviewableQuerySet):
    def owned_by(self, user):
        return self.filter(account=user)

    def approved(self):
        return self.filter(status=State.APPROVED)


class Organization(Reviewable):
    """社会工作服务机构: signs up, is reviewed by the county then the city of its region, and once approved
    can be chosen as a station operator (承办机构)."""

    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="organization", verbose_name=_("account")
    )
    name = models.CharField(_("organization name"), max_length=200)
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    legal_representative = models.CharField(_("legal representative"), max_length=50)
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    address = models.CharField(_("address"), max_length=200)
    contact_person = models.CharField(_("contact person"), max_length=50)
    contact_phone = models.CharField(_("contact phone"), max_length=30)
    service_domains = models.JSONField(_("service domains"), default=list, blank=True)
    founded_on = models.DateField(_("founding date"), null=True, blank=True)
    registration_authority = models.CharField(_("registration authority"), max_length=100)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    workflow = APPLICATION_WORKFLOW
    applicant_field = "account"

    objects = OrganizationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("social work service organization")
        verbose_name_plural = _("social work service organizations")

    def __str__(self):
        return self.name

    @property
    def queue_title(self) -> str:
        return self.name

    @property
    def queue_details(self) -> str:
        return self.uscc


class OrganizationStaff(models.Model):
    """A member of an organization's staff, kept by the organization itself."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="staff")
    name = models.CharField(_("full name"), max_length=100)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True)
    position = models.CharField(_("position"), max_length=100, blank=True)
    phone = models.CharField(_("mobile phone"), max_length=20, blank=True)
    qualification_level = models.CharField(_("qualification level"), max_length=20, blank=True)
    certificate_no = models.CharField(_("certificate number"), max_length=50, blank=True)
    joined_on = models.DateField(_("joined on"), null=True, blank=True)
    left_on = models.DateField(_("left on"), null=True, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("organization staff member")
        verbose_name_plural = _("organization staff")
        ordering = ["left_on", "name"]

    def __str__(self):
        return self.name
