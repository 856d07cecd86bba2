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
