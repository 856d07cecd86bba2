"""Changes after registration: region/employer change and profile change requests."""


from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from swms.workflow import (
    Reviewable,
    ReviewableQuerySet,
)

from .applications import APPLICATION_WORKFLOW
from .common import county_check_workflow
from .profiles import SocialWorker


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
