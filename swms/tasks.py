"""Background jobs shared by the apps."""

from datetime import timedelta

from celery import shared_task
from django.core.files import File
from django.http import QueryDict
from django.utils import timezone
from django.utils.module_loading import import_string


class _JobRequest:
    """What a table builder reads from a request: the user and the query string."""

    def __init__(self, user, params: str):
        self.user = user
        self.GET = QueryDict(params)


class _Superseded(Exception):
    """The job was swept as stale or restarted while this runner was writing it: stop quietly."""


@shared_task(acks_late=True)
def run_export(job_id: int, attempt: int | None = None) -> str:
    """Write a waiting export job's file (xlsx or csv) with progress and heartbeat. Only a PENDING job of
    this attempt is run: a finished, failed or already running job, or an older attempt's message
    (redelivery, double queueing), is left alone (idempotent)."""
    import tempfile
    import time

    from django.conf import settings

    from swms.exports import write_csv, write_xlsx
    from swms.models import ExportJob

    # Claim the job with one conditional UPDATE (no read-then-write: also safe on SQLite, where the demo's
    # thread and its web requests write side by side).
    claim = ExportJob.objects.filter(pk=job_id, status=ExportJob.Status.PENDING)
    if attempt is not None:
        claim = claim.filter(attempt=attempt)
    if not claim.update(status=ExportJob.Status.RUNNING, done_rows=0, error="", heartbeat_at=timezone.now()):
        return ExportJob.objects.values_list("status", flat=True).get(pk=job_id)
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    mine = ExportJob.objects.filter(pk=job_id, attempt=job.attempt, status=ExportJob.Status.RUNNING)
    last_beat = time.monotonic()

    def progress(n):
        nonlocal last_beat
        if time.monotonic() - last_beat < 1:  # one small UPDATE a second at most, not one per 500 rows
            return
        last_beat = time.monotonic()
        if not mine.update(done_rows=n, heartbeat_at=timezone.now()):
            raise _Superseded

    try:
        table = import_string(job.builder)(_JobRequest(job.user, job.params))
        with tempfile.TemporaryFile(suffix=f".{job.format}") as handle:
            if job.format == ExportJob.Format.CSV:
                rows = write_csv(handle, table.headers, table.rows, progress=progress)
            else:
                rows = write_xlsx(handle, table.headers, table.rows, table.sheet_title, progress=progress)
            size = handle.tell()
            handle.seek(0)
            job.file.save(job.filename, File(handle), save=False)
    except _Superseded:
        return ExportJob.objects.values_list("status", flat=True).get(pk=job_id)
    except Exception as error:  # reported on the job's page; the user can start it again
        mine.update(status=ExportJob.Status.FAILED, error=str(error)[:500], finished_at=timezone.now())
        raise
    now = timezone.now()
    expires = now + timedelta(days=settings.SWMS_EXPORT_RETENTION_DAYS)
    if not mine.update(status=ExportJob.Status.DONE, file=job.file.name, done_rows=rows, total=rows, size=size,
                       finished_at=now, heartbeat_at=now, expires_at=expires):
        job.file.delete(save=False)  # swept or restarted meanwhile: this file belongs to nobody
        return ExportJob.objects.values_list("status", flat=True).get(pk=job_id)
    return ExportJob.Status.DONE


@shared_task
def sweep_stale_exports_task() -> int:
    """Beat: mark export jobs and import steps whose runner died as failed (swms.exports.sweep_stale_exports,
    swms.import_jobs.sweep_stale_imports)."""
    from swms.exports import sweep_stale_exports
    from swms.import_jobs import sweep_stale_imports

    return sweep_stale_exports() + sweep_stale_imports()


@shared_task
def purge_expired_exports_task() -> int:
    """Beat: delete export files past their retention (see swms.exports.purge_expired_exports)."""
    from swms.exports import purge_expired_exports

    return purge_expired_exports()


@shared_task(acks_late=True)
def run_import_step(job_id: int, phase: str) -> str:
    """An import centre job's check (dry run) or import; idempotent (see swms.import_jobs.run_step)."""
    from swms.import_jobs import run_step

    return run_step(job_id, phase)


@shared_task
def purge_expired_records_task() -> dict:
    """Beat, daily: records and files past their retention (swms.retention.purge); idempotent."""
    from swms.retention import purge

    return purge()


@shared_task
def drain_outbox() -> dict:
    """Beat, every minute: publish the queued tasks whose publish at commit failed (swms/outbox.py)."""
    from swms.outbox import drain

    return drain()


@shared_task(bind=True)
def beat_heartbeat(self) -> str:
    """Beat, every minute: the worker that runs it records when (beat's sending is recorded by
    swms/heartbeats.py); `manage.py celery_status` shows both."""
    from swms.heartbeats import record_beat_ran

    hostname = self.request.hostname or ""
    record_beat_ran(hostname)
    return hostname
