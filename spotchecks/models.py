"""Province spot checks (抽查) of approved registrations and the rectifications (整改) they raise.

Guangdong notice (粤民函〔2021〕459号) 一(一)1: the province "每周不少于1次查询、统计、抽查" the registry. A batch
draws a reproducible sample (its seed is stored) of registrations approved in a date range, per city; each
sampled item gets a result, and a problem becomes a rectification task for the office that approved it,
answered by that office and accepted or sent back by the province through the shared review workflow.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from simple_history.models import HistoricalRecords

from swms.scoping import ScopedQuerySet
from swms.workflow import (
    Action,
    NoReviewAuthority,
    Reviewable,
    ReviewableQuerySet,
    ReviewChain,
    State,
    Step,
    Workflow,
)


def new_seed() -> str:
    return secrets.token_hex(8)


class SampleMode(models.TextChoices):
    COUNT = "count", _("A number of items per city")
    PERCENT = "percent", _("A percentage per city")


class SpotCheckBatchQuerySet(ScopedQuerySet):
    region_path = "region"


class SpotCheckBatch(models.Model):
    """One draw (抽查批次): who drew it, when, with which parameters and seed."""

    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("province"))
    title = models.CharField(_("title"), max_length=100, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    approved_from = models.DateField(_("approved from"))
    approved_to = models.DateField(_("approved to"))
    # The cities (the province's direct subdivisions) drawn from; none means all of them.
    cities = models.ManyToManyField("accounts.Region", blank=True, related_name="+", verbose_name=_("cities"))
    mode = models.CharField(_("sample size"), max_length=10, choices=SampleMode.choices, default=SampleMode.COUNT)
    amount = models.PositiveIntegerField(_("amount"))
    # The same parameters and seed over the same data draw the same items.
    seed = models.CharField(_("seed"), max_length=64, default=new_seed)
    candidate_count = models.PositiveIntegerField(_("candidates"), default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("drawn by"))
    created_at = models.DateTimeField(_("drawn at"), default=timezone.now)

    objects = SpotCheckBatchQuerySet.as_manager()

    class Meta:
        verbose_name = _("spot-check batch")
        verbose_name_plural = _("spot-check batches")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(approved_to__gte=models.F("approved_from")),
                                   name="spotcheck_range_ordered"),
        ]

    def __str__(self):
        return self.title or f"{self.region.name} {self.created_at:%Y-%m-%d}"


class SpotCheckResult(models.TextChoices):
    PENDING = "pending", _("Not checked")
    PASS = "pass", _("Passed")
    PROBLEM = "problem", _("Problem found")


class SpotCheckItemQuerySet(ScopedQuerySet):
    region_path = "batch__region"


class SpotCheckItem(models.Model):
    """One sampled registration and its result."""

    batch = models.ForeignKey(SpotCheckBatch, on_delete=models.CASCADE, related_name="items")
    registration = models.ForeignKey("registration.Registration", on_delete=models.PROTECT, related_name="+",
                                     verbose_name=_("registration"))
    city = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("city"))
    result = models.CharField(_("result"), max_length=10, choices=SpotCheckResult.choices,
                              default=SpotCheckResult.PENDING)
    description = models.TextField(_("problem description"), blank=True)
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True,
                                   related_name="+", verbose_name=_("checked by"))
    checked_at = models.DateTimeField(_("checked at"), null=True, blank=True)

    objects = SpotCheckItemQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("spot-check item")
        verbose_name_plural = _("spot-check items")
        ordering = ["city_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["batch", "registration"], name="spotcheck_item_once_per_batch"),
        ]
        indexes = [models.Index(fields=["batch", "city", "result"], name="spotcheck_item_batch_idx")]

    def __str__(self):
        return f"{self.batch_id}:{self.registration_id}"


def province_chain(region) -> ReviewChain:
    """One step: the province above the office answers for (the province that drew the batch)."""
    from accounts.models import RegionLevel

    province = region.ancestor_at(RegionLevel.PROVINCE)
    if province is None:
        raise NoReviewAuthority()
    return ReviewChain(initial=None, final=province)


# The office answers (submit), the province accepts (approve) or sends it back with a comment (return), and
# the office answers again. Nothing is rejected: a rectification ends only when the province accepts it.
RECTIFICATION_WORKFLOW = Workflow(
    {
        State.DRAFT: {Action.SUBMIT: State.SUBMITTED},
        State.SUBMITTED: {Action.APPROVE: State.APPROVED, Action.RETURN: State.RETURNED},
        State.RETURNED: {Action.SUBMIT: State.SUBMITTED},
    },
    waiting={State.SUBMITTED: (Step.FINAL,)},
    chain=province_chain,
    applicant_actions=(Action.SUBMIT,),
    comment_required=(Action.SUBMIT, Action.RETURN),
    editable_states=(State.DRAFT, State.RETURNED),
)


class RectificationQuerySet(ReviewableQuerySet):
    # Scoped by the office: the office and every office above it see the task; others get 404.
    region_path = "office"

    def for_office(self, user):
        """Tasks assigned to this official's own office."""
        if not user.is_authenticated or not user.is_active or not user.is_official:
            return self.none()
        return self.filter(office_id=user.region_id)

    def open(self):
        return self.exclude(status=State.APPROVED)


class Rectification(Reviewable):
    """整改: a problem found by a spot check, for the office that approved the registration to put right."""

    item = models.OneToOneField(SpotCheckItem, on_delete=models.PROTECT, related_name="rectification")
    office = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("responsible office"))
    problem = models.TextField(_("problem description"))
    answer = models.TextField(_("what was done"), blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                                   verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    workflow = RECTIFICATION_WORKFLOW
    review_region_field = "office"
    applicant_field = "created_by"

    objects = RectificationQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        verbose_name = _("rectification")
        verbose_name_plural = _("rectifications")
        indexes = [
            # The review-queue indexes of Reviewable.Meta, written out: overriding `indexes` drops them.
            models.Index(fields=["initial_region", "status"]),
            models.Index(fields=["final_region", "status"]),
            models.Index(fields=["submitted_at", "id"]),
            models.Index(fields=["office", "status"], name="rectification_office_idx"),
        ]

    def __str__(self):
        return f"{self.office.name} · {self.item.registration}"

    # The shared workflow's states in this task's own words (待整改, 待验收, 退回重改, 已验收).
    STATUS_LABELS = {
        State.DRAFT: _("Awaiting rectification"),
        State.SUBMITTED: _("Answered, awaiting acceptance"),
        State.RETURNED: _("Sent back for more work"),
        State.APPROVED: pgettext_lazy("rectification", "Accepted"),
    }

    def get_status_display(self):
        return self.STATUS_LABELS.get(self.status) or State(self.status).label

    def is_applicant(self, user) -> bool:
        """The applicant is the office: any official of it answers."""
        return bool(user.is_authenticated and user.is_official and user.region_id == self.office_id)

    def get_applicant(self):
        return None

    @property
    def queue_title(self) -> str:
        return self.item.registration.worker.name

    @property
    def queue_details(self) -> str:
        from swms.pii import mask_id_number

        return f"{self.item.registration.registration_no} · {mask_id_number(self.item.registration.worker.id_number)}"
