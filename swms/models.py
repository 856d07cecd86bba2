"""Shared models: the vocabulary of the review workflow and its append-only log (see swms/workflow.py)."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    COUNTY_APPROVED = "county_approved", _("Initial review passed")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    RETURNED = "returned", _("Returned for changes")
    # Closed by the applicant before a decision (an application the worker no longer wants).
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Action(models.TextChoices):
    SUBMIT = "submit", _("Submit")
    WITHDRAW = "withdraw", _("Withdraw")
    APPROVE = "approve", _("Approve")
    REJECT = "reject", _("Reject")
    RETURN = "return", _("Return for changes")
    # The review authority hands a decided item back for one more round (e.g. an approved profile
    # after its change request was granted); taken by a service, never offered as a button.
    REOPEN = "reopen", _("Unlock for changes")
    # Oversight of a registered worker by the city or province above (registration/services/oversight.py):
    # logged against the worker's profile, never transitions of a workflow table.
    FREEZE = "freeze", _("Freeze the registration")
    UNFREEZE = "unfreeze", _("Unfreeze the registration")
    CANCEL = "cancel", _("Cancel the registration")


class Step(models.TextChoices):
    APPLICANT = "applicant", _("Applicant")
    INITIAL = "initial", _("Initial review")
    FINAL = "final", _("Final review")


class AppendOnlyError(Exception):
    """Raised on any attempt to change or remove a review log row."""


class ReviewLogQuerySet(models.QuerySet):
    # Bulk paths bypass Model.save()/delete(), so they are closed here as well.
    def update(self, **kwargs):
        raise AppendOnlyError(_("The review log is append-only."))

    def delete(self):
        raise AppendOnlyError(_("The review log is append-only."))


class ReviewLog(models.Model):
    """One review action on one reviewable item: who, in which capacity, from which state to which, why."""

    content_type = models.ForeignKey(
        ContentType, on_delete=models.PROTECT, related_name="+", verbose_name=_("item type")
    )
    object_id = models.PositiveBigIntegerField(_("item id"))
    item = GenericForeignKey("content_type", "object_id")
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    step = models.CharField(_("step"), max_length=20, choices=Step.choices)
    # PROTECT: an account that has reviewed something is deactivated, never deleted (audit trail).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("actor")
    )
    # The actor's region at the time of the action; officials move, the record must not.
    actor_region = models.ForeignKey(
        "accounts.Region",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("actor's region"),
    )
    # Workflows declare their tables over the shared State vocabulary; choices give display names.
    from_state = models.CharField(_("from state"), max_length=20, choices=State.choices)
    to_state = models.CharField(_("to state"), max_length=20, choices=State.choices)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # On a reviewer's row: when the submission it acted on was made (days to decision without looking back).
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)

    objects = ReviewLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("review log entry")
        verbose_name_plural = _("review log")
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["content_type", "object_id"], name="swms_reviewlog_item_idx")]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.action} {self.from_state} → {self.to_state}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnlyError(_("The review log is append-only."))
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnlyError(_("The review log is append-only."))


# Reviewers' rows written before `submitted_at` was stored (or by bulk loaders): the latest submission of the
# same item at or before the row. One statement; PostgreSQL and SQLite alike.
FILL_SUBMITTED_AT_SQL = """
UPDATE swms_reviewlog SET submitted_at = (
    SELECT MAX(s.created_at) FROM swms_reviewlog s
    WHERE s.content_type_id = swms_reviewlog.content_type_id AND s.object_id = swms_reviewlog.object_id
      AND s.action = 'submit' AND s.created_at <= swms_reviewlog.created_at)
WHERE step IN ('initial', 'final') AND submitted_at IS NULL
"""


def fill_review_log_submissions(connection) -> int:
    """Give reviewers' log rows without one the time of the submission they acted on; returns the row count."""
    with connection.cursor() as cursor:
        cursor.execute(FILL_SUBMITTED_AT_SQL)
        return cursor.rowcount


def review_log_for(obj) -> models.QuerySet[ReviewLog]:
    """The review log rows of one item, oldest first."""
    return ReviewLog.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).order_by("created_at", "id")


class ExportJob(models.Model):
    """A large export written in the background (a Celery worker, or a thread without a broker), with
    progress, for its requester only; the file is removed after SWMS_EXPORT_RETENTION_DAYS."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        EXPIRED = "expired", _("Expired")

    class Format(models.TextChoices):
        XLSX = "xlsx", "Excel"
        CSV = "csv", "CSV"

    # `error` of a job marked failed by the sweep: its runner stopped sending heartbeats.
    STALE = "stale"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    # Dotted path of the function that rebuilds the table from (user, query string): the same code as
    # the page's own list, so the export holds exactly what the page showed.
    builder = models.CharField(max_length=200)
    params = models.TextField(blank=True)
    filename = models.CharField(max_length=200)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    format = models.CharField(max_length=4, choices=Format.choices, default=Format.XLSX)
    total = models.PositiveIntegerField(default=0)
    done_rows = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="exports/", blank=True, max_length=200)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    # Each retry is a new attempt: a runner of an older attempt (a late Celery redelivery) does nothing.
    attempt = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(default=timezone.now)
    # Touched with the progress; a running job without a heartbeat for a while has lost its runner.
    heartbeat_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "-created_at"], name="exportjob_user_idx"),
            models.Index(fields=["status", "heartbeat_at"], name="exportjob_status_idx"),
        ]

    def __str__(self):
        return f"{self.filename} ({self.status})"

    @property
    def percent(self) -> int:
        return int(self.done_rows * 100 / self.total) if self.total else (100 if self.status == "done" else 0)

    @property
    def stalled(self) -> bool:
        return self.status == self.Status.FAILED and self.error == self.STALE
