"""Excel (.xlsx) and CSV exports of filtered lists, written row by row as the rows come from the
database, never the whole table in memory (swms/xlsx.py). Small lists download at once; large ones
(over SWMS_EXPORT_SYNC_ROWS) become an `ExportJob` written in the background — by a Celery worker when a
broker is configured, else by a thread of the web process — whose page shows the progress, then the
download until the file expires (SWMS_EXPORT_RETENTION_DAYS). A job whose runner died is marked failed
by the sweep (no heartbeat for SWMS_EXPORT_STALE_MINUTES) and its owner can start it again.

A list page exports through one function that rebuilds its table from (user, query string):

    def client_table(request) -> Table: ...          # uses request.user and request.GET only
    if export_requested(request):                    # ?export=xlsx or ?export=csv
        return export_response(request, client_table)

and its template shows the buttons with `{% load swms %}{% export_buttons %}` (the current query
string, without the page number, plus the format).
"""

from __future__ import annotations

import csv
import datetime
import io
import logging
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import connections, transaction
from django.db.models import F
from django.http import FileResponse
from django.shortcuts import redirect
from django.utils import timezone

from swms.db_router import outside_replica_reads, streaming_reads
from swms.xlsx import write_xlsx_stream

logger = logging.getLogger(__name__)

EXPORT_FORMATS = ("xlsx", "csv")


def export_requested(request) -> bool:
    """True if the list page was asked for a file (?export=xlsx or ?export=csv) rather than HTML."""
    return request.GET.get("export") in EXPORT_FORMATS


@dataclass
class Table:
    filename: str
    headers: list
    rows: Iterable[Iterable]
    sheet_title: str
    total: int


def export_response(request, builder: Callable[..., Table], **params):
    """Download the table now, or queue it as a background job and show its progress page.

    `params` are added to the query string the builder reads (and the job stores), for what the page has in
    its path rather than its query string: `export_response(request, receipts_table, notice=notice.pk)`."""
    from accounts.reauth import has_recent_auth, reauth_redirect
    from swms.models import ExportJob

    # Lists hold personal data: a file of one asks for the password again after SWMS_REAUTH_MINUTES (A6).
    if not has_recent_auth(request):
        return reauth_redirect(request)
    from swms.throttle import check

    refused = check(request, "export")  # D3: so many files per hour per user and per address
    if refused is not None:
        return refused
    if params:
        query = request.GET.copy()
        for name, value in params.items():
            query[name] = str(value)
        request.GET = query
    table = builder(request)
    fmt = request.GET.get("export")
    # L1: who took which list, how many rows, from which page (the filters stay out: they may hold names).
    from accounts.models import SecurityEvent
    from accounts.services import security_event_record

    security_event_record(kind=SecurityEvent.Kind.PI_EXPORT, request=request, target=request.user,
                          detail=f"{table.filename} · {table.total} · {request.path}")
    if fmt == "csv":
        table.filename = table.filename.rsplit(".", 1)[0] + ".csv"
    if table.total <= settings.SWMS_EXPORT_SYNC_ROWS:
        if fmt == "csv":
            return csv_response(table.filename, table.headers, table.rows)
        return xlsx_response(table.filename, table.headers, table.rows, sheet_title=table.sheet_title)
    params = request.GET.copy()
    params.pop("export", None)
    now = timezone.now()
    job = ExportJob.objects.create(user=request.user, builder=f"{builder.__module__}.{builder.__qualname__}",
                                   params=params.urlencode(), filename=table.filename, total=table.total,
                                   format="csv" if fmt == "csv" else "xlsx", created_at=now, heartbeat_at=now)
    queue_export(job.pk, job.attempt)
    return redirect("export-detail", pk=job.pk)


def export_runner() -> str:
    """How a background export runs: "celery" with a broker, else "thread" (the demo without Redis);
    "inline" (in the commit hook of the request) is for tests only. SWMS_EXPORT_RUNNER overrides."""
    return settings.SWMS_EXPORT_RUNNER or ("celery" if settings.CELERY_BROKER_URL else "thread")


def queue_export(job_id: int, attempt: int) -> None:
    """Start a job once the current transaction commits (see `queue_in_background`)."""
    from swms.tasks import run_export

    queue_in_background(run_export, job_id, attempt, name=f"export-{job_id}")


def queue_in_background(task, *args, name: str) -> None:
    """Inside the transaction that created or reset a job: with a broker, the task goes through the outbox
    (written in this transaction, published at commit or by the drain if Redis is down: swms/outbox.py); the
    other runners start at commit (`start_in_background`)."""
    if export_runner() == "celery":
        from swms.outbox import enqueue

        enqueue(task, *args)
    else:
        transaction.on_commit(partial(start_in_background, task, *args, name=name))


def start_export(job_id: int, attempt: int) -> None:
    """Hand a committed job to its runner. Never runs a large export in the request itself: without a
    broker, eager Celery would, and gunicorn would kill it at its timeout leaving the job "running"."""
    from swms.tasks import run_export

    start_in_background(run_export, job_id, attempt, name=f"export-{job_id}")


def start_in_background(task, *args, name: str) -> None:
    """Run a Celery task of a job (an export, an import) by `export_runner()`: queued for a worker, in the
    caller (tests), or in a daemon thread of this process (the demo without a broker)."""
    runner = export_runner()
    if runner == "celery":
        from swms.outbox import enqueue

        enqueue(task, *args)
    elif runner == "inline":
        task(*args)
    else:
        thread = threading.Thread(target=_run_in_thread, args=(task, *args), daemon=True, name=name)
        _threads.append(thread)
        thread.start()


