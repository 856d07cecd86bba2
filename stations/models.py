"""Social-work stations (社工站), their operators (承办机构), accounts and workers (社工人员).

Sources: Guangdong station manuals (officials 2.9 社工站管理; staff 2.2 站点切换, 2.4 社工人员管理) and
the Shenmu measures (station tiers and staffing rules).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from registration.models import QualificationLevel
from swms.encrypted_fields import EncryptedCharField, KeyedHashField
from swms.scoping import ScopedQuerySet


class Tier(models.TextChoices):
    HUB = "hub", _("Hub (总站)")
    STATION = "station", _("Station (站)")
    ROOM = "room", _("Room (室)")


# Where each tier sits in the region tree (manual 2.9): a hub at the county or city, a station in a
# town or street, a room in a village or community.
TIER_LEVELS = {
    Tier.HUB: ("city", "county"),
    Tier.STATION: ("town",),
    Tier.ROOM: ("village",),
}


class StationCodeSequence(models.Model):
    """The last sequence number used for station codes in one region. It only ever grows, so a code
    is never given out twice, even after its station was deleted."""

    region = models.OneToOneField("accounts.Region", on_delete=models.PROTECT, primary_key=True, related_name="+")
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("station code sequence")

    def __str__(self):
        return f"{self.region_id}: {self.last}"


class StationQuerySet(ScopedQuerySet):
    def active(self):
        """Stations not deleted: the only ones any list shows."""
        return self.filter(deleted_at__isnull=True)

    def owned_by(self, user):
        # A station account sees its station; an organization the stations it operates today: the
        # django-guardian grant (kept in step with the operator rows by stations.services and the daily job)
        # AND an active operator period that holds today in the local time zone, checked at request time, so
        # an operator whose period ended loses access on the next request, before the daily job runs.
        if user.kind == "station":
            return self.filter(account=user)
        if user.kind == "organization":
            from guardian.shortcuts import get_objects_for_user

            granted = get_objects_for_user(user, "stations.operate_station", klass=Station, accept_global_perms=False)
            current = StationOperator.objects.current().filter(organization__account=user)
            return self.filter(pk__in=granted.values("pk")).filter(pk__in=current.values("station_id"))
        return self.none()


class Station(models.Model):
    """One station of the 总站 / 站 / 室 tiers. Deleting keeps the row (history and statistics stay)."""

    code = models.CharField(_("station code"), max_length=20, unique=True, editable=False)
    name = models.CharField(_("station name"), max_length=200)
    tier = models.CharField(_("tier"), max_length=10, choices=Tier.choices)
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    address = models.CharField(_("address"), max_length=200)
    contact_person = models.CharField(_("contact person"), max_length=50)
    contact_phone = models.CharField(_("contact phone"), max_length=30)
    founded_on = models.DateField(_("founding date"), null=True, blank=True)
    floor_area = models.DecimalField(_("floor area (m²)"), max_digits=9, decimal_places=1, null=True, blank=True)
    service_domains = models.JSONField(_("service domains"), default=list, blank=True)
    service_scope = models.TextField(_("service scope"), blank=True)
    account = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, editable=False,
        related_name="station", verbose_name=_("station account"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False, null=True
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", editable=False, null=True, blank=True
    )
    deleted_reason = models.CharField(_("reason for deletion"), max_length=200, blank=True, editable=False)

    objects = StationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("social work station")
        verbose_name_plural = _("social work stations")
        permissions = [("operate_station", _("Can work in the station as its operator"))]
        indexes = [models.Index(fields=["region", "deleted_at"], name="station_region_idx")]

    def __str__(self):
        return f"{self.name} ({self.code})"

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None


class StationFunding(models.Model):
    """One annual funding row (年度经费, 万元); a station may have any number of rows."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="funding")
    year = models.PositiveSmallIntegerField(_("year"))
    amount = models.DecimalField(_("amount (10,000 yuan)"), max_digits=12, decimal_places=2)
    source = models.CharField(_("source of funds"), max_length=100, blank=True)

    history = HistoricalRecords()

    class Meta:
        verbose_name = _("annual funding")
        verbose_name_plural = _("annual funding")
        ordering = ["year", "id"]
        constraints = [models.CheckConstraint(condition=Q(amount__gte=0), name="station_funding_amount_nonneg")]

    def __str__(self):
        return f"{self.year}: {self.amount}"


class OperatorQuerySet(models.QuerySet):
    def current(self, day: datetime.date | None = None):
        day = day or timezone.localdate()
        return self.filter(status=StationOperator.Status.ACTIVE, valid_from__lte=day, valid_to__gte=day)


