"""Registrations, certificates, freeze/restore and replacement."""


from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from swms.scoping import ScopedQuerySet
from swms.workflow import (
    Reviewable,
    ReviewableQuerySet,
)

from .applications import APPLICATION_WORKFLOW, RegistrationApplication, RegistrationKind
from .common import county_check_workflow, keep_derived
from .profiles import SocialWorker
from .roster import Qualification, QualificationLevel


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
    # Counted CE hours (accepted records) completed on or after valid_from: what `ce_tally` counts for this
    # registration (selectors/worker.py). Kept by registration/services/registry.py whenever hours are booked,
    # approved, voided or imported; derived, so not in the history.
    ce_hours = models.DecimalField(_("CE hours counted"), max_digits=8, decimal_places=1, default=0,
                                   editable=False)
    # Registrations made before this system, imported from a province's legacy register (issue #15,
    # registration/legacy_import.py): no application, and the office that made them as the register says.
    imported = models.BooleanField(_("imported from the legacy register"), default=False, editable=False)
    issuing_office = models.CharField(_("registration office"), max_length=100, blank=True)

    objects = RegistrationQuerySet.as_manager()
    history = HistoricalRecords(excluded_fields=["ce_hours"])

    class Meta:
        verbose_name = _("registration")
        verbose_name_plural = _("registrations")
        ordering = ["-valid_from"]
        indexes = [
            # The registry's state filters (valid, expiring, expired: a status and a valid_to range).
            models.Index(fields=["status", "valid_to"], name="registration_status_valid_to"),
            # Valid registrations in due order: the certificates page's "due but not issued" list.
            models.Index(fields=["certificate_due_on", "id"], name="registration_certificate_due",
                         condition=Q(status="valid")),
            # The same within a county or city, from the index alone (the bounded count of the page).
            models.Index(fields=["region", "certificate_due_on"], include=["id"], name="registration_due_by_region",
                         condition=Q(status="valid")),
            # The registry's CE filter joins the current registration by id and compares level and hours: read
            # from the index alone.
            models.Index(fields=["id"], include=["level", "ce_hours"], name="registration_ce_lookup"),
        ]

    def __str__(self):
        return self.registration_no

    def save(self, *args, **kwargs):
        super().save(*args, **keep_derived(self, ("ce_hours",), kwargs))


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
        indexes = [
            # The certificates page's order (newest first).
            models.Index(fields=["issued_at", "id"], name="certificate_list_order"),
        ]
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
