"""The import centre (导入中心, issue #15): a file uploaded in the browser is checked by a dry run in the
background, its report read in the page, then imported on confirmation, again in the background with a
progress bar — the same `ImportKind.run` as `manage.py` (swms/imports.py), with the uploader's region as
scope, so rows outside it are refused (and the uploader as `actor` where the kind records who imported). Every upload stays in the history with its SHA-256.

State changes are here; the views only call these functions. The background steps run through the export
jobs' runner (Celery with a broker, a thread without one; swms.exports.start_in_background), each claimed
with one conditional UPDATE, so a redelivered or doubled message does nothing.
"""

from __future__ import annotations

import datetime
import hashlib
import inspect
import shutil
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import connection
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.operator_roles import OPERATE_SYSTEM, can

from .imports import get_kind
from .models import ImportJob
from .xlsx_import import ImportFileError

Status = ImportJob.Status
ALLOWED_SUFFIXES = (".xlsx", ".xls", ".ods", ".csv")
ZIP_SUFFIXES = (".xlsx", ".ods")
QUEUED = {"check": Status.CHECK_QUEUED, "import": Status.IMPORT_QUEUED}
RUNNING = {"check": Status.CHECKING, "import": Status.IMPORTING}
STALE = "stale"


class ImportJobError(Exception):
    """An upload or a step the user asked for that cannot be done; the message says why."""


def may_import(user) -> bool:
    """The import centre is for operators and province officials (the provincial civil-affairs office)."""
    from accounts.models import RegionLevel

    if not (user.is_authenticated and user.is_active):
        return False
    return can(user, OPERATE_SYSTEM) or (user.is_official and user.region_id is not None
                                 and user.region.level == RegionLevel.PROVINCE)


