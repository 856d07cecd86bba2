"""Social workers' profiles (Xiamen manual: basic, contact and practice sections)."""


from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from swms.encrypted_fields import EncryptedCharField, KeyedHashField
from swms.pii import mask_id_number
from swms.workflow import (
    Reviewable,
    ReviewableQuerySet,
)

from .common import county_check_workflow, keep_derived


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
    id_number = EncryptedCharField(_("ID number"), max_length=18)
    id_number_hash = KeyedHashField(source="id_number", unique=True)
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
    mobile = EncryptedCharField(_("mobile phone"), max_length=20, blank=True)
    mobile_hash = KeyedHashField(source="mobile")
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
    # The registration the registry shows (the one ending last, as the worker's home shows it), kept by
    # registration/services/registry.py whenever a registration is created; derived, so not in the history.
    current_registration = models.ForeignKey(
        "registration.Registration", on_delete=models.SET_NULL, null=True, blank=True, editable=False,
        related_name="+", verbose_name=_("current registration"),
    )

    workflow = PROFILE_WORKFLOW
    review_region_field = "work_region"
    applicant_field = "user"
    NGRAM_FIELDS = ("name",)  # searched through stored n-grams on PostgreSQL (swms/search.py, migration 0016)

    objects = SocialWorkerQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["current_registration"])

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
        indexes = [
            *Reviewable.Meta.indexes,
            # The registry's order (name, then id) over the registered workers only.
            models.Index(fields=["name", "id"], condition=models.Q(current_registration__isnull=False),
                         name="socialworker_registry_order"),
            # The registry within a county or city: its workers region by region, read from the index alone
            # (the bounded count), with the registration to join.
            models.Index(fields=["work_region", "id"], include=["current_registration"],
                         condition=models.Q(current_registration__isnull=False), name="socialworker_registry_region"),
        ]

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        super().save(*args, **keep_derived(self, ("current_registration",), kwargs))

    def missing_fields(self) -> list[str]:
        """Names of required fields still empty (for a clear message before submitting)."""
        missing = []
        for name in self.REQUIRED_FIELDS:
            value = getattr(self, name if name != "work_region" else "work_region_id")
            if value in (None, "", []) or (name == "photo" and not value):
                missing.append(name)
        return missing
