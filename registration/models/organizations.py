"""Social-work service organizations (社会工作服务机构) and their staff."""


from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from swms.workflow import (
    Reviewable,
    ReviewableQuerySet,
    State,
)

from .applications import APPLICATION_WORKFLOW
from .profiles import Gender


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
