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
