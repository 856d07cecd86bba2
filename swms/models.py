"""Shared models: the vocabulary of the review workflow and its append-only log (see swms/workflow.py)."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.operator_roles import OPERATE_SYSTEM, can


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
    import pgtrigger

    # The one UPDATE the append-only log allows: a derived column filled where it is empty (swms/append_only.py).
    with pgtrigger.ignore("swms.ReviewLog:append_only_update"), connection.cursor() as cursor:
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


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """Operators see every import; a province official those of their province (any official's); nobody
        else any (the import centre is theirs alone: swms.import_jobs.may_import)."""
        from .import_jobs import may_import

        if not may_import(user):
            return self.none()
        if can(user, OPERATE_SYSTEM):
            return self.all()
        region = user.region
        return self.filter(scope__tree_id=region.tree_id, scope__lft__gte=region.lft, scope__rght__lte=region.rght)


class ImportJob(models.Model):
    """One file brought in through the import centre (导入中心): uploaded, checked by a dry run whose report
    the uploader reads, then imported on confirmation — each step a background job with progress. Kept as
    the history of imports: who, when, which file (name and SHA-256) and what it did."""

    class Status(models.TextChoices):
        CHECK_QUEUED = "check_queued", _("Waiting to be checked")
        CHECKING = "checking", _("Checking")
        CHECKED = "checked", _("Checked, waiting for confirmation")
        IMPORT_QUEUED = "import_queued", _("Waiting to be imported")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    kind = models.CharField(_("kind of data"), max_length=40)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                             verbose_name=_("uploaded by"))
    # The office's region whose subtree the rows must lie in; null for an operator (the whole country).
    scope = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
                              verbose_name=_("region"))
    file = models.FileField(upload_to="imports/%Y/%m/", max_length=200)
    file_name = models.CharField(_("file name"), max_length=200)
    size = models.PositiveBigIntegerField(_("size"))
    sha256 = models.CharField("SHA-256", max_length=64, db_index=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.CHECK_QUEUED)
    total = models.PositiveIntegerField(default=0)
    done_rows = models.PositiveIntegerField(default=0)
    check_report = models.JSONField(default=dict, blank=True)  # ImportReport.summary() of the dry run
    result = models.JSONField(default=dict, blank=True)  # ImportReport.summary() of the import
    error_file = models.FileField(upload_to="imports/errors/%Y/%m/", blank=True, max_length=200)
    error = models.TextField(blank=True)  # why the file could not be read, or what failed
    language = models.CharField(max_length=10, default="zh-hans")  # the uploader's, for the reports' messages
    created_at = models.DateTimeField(_("uploaded at"), default=timezone.now)
    heartbeat_at = models.DateTimeField(default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["scope", "-created_at"], name="importjob_scope_idx")]

    def __str__(self):
        return f"{self.file_name} ({self.status})"

    @property
    def running(self) -> bool:
        return self.status in (self.Status.CHECK_QUEUED, self.Status.CHECKING, self.Status.IMPORT_QUEUED,
                               self.Status.IMPORTING)

    @property
    def percent(self) -> int:
        return min(100, int(self.done_rows * 100 / self.total)) if self.total else 0

    @property
    def report(self) -> dict:
        """The import's report once it ran, else the dry run's."""
        return self.result or self.check_report


class OutboxTask(models.Model):
    """A Celery task queued by the web (swms/outbox.py): written in the caller's transaction, so it exists
    exactly when the change that queued it committed; published to the broker at commit, or later by
    `drain_outbox` (beat, every minute) when the broker was unreachable. `sent_at` is set once published."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    # The Celery task id it is published under (the worker's logs name it).
    task_id = models.CharField(max_length=36, unique=True)
    # The id of the request that queued it (X-Request-ID), carried into the task's message when published.
    request_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        verbose_name = _("queued task")
        verbose_name_plural = _("queued tasks (outbox)")
        ordering = ["id"]
        indexes = [
            # The drain reads the pending rows oldest first; they are few, the sent ones many.
            models.Index(fields=["id"], name="outbox_pending", condition=models.Q(sent_at__isnull=True)),
            models.Index(fields=["sent_at"], name="outbox_sent_at"),
        ]

    def __str__(self):
        return f"{self.task} #{self.pk}"


class WorkerHeartbeat(models.Model):
    """The last sign of life of each Celery worker (swms/heartbeats.py), in the database: Redis may be the
    very thing that is down. `manage.py celery_status` and the admin show them."""

    hostname = models.CharField(max_length=200, unique=True)
    queues = models.JSONField(default=list, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    concurrency = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")
        ordering = ["hostname"]

    def __str__(self):
        return self.hostname


class BeatHeartbeat(models.Model):
    """One row: when beat last sent its heartbeat task, and when a worker last ran it."""

    sent_at = models.DateTimeField(null=True, blank=True)
    ran_at = models.DateTimeField(null=True, blank=True)
    ran_by = models.CharField(max_length=200, blank=True)

    class Meta:
        verbose_name = _("beat heartbeat")
        verbose_name_plural = _("beat heartbeat")

    def __str__(self):
        return f"beat (sent {self.sent_at}, ran {self.ran_at})"