_threads: list[threading.Thread] = []


def _run_in_thread(task, *args) -> None:
    try:
        task(*args)
    except Exception:  # already recorded on the job (FAILED); the thread just ends
        logger.exception("background job %s%s failed", task.name, args)
    finally:
        connections.close_all()  # this thread's own connections, not the request's


def wait_for_export_threads(timeout: float = 60) -> None:
    """Join the background job threads of this process (tests, and `manage.py` scripts that export)."""
    while _threads:
        _threads.pop().join(timeout)


def export_retry(*, job_id: int, user) -> bool:
    """Start a failed job of `user` again (a new attempt); anything else is left alone, so a double click
    or a stale form does nothing. Returns True if the job was restarted."""
    from swms.models import ExportJob

    now = timezone.now()
    # One conditional UPDATE decides (two clicks: the second finds the job no longer failed).
    if not ExportJob.objects.filter(pk=job_id, user=user, status=ExportJob.Status.FAILED).update(
            status=ExportJob.Status.PENDING, attempt=F("attempt") + 1, done_rows=0, error="", heartbeat_at=now,
            finished_at=None):
        return False
    attempt = ExportJob.objects.values_list("attempt", flat=True).get(pk=job_id)
    queue_export(job_id, attempt)
    return True


def sweep_stale_exports(**filters) -> int:
    """Mark jobs whose runner died (no heartbeat for SWMS_EXPORT_STALE_MINUTES) as failed, so that their
    owner sees it and can start them again. Returns how many."""
    from swms.models import ExportJob

    cutoff = timezone.now() - datetime.timedelta(minutes=settings.SWMS_EXPORT_STALE_MINUTES)
    return ExportJob.objects.filter(
        status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING], heartbeat_at__lt=cutoff, **filters,
    ).update(status=ExportJob.Status.FAILED, error=ExportJob.STALE, finished_at=timezone.now())


def purge_expired_exports() -> int:
    """Delete the files of finished jobs past their expiry (SWMS_EXPORT_RETENTION_DAYS). Returns how many."""
    from swms.models import ExportJob

    count = 0
    for job in ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=timezone.now()).iterator():
        if job.file:
            job.file.delete(save=False)
        count += ExportJob.objects.filter(pk=job.pk, status=ExportJob.Status.DONE).update(
            status=ExportJob.Status.EXPIRED, file="")
    return count


def write_xlsx(handle, headers: list, rows: Iterable[Iterable], sheet_title: str = "Sheet1",
               progress: Callable[[int], None] | None = None, every: int = 500) -> int:
    """Write the workbook to `handle`; `progress(n)` is called every `every` rows. Returns the row count."""
    with streaming_reads():
        return write_xlsx_stream(handle, headers, rows, sheet_title, progress=_off_replica(progress), every=every)


def xlsx_response(filename: str, headers: list[str], rows: Iterable[Iterable], sheet_title: str = "Sheet1"):
    """An .xlsx download of `rows` under `headers` (bold). Rows are written as they come from the
    iterator (pass a `.iterator()` queryset) into a temporary file, which the response streams."""
    handle = tempfile.TemporaryFile(suffix=".xlsx")
    write_xlsx(handle, headers, rows, sheet_title)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=filename,
                        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def write_csv(handle, headers: list, rows: Iterable[Iterable], progress: Callable[[int], None] | None = None,
              every: int = 500) -> int:
    """Write UTF-8 CSV with a byte-order mark (so that Excel opens Chinese text) to binary `handle`."""
    with streaming_reads():
        return _write_csv(handle, headers, rows, _off_replica(progress), every)


def _off_replica(progress: Callable[[int], None] | None) -> Callable[[int], None] | None:
    """The job's progress writes go to the primary, and its reads of the rows stay where they were (#17)."""
    if progress is None:
        return None

    def call(n: int) -> None:
        with outside_replica_reads():
            progress(n)
    return call


def _write_csv(handle, headers: list, rows: Iterable[Iterable], progress, every: int) -> int:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", newline="")
    writer = csv.writer(text)
    writer.writerow([str(h) for h in headers])
    n = 0
    for row in rows:
        writer.writerow([_csv_value(v) for v in row])
        n += 1
        if progress is not None and n % every == 0:
            progress(n)
    text.flush()
    text.detach()
    return n


def csv_response(filename: str, headers: list[str], rows: Iterable[Iterable]):
    handle = tempfile.TemporaryFile(suffix=".csv")
    write_csv(handle, headers, rows)
    handle.seek(0)
    return FileResponse(handle, as_attachment=True, filename=filename, content_type="text/csv; charset=utf-8")


_FORMULA_START = ("=", "+", "-", "@")


def _cell_value(value):
    kind = type(value)  # the common cases first: this runs for every cell of a million-row export
    if kind is str:
        # A leading formula character in user data must not become a formula (CSV/formula injection).
        return "'" + value if value[:1] in _FORMULA_START else value
    if kind is int or kind is float or kind is datetime.date:
        return value
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        # A leading formula character in user data must not become a formula (CSV/formula injection).
        return "'" + value
    return value if isinstance(value, int | float | datetime.date) else str(value)


def _csv_value(value):
    value = _cell_value(value)
    if type(value) is datetime.datetime:
        return value.isoformat(" ", "seconds")  # what Excel parses as a date and time
    return value
