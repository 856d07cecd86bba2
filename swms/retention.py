"""Retention (SECURITY.md L3, P5): what is kept how long, and the purge that removes the rest.

- Security events, django-axes' login attempt tables and the certificate verification lookups: kept
  SWMS_LOG_RETENTION_DAYS (default 180, never less: Cybersecurity Law art. 21 asks for six months of network
  logs), then deleted. Security events go as a prefix of the hash chain, and the LOG_PURGE event written by the
  purge records where the chain now starts (accounts/audit_chain.py), so `verify_audit_chain` still passes.
- The review log and the simple_history tables are the record of decisions and of every change (DESIGN.md):
  kept without limit; 180 days is a minimum, not a maximum.
- Export files: deleted SWMS_EXPORT_RETENTION_DAYS after they were written (swms.exports.purge_expired_exports,
  reused here). The files of finished imports (the uploaded workbook and the error workbook, personal data):
  deleted SWMS_IMPORT_FILE_RETENTION_DAYS after the upload; the job stays in the history with its name and SHA-256.
- Temporary files the import, export and exchange steps leave behind when their process is killed
  (`swms-*` in the system temporary folder, Django's `*.upload` spool files) after SWMS_TEMP_RETENTION_HOURS.
- Expired sessions (what `clearsessions` does) and the session index rows (UserSession) that point at them.

`manage.py purge_expired_records [--dry-run]` and the daily beat task `swms.tasks.purge_expired_records_task`
run `purge()`, which is idempotent: a second run finds nothing more to delete.
"""

from __future__ import annotations

import datetime
import shutil
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

MINIMUM_LOG_DAYS = 180
TEMP_PATTERNS = ("swms-*", "*.upload", "*.upload.*")


def log_retention_days() -> int:
    days = settings.SWMS_LOG_RETENTION_DAYS
    if days < MINIMUM_LOG_DAYS:
        raise ImproperlyConfigured(
            f"SWMS_LOG_RETENTION_DAYS must be at least {MINIMUM_LOG_DAYS} (Cybersecurity Law art. 21: 6 months)."
        )
    return days


def temp_dirs() -> list[Path]:
    folders = [Path(tempfile.gettempdir())]
    upload_dir = getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)
    if upload_dir:
        folders.append(Path(upload_dir))
    return folders


def _purge_security_events(cutoff, dry_run: bool) -> int:
    """Delete the chain's prefix older than `cutoff` and log a LOG_PURGE event naming the new start."""
    import pgtrigger

    from accounts import audit_chain
    from accounts.models import SecurityEvent
    from accounts.services import security_event_record

    with transaction.atomic():
        audit_chain._lock()  # no event is appended while the prefix goes
        first_kept = SecurityEvent.objects.filter(created_at__gte=cutoff).order_by("id").first()
        doomed = SecurityEvent.objects.all()
        if first_kept is not None:
            doomed = doomed.filter(id__lt=first_kept.id)
        count = doomed.count()
        if dry_run or not count:
            return count
        with pgtrigger.ignore("accounts.SecurityEvent:append_only_delete"):
            doomed.delete()
        anchor = audit_chain.anchor_detail(first_kept.id if first_kept else None,
                                           first_kept.prev_hash if first_kept else "")
        security_event_record(kind=SecurityEvent.Kind.LOG_PURGE, detail=f"{anchor}; {count} events older than "
                              f"{log_retention_days()} days deleted")
    return count


def _purge_lookups(cutoff, dry_run: bool) -> int:
    import pgtrigger

    from registration.models import CertificateLookup

    rows = CertificateLookup.objects.filter(created_at__lt=cutoff)
    if dry_run:
        return rows.count()
    with pgtrigger.ignore("registration.CertificateLookup:append_only_delete"):
        return rows.delete()[0]


def _purge_axes(cutoff, dry_run: bool) -> int:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    count = 0
    for model in (AccessAttempt, AccessLog, AccessFailureLog):
        rows = model.objects.filter(attempt_time__lt=cutoff)
        count += rows.count() if dry_run else rows.delete()[0]
    return count


def _purge_sessions(now, dry_run: bool) -> int:
    from importlib import import_module

    from django.contrib.sessions.models import Session

    from accounts.models import UserSession

    if settings.SESSION_ENGINE != "django.contrib.sessions.backends.db":  # pragma: no cover - other stores
        if not dry_run:
            import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
        return 0
    expired = Session.objects.filter(expire_date__lt=now)
    count = expired.count()
    if not dry_run:
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()  # = manage.py clearsessions
        UserSession.objects.exclude(session_key__in=Session.objects.values("session_key")).delete()
    return count


def _purge_exports(now, dry_run: bool) -> int:
    from swms.exports import purge_expired_exports
    from swms.models import ExportJob

    if dry_run:
        return ExportJob.objects.filter(status=ExportJob.Status.DONE, expires_at__lte=now).count()
    return purge_expired_exports()


def _purge_import_files(now, dry_run: bool) -> int:
    from swms.models import ImportJob

    Status = ImportJob.Status
    cutoff = now - datetime.timedelta(days=settings.SWMS_IMPORT_FILE_RETENTION_DAYS)
    jobs = ImportJob.objects.filter(created_at__lt=cutoff, status__in=[Status.DONE, Status.FAILED, Status.CANCELLED,
                                                                        Status.CHECKED])
    jobs = jobs.exclude(file="", error_file="")
    if dry_run:
        return jobs.count()
    count = 0
    for job in jobs.iterator():
        for field in (job.file, job.error_file):
            if field:
                field.delete(save=False)
        count += ImportJob.objects.filter(pk=job.pk).update(file="", error_file="")
    return count


def _purge_temp_files(now, dry_run: bool) -> int:
    cutoff = (now - datetime.timedelta(hours=settings.SWMS_TEMP_RETENTION_HOURS)).timestamp()
    count = 0
    for folder in temp_dirs():
        for pattern in TEMP_PATTERNS:
            for path in folder.glob(pattern):
                try:
                    if path.lstat().st_mtime >= cutoff:
                        continue
                    count += 1
                    if dry_run:
                        continue
                    if path.is_dir() and not path.is_symlink():
                        shutil.rmtree(path, ignore_errors=True)
                    else:
                        path.unlink(missing_ok=True)
                except FileNotFoundError:  # removed meanwhile by its own process
                    continue
    return count


def purge(*, dry_run: bool = False, now: datetime.datetime | None = None) -> dict[str, int]:
    """Delete what is past its retention; returns {what: how many} (what would go, with dry_run)."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=log_retention_days())
    return {
        "security_events": _purge_security_events(cutoff, dry_run),
        "login_attempts": _purge_axes(cutoff, dry_run),
        "certificate_lookups": _purge_lookups(cutoff, dry_run),
        "sessions": _purge_sessions(now, dry_run),
        "export_files": _purge_exports(now, dry_run),
        "import_files": _purge_import_files(now, dry_run),
        "temporary_files": _purge_temp_files(now, dry_run),
    }
