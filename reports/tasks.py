"""Report jobs for Celery beat."""

from celery import shared_task


@shared_task
def rebuild_statistics() -> int:
    """Nightly: rebuild the statistics aggregates from the records (the incremental updates keep
    them current during the day; this repairs anything a change outside the services missed)."""
    from .aggregates import rebuild

    return rebuild()
