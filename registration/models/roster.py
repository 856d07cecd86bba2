"""The exam roster (职业水平证书) and roster corrections."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from swms.encrypted_fields import EncryptedCharField, KeyedHashField
from swms.workflow import (
    Reviewable,
    ReviewableQuerySet,
)

from .common import county_check_workflow


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

    id_number = EncryptedCharField(_("ID number"), max_length=18)
    id_number_hash = KeyedHashField(source="id_number", db_index=True)
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
        "registration.SocialWorker", on_delete=models.PROTECT, related_name="roster_corrections", verbose_name=_("social worker")
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
