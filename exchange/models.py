"""The national data exchange (部省数据交换, issue #15): packages a province exports and packages the national
deployment imports. The format is documented in docs/exchange.md."""

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PackageKind(models.TextChoices):
    FULL = "full", _("Full")
    INCREMENTAL = "incremental", _("Incremental")


class ExchangePackage(models.Model):
    """A package exported by this (province) deployment. `until` is the cut-off of the rows it holds; the
    next incremental package starts at the `until` of the newest acknowledged one."""

    province = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("province"))
    kind = models.CharField(_("kind"), max_length=12, choices=PackageKind.choices)
    since = models.DateTimeField(_("changed since"), null=True, blank=True)
    until = models.DateTimeField(_("cut-off"))
    period = models.CharField(_("period"), max_length=7, help_text=_("The month the package reports, YYYY-MM."))
    # Made by the monthly beat job: one such package per province and period.
    scheduled = models.BooleanField(_("scheduled"), default=False)
    file = models.FileField(_("file"), upload_to="exchange/", max_length=200)
    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    manifest = models.JSONField(_("manifest"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)

    class Meta:
        verbose_name = _("exchange package")
        verbose_name_plural = _("exchange packages")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["province", "period"], condition=Q(scheduled=True),
                                    name="exchange_one_scheduled_package_per_period"),
        ]
        indexes = [models.Index(fields=["province", "until"], condition=Q(acknowledged_at__isnull=False),
                                name="exchange_acknowledged_idx")]

    def __str__(self):
        return f"{self.province_id} {self.period} {self.kind} {self.sha256[:12]}"


class ExchangeImport(models.Model):
    """A package imported by this (national) deployment: its SHA-256 makes a second import a no-op."""

    sha256 = models.CharField(_("SHA-256"), max_length=64, unique=True)
    province = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+",
                                 verbose_name=_("province"))
    kind = models.CharField(_("kind"), max_length=12, choices=PackageKind.choices)
    since = models.DateTimeField(_("changed since"), null=True, blank=True)
    until = models.DateTimeField(_("cut-off"))
    period = models.CharField(_("period"), max_length=7)
    file_name = models.CharField(_("file name"), max_length=255)
    manifest = models.JSONField(_("manifest"))
    # Rows per file: {"workers.csv": {"rows": n, "created": n, "updated": n, "unchanged": n}, ...}
    counts = models.JSONField(_("counts"), default=dict)
    # The importing office's region; empty when an operator imported without one (any province).
    office = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                               verbose_name=_("importing office"))
    imported_by = models.CharField(_("imported by"), max_length=150, blank=True)
    imported_at = models.DateTimeField(_("imported at"), default=timezone.now)

    class Meta:
        verbose_name = _("exchange import")
        verbose_name_plural = _("exchange imports")
        ordering = ["-imported_at", "-id"]
        indexes = [models.Index(fields=["province", "until"], name="exchange_import_until_idx")]

    def __str__(self):
        return f"{self.province_id} {self.period} {self.kind} {self.sha256[:12]}"