class StationOperator(models.Model):
    """承办机构: an approved organization that runs the station for a period."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        ENDED = "ended", _("Ended")
        EXPIRED = "expired", _("Expired")

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="operators")
    organization = models.ForeignKey(
        "registration.Organization", on_delete=models.PROTECT, related_name="operated", verbose_name=_("organization")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"))

    objects = OperatorQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("station operator")
        verbose_name_plural = _("station operators")
        ordering = ["-valid_to", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(valid_to__gte=models.F("valid_from")), name="station_operator_dates"),
        ]

    def __str__(self):
        return f"{self.organization} → {self.station}"

    def is_current(self, day: datetime.date | None = None) -> bool:
        day = day or timezone.localdate()
        return self.status == self.Status.ACTIVE and self.valid_from <= day <= self.valid_to


class WorkerLevel(models.TextChoices):
    """The qualification levels of the registry, plus none (a manually entered worker may hold none)."""

    ASSISTANT = QualificationLevel.ASSISTANT.value, QualificationLevel.ASSISTANT.label
    INTERMEDIATE = QualificationLevel.INTERMEDIATE.value, QualificationLevel.INTERMEDIATE.label
    SENIOR = QualificationLevel.SENIOR.value, QualificationLevel.SENIOR.label
    NONE = "none", _("None")


class StationWorkerQuerySet(ScopedQuerySet):
    region_path = "station__region"

    def current(self):
        return self.filter(left_on__isnull=True)

    def owned_by(self, user):
        return self.filter(station__in=Station.objects.owned_by(user))


class StationWorker(models.Model):
    """社工人员: a full-time worker of a station, synced from the registry (read-only) or entered by hand.
    A worker who leaves is archived with the leaving date, never deleted."""

    class Source(models.TextChoices):
        SYNCED = "synced", _("Added from the registry (自动录入)")
        MANUAL = "manual", _("Entered by hand (手动录入)")

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="workers")
    source = models.CharField(_("how added"), max_length=10, choices=Source.choices, editable=False)
    social_worker = models.ForeignKey(
        "registration.SocialWorker", on_delete=models.PROTECT, null=True, blank=True, editable=False,
        related_name="station_posts",
    )
    name = models.CharField(_("full name"), max_length=100)
    gender = models.CharField(_("gender"), max_length=10, choices=[("male", _("Male")), ("female", _("Female"))])
    id_number = EncryptedCharField(_("ID number"), max_length=18)
    id_number_hash = KeyedHashField(source="id_number")
    mobile = EncryptedCharField(_("mobile phone"), max_length=20, blank=True)
    mobile_hash = KeyedHashField(source="mobile")
    employer = models.CharField(_("employer"), max_length=200, blank=True)
    level = models.CharField(_("qualification level"), max_length=20, choices=WorkerLevel.choices,
                             default=WorkerLevel.NONE)
    certificate_no = models.CharField(_("certificate number"), max_length=50, blank=True)
    is_head = models.BooleanField(_("station head"), default=False)
    practice_since = models.DateField(
        _("in social-work practice since"), null=True, blank=True,
        help_text=_("Used for the staffing rule: a head needs at least two years of practice."),
    )
    joined_on = models.DateField(_("joined on"), default=timezone.localdate)
    left_on = models.DateField(_("left on"), null=True, blank=True, editable=False)
    left_reason = models.CharField(_("reason for leaving"), max_length=200, blank=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)

    objects = StationWorkerQuerySet.as_manager()
    history = HistoricalRecords()

    # Taken from the registry for a synced worker and shown read-only.
    SYNCED_FIELDS = ("name", "gender", "id_number", "mobile", "employer", "level", "certificate_no", "practice_since")

    class Meta:
        verbose_name = _("station worker")
        verbose_name_plural = _("station workers")
        ordering = ["left_on", "-is_head", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["station", "id_number_hash"], condition=Q(left_on__isnull=True), name="one_current_post_per_station"
            ),
        ]
        indexes = [models.Index(fields=["id_number_hash"], name="station_worker_id_idx")]

    def __str__(self):
        return self.name

    @property
    def is_certified(self) -> bool:
        return self.level != WorkerLevel.NONE

    def years_of_practice(self, today: datetime.date | None = None) -> float | None:
        if self.practice_since is None:
            return None
        today = today or timezone.localdate()
        return (today - self.practice_since).days / 365.25
