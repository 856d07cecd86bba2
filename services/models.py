"""Services of a station: clients (服务对象), service activities in seven categories (服务活动) and the
monthly summary (月度总结) that officials review.

Sources: Guangdong station manuals (staff 2.3, 2.5, 2.6, 2.8; officials 2.5, 2.6, 2.8) and the Shenmu
measures (needs, assessment, plan, delivery, closure or referral; client files and service ledger).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from swms.encrypted_fields import EncryptedCharField, KeyedHashField
from swms.scoping import ScopedQuerySet
from swms.workflow import Action, Reviewable, ReviewableQuerySet, State, Step, Workflow, county_only_chain


class PersonType(models.TextChoices):
    ELDERLY = "elderly", _("Elderly (60 and over)")
    DISABLED = "disabled", _("Person with disabilities")
    CHILD = "child", _("Child")
    LEFT_BEHIND = "left_behind", _("Left-behind child")
    DISTRESSED_CHILD = "distressed_child", _("Child in difficulty")
    ORPHAN = "orphan", _("Orphan")
    DIBAO = "dibao", _("Minimum living allowance recipient")
    EXTREME_POVERTY = "extreme_poverty", _("Person in extreme poverty")
    LOW_INCOME = "low_income", _("Low-income or struggling family")
    VAGRANT = "vagrant", _("Homeless person or beggar")
    RESIDENT = "resident", _("Ordinary resident")
    OTHER = "other", _("Other")


class StationOwnedQuerySet(ScopedQuerySet):
    """Rows of a station: officials see their subtree, a station or operator its own station's rows."""

    region_path = "station__region"

    def owned_by(self, user):
        from stations.models import Station

        return self.filter(station__in=Station.objects.owned_by(user).values("pk"))

    def active(self):
        return self.filter(deleted_at__isnull=True)


class ActivityQuerySet(StationOwnedQuerySet):
    def within(self, region):
        """As for every station's row, plus the stored province: a province's list walks its own rows of the
        index `activity_province_order_idx` instead of the whole country's (#14, national scale)."""
        province = region.province_pk() if region is not None else None
        if province is None:
            return super().within(region)
        if province == region.pk:
            # The province itself: the stored province says it all. Adding the region range as well would
            # make the planner multiply two selectivities that are one and expect 50× too few rows.
            return self.filter(province_id=province)
        return super().within(region).filter(province_id=province)


