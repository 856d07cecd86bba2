"""Background jobs shared by the apps."""

from celery import shared_task
from django.core.files import File
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.module_loading import import_string


class _JobRequest:
    """What a table builder reads from a request: the user and the query string."""

    def __init__(self, user, params: str):
        self.user = user
        self.GET = QueryDict(params)


@shared_task(acks_late=True)
def run_export(job_id: int) -> str:
    """Write an export job's workbook with progress; a finished job is left alone (idempotent)."""
    import tempfile

    from swms.exports import write_xlsx
    from swms.models import ExportJob

    with transaction.atomic():
        job = ExportJob.objects.select_for_update().select_related("user").get(pk=job_id)
        if job.status == ExportJob.Status.DONE:
            return job.status
        job.status, job.done_rows, job.error = ExportJob.Status.RUNNING, 0, ""
        job.save(update_fields=["status", "done_rows", "error"])

    def progress(n):
        ExportJob.objects.filter(pk=job_id).update(done_rows=n)

    try:
        table = import_string(job.builder)(_JobRequest(job.user, job.params))
        with tempfile.TemporaryFile(suffix=".xlsx") as handle:
            rows = write_xlsx(handle, table.headers, table.rows, table.sheet_title, progress=progress)
            handle.seek(0)
            job.file.save(job.filename, File(handle), save=False)
    except Exception as error:  # reported on the job's page; the user can start it again
        ExportJob.objects.filter(pk=job_id).update(status=ExportJob.Status.FAILED, error=str(error)[:500],
                                                   finished_at=timezone.now())
        raise
    ExportJob.objects.filter(pk=job_id).update(status=ExportJob.Status.DONE, file=job.file.name, done_rows=rows,
                                               total=rows, finished_at=timezone.now())
    return ExportJob.Status.DONE
