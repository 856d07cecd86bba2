"""Continuing education (继续教育): hours, offline claims, courseware."""


from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from swms.workflow import (
    Action,
    Reviewable,
    ReviewableQuerySet,
    State,
    Step,
    Workflow,
)

from .common import county_check_workflow
from .profiles import SocialWorker


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
