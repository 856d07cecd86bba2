"""Inbox services: every message to a user goes through `message_send`."""

from __future__ import annotations

from django.utils import timezone

from accounts.models import User

from .models import Message


def message_send(
    *, user: User, title: str, body: str = "", link: str = "", sms: bool = False, email: bool = False
) -> Message:
    """Put a message in the user's inbox; SMS and email go out after commit through a Celery task."""
    message = Message.objects.create(
        user=user, title=title[:200], body=body, link=link, want_sms=sms, want_email=email
    )
    if sms or email:
        from swms.outbox import enqueue

        from .tasks import deliver_message

        enqueue(deliver_message, message.pk)  # published at commit; kept if the broker is down
    return message


def message_mark_read(*, message: Message) -> Message:
    """Mark one message read (idempotent)."""
    if message.read_at is None:
        message.read_at = timezone.now()
        message.save(update_fields=["read_at"])
    return message


def messages_mark_all_read(*, user: User) -> int:
    """Mark every unread message of the user read; returns how many."""
    return Message.objects.filter(user=user).unread().update(read_at=timezone.now())
