"""Notices (#7) and the inbox (我的消息)."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageQuerySet(models.QuerySet):
    def unread(self):
        return self.filter(read_at__isnull=True)


class Message(models.Model):
    """One inbox message (我的消息): review decisions, reminders, system messages."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="messages", verbose_name=_("recipient")
    )
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("content"), blank=True)
    # A path inside the app (the object the message is about); never an outside address.
    link = models.CharField(_("link"), max_length=300, blank=True)
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    # Channels asked for besides the inbox, and when each went out (the task is idempotent).
    want_sms = models.BooleanField(default=False)
    want_email = models.BooleanField(default=False)
    sms_sent_at = models.DateTimeField(null=True, blank=True)
    email_sent_at = models.DateTimeField(null=True, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "read_at"], name="message_user_unread_idx")]

    def __str__(self):
        return self.title


class NoticeCategory(models.TextChoices):
    NOTICE = "notice", _("Notice (通知)")
    ANNOUNCEMENT = "announcement", _("Announcement (公告)")
    POLICY = "policy", _("Policies and regulations")
    PURCHASE = "purchase", _("Government-purchased service project")
    CE = "ce", _("Continuing education")
    OTHER = "other", _("Other")


# Only these may be shown on the public portal: the Guangdong notice (粤民函〔2021〕459号) has the system
# publish "政策法规、通知通告、政府购买社会工作服务项目"; 通知通告 covers notices and announcements.
PUBLIC_CATEGORIES = (NoticeCategory.POLICY, NoticeCategory.NOTICE, NoticeCategory.ANNOUNCEMENT,
                     NoticeCategory.PURCHASE)


class NoticeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class Notice(models.Model):
    """通知公告 sent by an official's office down its subtree. The audience is computed from scope when
    needed (stations, organizations, social workers, lower-level officials of the chosen regions), never
    written out one row per recipient; only reads are stored."""

    sender = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+",
                               verbose_name=_("sender"))
    # The office that sends: the sender's region at the time of writing.
    sender_region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+",
                                      verbose_name=_("issuing office"))
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=20, choices=NoticeCategory.choices)
    # What the official typed (Markdown) and what recipients see: rendered from it, then sanitized, at save.
    # Notices from before Markdown have their stored HTML as the source (Markdown passes HTML through).
    content_source = models.TextField(_("content"), blank=True)
    content = models.TextField(_("content"), help_text=_("Sanitized HTML."))
    to_officials = models.BooleanField(_("lower-level officials"), default=False)
    to_stations = models.BooleanField(_("stations"), default=False)
    to_organizations = models.BooleanField(_("organizations"), default=False)
    to_workers = models.BooleanField(_("social workers"), default=False)
    # Chosen regions below the sender's; none means the sender's whole subtree.
    target_regions = models.ManyToManyField("accounts.Region", blank=True, related_name="+",
                                            verbose_name=_("regions"))
    is_public = models.BooleanField(_("show on the public portal"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=NoticeStatus.choices, default=NoticeStatus.DRAFT)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True, db_index=True)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)
    withdrawn_reason = models.CharField(_("reason for withdrawal"), max_length=300, blank=True)
    # Denormalized audience size at publish time, refreshed by reminders; the read rate's denominator.
    audience_count = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        ordering = ["-published_at", "-created_at"]
        indexes = [models.Index(fields=["sender_region", "status", "published_at"], name="notice_sender_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(is_public=False) | models.Q(category__in=[c.value for c in PUBLIC_CATEGORIES]),
                name="notice_public_only_portal_categories",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_draft(self) -> bool:
        return self.status == NoticeStatus.DRAFT


class NoticeAttachment(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="notices/", max_length=200)
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self):
        return self.original_name


class NoticeRead(models.Model):
    """A read receipt: the only per-recipient row a notice ever gets."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reads")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    read_at = models.DateTimeField(_("read at"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["notice", "user"], name="notice_read_once")]

    def __str__(self):
        return f"{self.notice_id}/{self.user_id}"


class NoticeReminder(models.Model):
    """A reminder sent to the unread recipients of a notice (inbox + SMS), by batches in Celery."""

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="reminders")
    sent_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    recipients = models.PositiveIntegerField(default=0)
    # Progress cursor: users are reminded in id order, so a re-run resumes instead of repeating.
    last_user_id = models.BigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"{self.notice_id} {self.created_at:%Y-%m-%d}"


class DigestSent(models.Model):
    """One weekly review digest per official and week: the task is idempotent on this row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    week = models.DateField(help_text=_("Monday of the week."))
    message = models.ForeignKey(Message, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "week"], name="one_digest_per_week")]

    def __str__(self):
        return f"{self.user_id} {self.week}"
