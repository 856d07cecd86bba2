"""Delivery of inbox messages by SMS and email."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from swms.sms import send_sms

from .models import Message


def _contact(user, field: str) -> str:
    """The user's phone or email: the profile's if they have one, else the account's."""
    profile = getattr(user, "social_worker", None) if user.kind == "social_worker" else None
    value = ""
    if profile is not None:
        value = getattr(profile, "mobile" if field == "phone" else "email", "") or ""
    return value or getattr(user, field, "") or ""


@shared_task(bind=True, autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, max_retries=5)
def deliver_message(self, message_id: int) -> dict:
    """Send a message's SMS and email once each; re-running sends nothing twice."""
    sent = {"sms": False, "email": False}
    with transaction.atomic():
        message = Message.objects.select_for_update().select_related("user").filter(pk=message_id).first()
        if message is None:
            return sent
        user = message.user
        if message.want_sms and message.sms_sent_at is None:
            phone = _contact(user, "phone")
            if phone:
                send_sms(phone, f"【{settings.SWMS_SMS_SIGNATURE}】{message.title}")
                message.sms_sent_at = timezone.now()
                sent["sms"] = True
        if message.want_email and message.email_sent_at is None:
            address = _contact(user, "email")
            if address:
                send_mail(message.title, message.body or message.title, None, [address])
                message.email_sent_at = timezone.now()
                sent["email"] = True
        message.save(update_fields=["sms_sent_at", "email_sent_at"])
    return sent


REMINDER_BATCH = 500


@shared_task
def deliver_messages(message_ids: list[int]) -> int:
    """Deliver a batch of messages (one task per batch, not per message)."""
    return sum(1 for pk in message_ids if any(deliver_message.run(pk).values()))


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
            transaction.on_commit(lambda ids=message_ids: deliver_messages.delay(ids))
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
        send_digest_batch.delay(ids[start:start + DIGEST_BATCH], week)
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