class Client(models.Model):
    """服务对象 of one station. Deleting keeps the row (the activities it took part in still count)."""

    class Source(models.TextChoices):
        SYNCED = "synced", _("Synced")
        MANUAL = "manual", _("Manual")
        IMPORTED = "imported", _("Imported")  # from an earlier system (services/client_import.py)

    station = models.ForeignKey("stations.Station", on_delete=models.PROTECT, related_name="clients")
    name = models.CharField(_("full name"), max_length=100)
    gender = models.CharField(_("gender"), max_length=10, choices=[("male", _("Male")), ("female", _("Female"))])
    id_number = EncryptedCharField(_("ID number"), max_length=18, blank=True)
    id_number_hash = KeyedHashField(source="id_number")
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    age = models.PositiveSmallIntegerField(_("age"), null=True, blank=True,
                                           help_text=_("Only when the birth date is not known."))
    person_types = models.JSONField(_("person types"), default=list, blank=True)
    phone = EncryptedCharField(_("phone"), max_length=30, blank=True)
    phone_hash = KeyedHashField(source="phone")
    address = models.CharField(_("address"), max_length=200, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    filed = models.BooleanField(_("file opened (建档)"), default=False)
    source = models.CharField(_("how added"), max_length=10, choices=Source.choices, default=Source.MANUAL,
                              editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)

    objects = StationOwnedQuerySet.as_manager()
    history = HistoricalRecords()
    NGRAM_FIELDS = ("name",)  # searched through stored n-grams on PostgreSQL (swms/search.py, migration 0005)

    class Meta:
        verbose_name = _("client")
        verbose_name_plural = _("clients")
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same person twice at one station is refused (services.client_save says so clearly;
            # this is the race-proof backstop for the ID number).
            models.UniqueConstraint(
                fields=["station", "id_number_hash"], condition=Q(id_number_hash__isnull=False, deleted_at__isnull=True),
                name="client_unique_id_per_station",
            ),
        ]
        indexes = [models.Index(fields=["station", "deleted_at"], name="client_station_idx")]

    def __str__(self):
        return self.name

    def age_on(self, day=None):
        if self.birth_date is None:
            return self.age
        day = day or timezone.localdate()
        return day.year - self.birth_date.year - ((day.month, day.day) < (self.birth_date.month, self.birth_date.day))


class ActivityCategory(models.TextChoices):
    CASE = "case", _("Case management")
    GROUP = "group", _("Group work")
    COMMUNITY = "community", _("Community activity")
    VISIT = "visit", _("Home visit")
    CONSULTATION = "consultation", _("Consultation")
    REFERRAL = "referral", _("Resource linkage and referral")
    VOLUNTEER = "volunteer", _("Volunteer service")


class ActivityStatus(models.TextChoices):
    ONGOING = "ongoing", _("In progress")
    # "Ended" alone is an operator's status (已终止); an activity has 已结束.
    ENDED = "ended", pgettext_lazy("activity status", "Ended")


class Activity(models.Model):
    """服务活动. The common fields are columns; each category's own basic and summary fields are
    declared once in services/categories.py and kept in `details` and `summary`."""

    station = models.ForeignKey("stations.Station", on_delete=models.PROTECT, related_name="activities")
    # The province of the station's region, stored (set on save, moved with the station and by region imports
    # that move a region: services.activities.refresh_activity_provinces) so officials' lists have an index of
    # their own province's rows in list order.
    province = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", editable=False,
                                 db_index=False)
    category = models.CharField(_("category"), max_length=20, choices=ActivityCategory.choices)
    status = models.CharField(_("status"), max_length=10, choices=ActivityStatus.choices,
                              default=ActivityStatus.ONGOING)
    code = models.CharField(_("service code"), max_length=40, unique=True, editable=False)
    name = models.CharField(_("activity name"), max_length=200)
    lead_worker = models.ForeignKey("stations.StationWorker", on_delete=models.PROTECT, related_name="+",
                                    verbose_name=_("responsible worker"))
    contact_phone = models.CharField(_("contact phone"), max_length=30)
    service_domains = models.JSONField(_("service domains"), default=list)
    started_at = models.DateTimeField(_("start"))
    ended_at = models.DateTimeField(_("end"), null=True, blank=True)
    location = models.CharField(_("location"), max_length=200, blank=True)
    clients = models.ManyToManyField(Client, blank=True, related_name="activities", verbose_name=_("clients served"))
    workers = models.ManyToManyField("stations.StationWorker", blank=True, related_name="activities",
                                     verbose_name=_("workers taking part"))
    volunteer_count = models.PositiveIntegerField(_("volunteers"), default=0)
    # Kept from the links by services.activities.refresh_activity_people() whenever they or a client's person
    # types change: the officials' list shows and filters them without counting 6 M links per page (#14).
    client_count = models.PositiveIntegerField(_("clients served"), default=0, editable=False)
    worker_count = models.PositiveIntegerField(_("workers taking part"), default=0, editable=False)
    client_types = models.JSONField(_("person types of the clients"), default=list, blank=True, editable=False)
    details = models.JSONField(_("category details"), default=dict, blank=True)
    summary = models.JSONField(_("summary record"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   null=True, editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True, editable=False)

    objects = ActivityQuerySet.as_manager()
    history = HistoricalRecords(m2m_fields=[clients, workers], excluded_fields=["province"])
    NGRAM_FIELDS = ("name",)  # searched through stored n-grams on PostgreSQL (swms/search.py, migration 0005)

    class Meta:
        verbose_name = _("service activity")
        verbose_name_plural = _("service activities")
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["station", "category", "started_at"], name="activity_station_cat_idx"),
            models.Index(fields=["station", "started_at"], name="activity_station_month_idx"),
            # The officials' list order, so a page walks the index instead of sorting the scope.
            # The station is in the index: a deep page finds its keys in the scope without reading the table.
            models.Index(fields=["-started_at", "-id"], condition=Q(deleted_at__isnull=True), include=["station"],
                         name="activity_list_order_idx"),
            # The same order within a province: what a province, city or county official's list walks.
            models.Index(fields=["province", "-started_at", "-id"], condition=Q(deleted_at__isnull=True),
                         include=["station"], name="activity_province_order_idx"),
            # The same order within a category and status (the list's two main filters).
            models.Index(fields=["category", "status", "-started_at", "-id"], condition=Q(deleted_at__isnull=True),
                         name="activity_list_cat_idx"),
        ]
        constraints = [
            # An ended activity has its end and its summary; an ongoing one has no summary.
            models.CheckConstraint(
                condition=Q(status="ongoing", summary={}) | Q(status="ended", ended_at__isnull=False),
                name="activity_summary_only_when_ended",
            ),
        ]

    def __str__(self):
        return f"{self.code} {self.name}"

    def save(self, *args, **kwargs):
        if self.province_id is None and self.station_id is not None:
            from stations.models import Station

            self.province_id = Station.objects.select_related("region").get(pk=self.station_id).region.province_pk()
        super().save(*args, **kwargs)


