"""Station jobs for Celery beat."""

from celery import shared_task


@shared_task
def sync_operator_permissions() -> dict:
    """Daily: expire operators past their validity and keep the object permissions in step."""
    from .services import sync_operator_permissions as sync

    return sync()
