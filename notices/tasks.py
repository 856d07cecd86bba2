"""Delivery of inbox messages by SMS and email."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from swms.outbox import enqueue, enqueue_now
from swms.sms import SMSTransientError, send_sms

from .models import Message

logger = logging.getLogger(__name__)


def _contact(user, field: str) -> str:
    """The user's phone or email: the profile's if they have one, else the account's."""
    profile = getattr(user, "social_worker", None) if user.kind == "social_worker" else None
    value = ""
    if profile is not None:
        value = getattr(profile, "mobile" if field == "phone" else "email", "") or ""
    return value or getattr(user, field, "") or ""


# A failed SMS or mail is tried again after about 30 s, 1, 2, 4, 8, 10 min (exponential, full jitter), 6 times.
RETRY_BACKOFF = 30
RETRY_BACKOFF_MAX = 600
MAX_RETRIES = 6


class TransientDeliveryError(Exception):
    """A send that may succeed later (the SMS gateway or the mail server did not answer)."""


def _transient(error: Exception) -> bool:
    """Worth trying again: the provider's transient error, a network failure or timeout, an SMTP answer other
    than a permanent 5xx refusal (a bad address is not tried again)."""
    if isinstance(error, (SMSTransientError, TransientDeliveryError, ConnectionError, TimeoutError)):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):  # every recipient refused: a bad address
        return False
    if isinstance(error, smtplib.SMTPResponseException):
        return not 500 <= error.smtp_code < 600
    return isinstance(error, (smtplib.SMTPException, OSError))


def _send_channel(message_id: int, channel: str) -> bool:
    """Send one channel ("sms" or "email") of a message if it is wanted and not sent yet, and mark it sent in
    the same transaction, with the message row locked: a second delivery (redelivery, retry, a double queue)
    waits for the first and then finds it sent. Each channel commits on its own, so a mail failure does not
    make the SMS go out again on the retry. Returns True if it sent."""
    sent_field, want_field = f"{channel}_sent_at", f"want_{channel}"
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("user").filter(pk=message_id).first()
        if message is None or not getattr(message, want_field) or getattr(message, sent_field) is not None:
            return False
        if channel == "sms":
            phone = _contact(message.user, "phone")
            if not phone:
                return False
            send_sms(phone, f"【{settings.SWMS_SMS_SIGNATURE}】{message.title}")
        else:
            address = _contact(message.user, "email")
            if not address:
                return False
            send_mail(message.title, message.body or message.title, None, [address])
        setattr(message, sent_field, timezone.now())
        message.save(update_fields=[sent_field])
    return True


def _deliver(message_id: int) -> dict:
    """Send what is due of a message; raises the first transient failure after trying every channel."""
    sent = {"sms": False, "email": False}
    failure = None
    for channel in sent:
        try:
            sent[channel] = _send_channel(message_id, channel)
        except Exception as error:
            if not _transient(error):
                raise
            failure = failure or error
    if failure is not None:
        raise TransientDeliveryError(f"{type(failure).__name__}: {failure}") from failure
    return sent


@shared_task(bind=True, max_retries=MAX_RETRIES)
def deliver_message(self, message_id: int) -> dict:
    """Send a message's SMS and email once each; re-running sends nothing twice. A transient failure of the
    SMS gateway or the mail server is retried with exponential backoff and jitter, up to MAX_RETRIES times."""
    try:
        return _deliver(message_id)
    except TransientDeliveryError as error:
        if self.request.called_directly:
            raise
        countdown = get_exponential_backoff_interval(RETRY_BACKOFF, self.request.retries, RETRY_BACKOFF_MAX,
                                                     full_jitter=True)
        logger.warning("message %s: delivery failed (%s), retry %s/%s in %s s", message_id, error,
                       self.request.retries + 1, self.max_retries, countdown)
        raise self.retry(exc=error, countdown=countdown) from error


REMINDER_BATCH = 500


@shared_task
def deliver_messages(message_ids: list[int]) -> int:
    """Deliver a batch of messages (one task per batch, not per message). A message whose SMS or mail failed
    for now gets a `deliver_message` task of its own, which retries with backoff."""
    delivered = 0
    for pk in message_ids:
        try:
            delivered += any(_deliver(pk).values())
        except TransientDeliveryError as error:
            logger.warning("message %s: delivery failed (%s), queued on its own", pk, error)
            enqueue(deliver_message, pk)
    return delivered


@shared_task
def send_notice_reminder(reminder_id: int) -> int:
    """Remind every unread recipient of a notice, in id order and batches; resumable and idempotent."""
    from django.urls import reverse

    from .audience import audience_users
    from .models import NoticeRead, NoticeReminder

    reminder = NoticeReminder.objects.select_related("notice").get(pk=reminder_id)
    notice = reminder.notice
    if reminder.finished_at is not None:
        return 0
    unread = audience_users(notice).exclude(pk__in=NoticeRead.objects.filter(notice=notice).values("user_id"))
    link = reverse("notices:notice-detail", args=[notice.pk])
    title = f"【未读提醒】{notice.title}"
    sent = 0
    while True:
        with transaction.atomic():
            locked = NoticeReminder.objects.select_for_update().get(pk=reminder_id)
            ids = list(unread.filter(pk__gt=locked.last_user_id).order_by("pk").values_list("pk", flat=True)
                       [:REMINDER_BATCH])
            if not ids:
                locked.finished_at = timezone.now()
                locked.save(update_fields=["finished_at"])
                break
            created = Message.objects.bulk_create(
                [Message(user_id=pk, title=title[:200], body=notice.title, link=link, want_sms=True) for pk in ids]
            )
            locked.last_user_id = ids[-1]
            locked.recipients += len(ids)
            locked.save(update_fields=["last_user_id", "recipients"])
            message_ids = [m.pk for m in created]
            enqueue(deliver_messages, message_ids)  # with this batch's commit (swms/outbox.py)
            sent += len(ids)
    return sent


DIGEST_BATCH = 200


@shared_task
def send_weekly_digests(week: str | None = None) -> int:
    """Beat: queue the week's digests in batches of officials, so a province does not block a worker."""
    import datetime

    from accounts.models import User, UserKind

    from .digest import week_of

    week = week or week_of(timezone.localdate()).isoformat()
    datetime.date.fromisoformat(week)  # a bad argument fails here, not in every batch
    ids = list(User.objects.filter(kind=UserKind.OFFICIAL, is_active=True, region__isnull=False)
               .order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), DIGEST_BATCH):
        enqueue_now(send_digest_batch, ids[start:start + DIGEST_BATCH], week)
    return len(ids)


@shared_task
def send_digest_batch(user_ids: list[int], week: str) -> int:
    """Send the week's digest to each official of the batch (each at most once a week)."""
    import datetime

    from accounts.models import User

    from .digest import digest_send

    day = datetime.date.fromisoformat(week)
    return sum(1 for user in User.objects.filter(pk__in=user_ids).select_related("region")
               if digest_send(user, day))