class ActivityCodeCounter(models.Model):
    """Per-station, per-month counter of service codes: codes only grow, never reused."""

    station = models.ForeignKey("stations.Station", on_delete=models.CASCADE, related_name="+")
    month = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["station", "month"], name="activity_code_counter_unique")]

    def __str__(self):
        return f"{self.station_id} {self.month:%Y-%m}: {self.last}"


# --- Monthly summary -----------------------------------------------------------------------------

# Draft → submitted (locked) → approved, or returned (editable) → submitted again. One review by the
# county above the station (or the city/province where there is none), as the issue asks.
SUMMARY_WORKFLOW = Workflow(
    {
        State.DRAFT: {Action.SUBMIT: State.SUBMITTED},
        State.SUBMITTED: {Action.APPROVE: State.APPROVED, Action.RETURN: State.RETURNED},
        State.RETURNED: {Action.SUBMIT: State.SUBMITTED},
    },
    waiting={State.SUBMITTED: (Step.FINAL,)},
    chain=county_only_chain,
    applicant_actions=(Action.SUBMIT,),
    editable_states=(State.DRAFT, State.RETURNED),
)


class MonthlySummaryQuerySet(ReviewableQuerySet):
    region_path = "station__region"

    def owned_by(self, user):
        from stations.models import Station

        return self.filter(station__in=Station.objects.owned_by(user).values("pk"))


class MonthlySummary(Reviewable):
    """月度总结: one per station and month. The figures are computed from that month's activities and
    cannot be typed; they are frozen when the summary is submitted."""

    station = models.ForeignKey("stations.Station", on_delete=models.PROTECT, related_name="summaries")
    month = models.DateField(_("month"), help_text=_("The first day of the month."))
    activity_count = models.PositiveIntegerField(_("service activities"), default=0, editable=False)
    persons_served = models.PositiveIntegerField(_("persons served"), default=0, editable=False)
    person_times = models.PositiveIntegerField(_("cumulative person-times"), default=0, editable=False)
    text = models.TextField(_("summary"), blank=True)
    document = models.FileField(_("attachment"), upload_to="summaries/", blank=True, max_length=200)
    document_name = models.CharField(max_length=200, blank=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   editable=False)
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    workflow = SUMMARY_WORKFLOW
    review_region_field = "station__region"
    applicant_field = "created_by"

    objects = MonthlySummaryQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("monthly summary")
        verbose_name_plural = _("monthly summaries")
        constraints = [models.UniqueConstraint(fields=["station", "month"], name="one_summary_per_station_month")]

    def __str__(self):
        return f"{self.station} {self.month:%Y-%m}"

    def is_applicant(self, user) -> bool:
        """Anyone working in the station (its account, or an organization operating it today) acts
        for it, not only the account that created the draft."""
        from stations.models import Station

        return user.pk is not None and Station.objects.owned_by(user).filter(pk=self.station_id).exists()

    @property
    def queue_title(self) -> str:
        return self.station.name

    @property
    def queue_details(self) -> str:
        return f"{self.month:%Y-%m} · {self.station.code}"
