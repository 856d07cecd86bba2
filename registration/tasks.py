"""Certificate issue in the background (Celery)."""

from celery import shared_task
from django.db import OperationalError
from django.utils import timezone

from swms.outbox import enqueue_now

from .certificates import certificate_issue
from .models import Certificate, Registration


@shared_task(autoretry_for=(OperationalError, OSError), retry_backoff=True, max_retries=5)
def issue_certificate(registration_id: int) -> int:
    """Issue one registration's certificate (idempotent: a re-run returns the existing one)."""
    return certificate_issue(registration_id=registration_id).pk


@shared_task
def issue_due_certificates() -> int:
    """Daily (beat): queue every valid registration whose certificate is due and not yet issued."""
    due = (
        Registration.objects.filter(status=Registration.Status.VALID, certificate_due_on__lte=timezone.localdate())
        .exclude(pk__in=Certificate.objects.current().values("registration_id"))
        .values_list("pk", flat=True)
    )
    count = 0
    for pk in due.iterator():
        enqueue_now(issue_certificate, pk)  # through the outbox: kept if the broker is down
        count += 1
    return count


@shared_task
def freeze_overdue_registrations() -> int:
    """Monthly (beat): freeze registrations overdue for renewal beyond the grace period."""
    from .freeze import registrations_freeze_overdue

    return registrations_freeze_overdue()