def _check_upload(upload) -> str:
    """The upload's suffix, after checking that it is a spreadsheet or CSV of a sane size; ImportJobError
    saying what to do otherwise."""
    name = upload.name or ""
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ImportJobError(_("%(file)s is not a file that can be imported. Upload an Excel workbook (.xlsx or "
                               ".xls), an OpenDocument sheet (.ods) or a CSV file.") % {"file": name})
    if upload.size == 0:
        raise ImportJobError(_("The file %(file)s is empty.") % {"file": name})
    if upload.size > settings.SWMS_IMPORT_MAX_BYTES:
        raise ImportJobError(_("The file is %(size)d MB; at most %(max)d MB can be imported at once. Split it "
                               "into several files.") % {"size": upload.size // 2**20,
                                                        "max": settings.SWMS_IMPORT_MAX_BYTES // 2**20})
    if suffix in ZIP_SUFFIXES:
        # A workbook is a zip: bound what it expands to before a worker opens it (a zip bomb stops here).
        try:
            upload.seek(0)
            with zipfile.ZipFile(upload) as archive:
                entries = archive.infolist()
        except zipfile.BadZipFile:
            raise ImportJobError(_("The file %(file)s is damaged or is not really a %(suffix)s workbook. Open it "
                                   "in Excel or WPS, save it again and upload it again.")
                                 % {"file": name, "suffix": suffix}) from None
        if len(entries) > 10_000 or sum(e.file_size for e in entries) > settings.SWMS_IMPORT_MAX_UNCOMPRESSED:
            raise ImportJobError(_("The workbook %(file)s expands to far more data than a list can hold. Save "
                                   "the rows to import as a new workbook and upload that.") % {"file": name})
        upload.seek(0)
    return suffix


def upload(*, user, kind_key: str, upload) -> ImportJob:
    """Store the uploaded file, record it and queue its check (a dry run)."""
    if not may_import(user):
        raise ImportJobError(_("Only operators and the provincial office may import data."))
    try:
        get_kind(kind_key)
    except KeyError:
        raise ImportJobError(_("Choose what the file holds.")) from None
    suffix = _check_upload(upload)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    job = ImportJob(kind=kind_key, user=user, scope=None if can(user, OPERATE_SYSTEM) else user.region,
                    file_name=Path(upload.name).name[:200], size=upload.size, sha256=digest.hexdigest(),
                    language=translation.get_language() or settings.LANGUAGE_CODE)
    job.file.save(f"{uuid.uuid4().hex}{suffix}", upload, save=False)
    job.save()
    _queue(job.pk, "check")
    return job


def confirm(*, job_id: int, user) -> bool:
    """Import a checked file (the uploader's own); anything else is left alone, so a double click or a stale
    page does nothing. Returns True if the import was queued."""
    now = timezone.now()
    if not ImportJob.objects.filter(pk=job_id, user=user, status=Status.CHECKED).update(
            status=Status.IMPORT_QUEUED, confirmed_at=now, heartbeat_at=now, done_rows=0):
        return False
    _queue(job_id, "import")
    return True


def cancel(*, job_id: int, user) -> bool:
    """Drop a checked file without importing it (the uploader's own). Returns True if it was cancelled."""
    return bool(ImportJob.objects.filter(pk=job_id, user=user, status=Status.CHECKED).update(
        status=Status.CANCELLED, finished_at=timezone.now()))


def retry(*, job_id: int, user) -> bool:
    """Run the step that stopped again (the check, or the import if it had been confirmed): the import is
    one transaction, so a stopped one left nothing half-written. Returns True if it was queued."""
    job = ImportJob.objects.filter(pk=job_id, user=user, status=Status.FAILED).first()
    if job is None or not job.file:
        return False
    phase = "import" if job.confirmed_at else "check"
    if not ImportJob.objects.filter(pk=job_id, status=Status.FAILED).update(
            status=QUEUED[phase], error="", done_rows=0, heartbeat_at=timezone.now(), finished_at=None):
        return False
    _queue(job_id, phase)
    return True


def sweep_stale_imports(**filters) -> int:
    """Mark steps whose runner died (no heartbeat for SWMS_EXPORT_STALE_MINUTES, in the job row or in the
    cache) as failed, so the uploader sees it and can run them again. Returns how many."""
    cutoff = timezone.now() - datetime.timedelta(minutes=settings.SWMS_EXPORT_STALE_MINUTES)
    stale = ImportJob.objects.filter(status__in=[*QUEUED.values(), *RUNNING.values()], heartbeat_at__lt=cutoff,
                                     **filters)
    dead = [pk for pk in stale.values_list("pk", flat=True)
            if (live_progress(pk) or {}).get("at", 0) < cutoff.timestamp()]
    if not dead:
        return 0
    return stale.filter(pk__in=dead).update(status=Status.FAILED, error=STALE, finished_at=timezone.now())


def _progress_key(job_id: int) -> str:
    return f"import-job:{job_id}:progress"


def live_progress(job_id: int) -> dict | None:
    """The progress a running step last reported: {"done", "total", "at"} (a timestamp), or None."""
    return cache.get(_progress_key(job_id))


def _queue(job_id: int, phase: str) -> None:
    """Run the step once the current transaction commits: through the outbox with a broker (kept if Redis is
    down), else in a thread or inline at commit (swms.exports.queue_in_background)."""
    from .exports import queue_in_background
    from .tasks import run_import_step

    queue_in_background(run_import_step, job_id, phase, name=f"import-{job_id}-{phase}")


def _start(job_id: int, phase: str) -> None:
    from .exports import start_in_background
    from .tasks import run_import_step

    start_in_background(run_import_step, job_id, phase, name=f"import-{job_id}-{phase}")


class _Superseded(Exception):
    """The step was swept as stale while running: stop quietly."""


def run_step(job_id: int, phase: str) -> str:
    """The body of the background step `phase` ("check" or "import") of a job: claimed by one conditional
    UPDATE (a second delivery finds it claimed and does nothing), the file copied from storage to a
    temporary file, the kind's `run` called with the job's scope — a dry run for "check" — with progress
    and heartbeat, the report and error workbook stored on the job. Returns the job's status."""
    if not ImportJob.objects.filter(pk=job_id, status=QUEUED[phase]).update(
            status=RUNNING[phase], done_rows=0, heartbeat_at=timezone.now()):
        return ImportJob.objects.values_list("status", flat=True).get(pk=job_id)
    job = ImportJob.objects.select_related("scope").get(pk=job_id)
    mine = ImportJob.objects.filter(pk=job_id, status=RUNNING[phase])
    last_beat = 0.0

    def progress(done, total):
        nonlocal last_beat
        if time.monotonic() - last_beat < 1 and done < total:
            return
        last_beat = time.monotonic()
        # Also in the cache: a kind that writes in one transaction reports from inside it, where an UPDATE of
        # the job row would stay unseen (and the row locked) until the commit; the page and the sweep read
        # the cache as well.
        cache.set(_progress_key(job_id), {"done": done, "total": total, "at": time.time()}, 3600)
        if connection.in_atomic_block:
            return
        if not mine.update(done_rows=done, total=total, heartbeat_at=timezone.now()):
            raise _Superseded

    with translation.override(job.language), tempfile.TemporaryDirectory(prefix="swms-import-") as folder:
        local = Path(folder) / f"{Path(job.file_name).stem[:80] or 'import'}{Path(job.file.name).suffix}"
        try:
            with job.file.open("rb") as source, open(local, "wb") as target:
                shutil.copyfileobj(source, target, 1 << 20)
            run = get_kind(job.kind).run
            # Who imports, for the kinds that record it (history rows, "created by").
            extra = {"actor": job.user} if "actor" in inspect.signature(run).parameters else {}
            report = run(path=local, dry_run=phase == "check", progress=progress, scope=job.scope, **extra)
        except _Superseded:
            return ImportJob.objects.values_list("status", flat=True).get(pk=job_id)
        except ImportFileError as e:  # the file as a whole: nothing imported, the reason for the user
            mine.update(status=Status.FAILED, error=str(e), finished_at=timezone.now())
            return Status.FAILED
        except Exception as e:
            mine.update(status=Status.FAILED, error=str(e)[:500] or e.__class__.__name__,
                        finished_at=timezone.now())
            raise
        error_name = ""
        if report.error_file:
            if job.error_file:
                job.error_file.delete(save=False)
            with open(report.error_file, "rb") as handle:
                job.error_file.save(f"{uuid.uuid4().hex}.xlsx", File(handle), save=False)
            error_name = job.error_file.name
    now = timezone.now()
    done = {"check": Status.CHECKED, "import": Status.DONE}[phase]
    report_field = {"check": "check_report", "import": "result"}[phase]
    mine.update(status=done, **{report_field: report.summary()}, error_file=error_name, done_rows=F("total"),
                finished_at=now if phase == "import" else None, heartbeat_at=now)
    return done


def error_file_name(job: ImportJob) -> str:
    return _("%(file)s errors.xlsx") % {"file": Path(job.file_name).stem}


def rows_to_import(job: ImportJob) -> int:
    """How many rows the dry run found to create or update."""
    return job.check_report.get("created", 0) + job.check_report.get("updated", 0)


def earlier_import(job: ImportJob, user) -> ImportJob | None:
    """An earlier import of the same file (same SHA-256) that the user can see, to warn before a second."""
    return (ImportJob.objects.visible_to(user).filter(sha256=job.sha256, status=Status.DONE).exclude(pk=job.pk)
            .select_related("user").first())

