"""Retention (SECURITY.md L3, P5): logs kept at least 180 days (configurable, never less), then purged with the
hash chain still verifying; review log and history kept; export, import and temporary files purged; a dry run
deletes nothing; a daily beat task runs the purge."""

import datetime
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessLog
from django.conf import settings as django_settings
from django.contrib.contenttypes.models import ContentType
from django.contrib.sessions.models import Session
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.management import call_command
from freezegun import freeze_time

from accounts import audit_chain
from accounts.models import SecurityEvent, User
from accounts.services import security_event_record
from registration.models import CertificateLookup
from swms import retention
from swms.models import ImportJob, ReviewLog
from swms.tasks import purge_expired_records_task

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime.datetime(2026, 1, 5, 10, 0, tzinfo=datetime.UTC)
Kind = SecurityEvent.Kind


def _logs_at(when, alice, marker):
    with freeze_time(when):
        security_event_record(kind=Kind.LOGIN, actor=alice, detail=marker)
        CertificateLookup.objects.create(token_prefix=marker, found=False)
        AccessAttempt.objects.create(username=marker, ip_address="10.0.0.1", user_agent="t", failures_since_start=1)
        AccessLog.objects.create(username=marker, ip_address="10.0.0.1", user_agent="t")


def _kept(marker) -> dict[str, bool]:
    return {
        "event": SecurityEvent.objects.filter(detail=marker).exists(),
        "lookup": CertificateLookup.objects.filter(token_prefix=marker).exists(),
        "attempt": AccessAttempt.objects.filter(username=marker).exists(),
        "access_log": AccessLog.objects.filter(username=marker).exists(),
    }


@pytest.mark.parametrize(
    "retention_days, days_later, deleted",
    [
        (180, 179, False), (180, 180, False), (180, 181, True),  # the default: six months
        (183, 182, False), (183, 183, False), (183, 184, True),  # after changing the setting
    ],
)
def test_logs_purged_after_the_retention_period(db, alice, settings, retention_days, days_later, deleted):
    settings.SWMS_LOG_RETENTION_DAYS = retention_days
    _logs_at(T0 - datetime.timedelta(days=1), alice, "older")
    _logs_at(T0, alice, "old")
    _logs_at(T0 + datetime.timedelta(days=2), alice, "recent")
    with freeze_time(T0 + datetime.timedelta(days=days_later)):
        counts = retention.purge()
    assert _kept("old") == dict.fromkeys(("event", "lookup", "attempt", "access_log"), not deleted)
    assert not any(_kept("older").values()) == (days_later + 1 > retention_days)
    assert all(_kept("recent").values())
    assert counts["security_events"] == (2 if deleted else (1 if days_later + 1 > retention_days else 0))
    # The chain still verifies from its new start, and the purge left its own record in it.
    assert audit_chain.verify()[1] is None
    if counts["security_events"]:
        purge_event = SecurityEvent.objects.get(kind=Kind.LOG_PURGE)
        assert "chain starts at #" in purge_event.detail and purge_event.created_at > T0


def test_purge_keeps_the_review_log_and_the_change_history(db, alice, settings):
    with freeze_time(T0):
        log = ReviewLog.objects.create(
            content_type=ContentType.objects.get_for_model(User), object_id=alice.pk, action="submit",
            step="applicant", actor=alice, from_state="draft", to_state="submitted",
        )
        alice.full_name = "Alice v2"
        alice.save()
    history = alice.history.count()
    with freeze_time(T0 + datetime.timedelta(days=3650)):
        retention.purge()
    assert ReviewLog.objects.filter(pk=log.pk).exists() and alice.history.count() == history


def test_retention_below_six_months_is_refused(db, settings):
    settings.SWMS_LOG_RETENTION_DAYS = 179
    with pytest.raises(ImproperlyConfigured, match="180"):
        retention.purge()
    env = {**os.environ, "SWMS_LOG_RETENTION_DAYS": "179", "DATABASE_URL": "sqlite:////tmp/swms-retention.sqlite3"}
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0 and "SWMS_LOG_RETENTION_DAYS" in result.stderr


def test_dry_run_deletes_nothing(db, alice, settings, capsys):
    _logs_at(T0, alice, "old")
    with freeze_time(T0 + datetime.timedelta(days=400)):
        call_command("purge_expired_records", "--dry-run")
    assert "security events: would delete 1" in capsys.readouterr().out
    assert all(_kept("old").values())
    assert not SecurityEvent.objects.filter(kind=Kind.LOG_PURGE).exists()


@pytest.fixture
def scratch_tmp(tmp_path, monkeypatch):
    """The system temporary folder, redirected to an empty folder of the test."""
    folder = tmp_path / "systemp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _old(path: Path, hours: float):
    stamp = (datetime.datetime.now() - datetime.timedelta(hours=hours)).timestamp()
    os.utime(path, (stamp, stamp))


def test_temporary_files_left_behind_are_removed(db, settings, scratch_tmp):
    settings.SWMS_TEMP_RETENTION_HOURS = 24
    leftover = scratch_tmp / "swms-import-abc123"
    leftover.mkdir()
    (leftover / "roster.xlsx").write_bytes(b"PK personal data")
    _old(leftover / "roster.xlsx", 30)
    _old(leftover, 30)
    spool = scratch_tmp / "tmpk2j3.upload.xlsx"
    spool.write_bytes(b"x")
    _old(spool, 48)
    exchange = scratch_tmp / "swms-exchange-q1"
    exchange.mkdir()
    _old(exchange, 25)
    running = scratch_tmp / "swms-import-running"  # a step at work right now: left alone
    running.mkdir()
    assert retention.purge(dry_run=True)["temporary_files"] == 3 and leftover.exists()
    assert retention.purge()["temporary_files"] == 3
    assert [p.name for p in scratch_tmp.iterdir()] == ["swms-import-running"]
    running.rmdir()
    retention.purge()
    assert list(scratch_tmp.iterdir()) == []  # the temporary folder is empty after the purge


def test_import_files_and_expired_sessions_are_purged(db, alice, settings, media):
    settings.SWMS_IMPORT_FILE_RETENTION_DAYS = 30
    job = ImportJob(kind="roster", user=alice, file_name="名单.xlsx", size=3, sha256="0" * 64,
                    status=ImportJob.Status.DONE, created_at=T0)
    job.file.save("roster.xlsx", ContentFile(b"abc"), save=False)
    job.error_file.save("errors.xlsx", ContentFile(b"def"), save=False)
    job.save()
    paths = [Path(job.file.path), Path(job.error_file.path)]
    fresh = ImportJob.objects.create(kind="roster", user=alice, file_name="新.xlsx", size=3, sha256="1" * 64,
                                     status=ImportJob.Status.DONE, created_at=T0 + datetime.timedelta(days=29),
                                     file=ContentFile(b"ghi", name="fresh.xlsx"))
    Session.objects.create(session_key="a" * 32, session_data="x", expire_date=T0)
    Session.objects.create(session_key="b" * 32, session_data="x", expire_date=T0 + datetime.timedelta(days=60))
    with freeze_time(T0 + datetime.timedelta(days=31)):
        counts = retention.purge()
    assert counts["import_files"] == 1 and counts["sessions"] == 1
    assert not any(p.exists() for p in paths)
    job.refresh_from_db()
    assert not job.file and not job.error_file and job.sha256 == "0" * 64  # the history of the import stays
    fresh.refresh_from_db()
    assert fresh.file and Path(fresh.file.path).exists()
    assert list(Session.objects.values_list("session_key", flat=True)) == ["b" * 32]


def test_daily_beat_task_runs_the_purge_idempotently(db, alice):
    entry = [e for e in django_settings.CELERY_BEAT_SCHEDULE.values()
             if e["task"] == "swms.tasks.purge_expired_records_task"]
    assert len(entry) == 1 and entry[0]["schedule"].hour == {1}
    _logs_at(T0, alice, "old")
    with freeze_time(T0 + datetime.timedelta(days=200)):
        first = purge_expired_records_task.delay().get()
        second = purge_expired_records_task.delay().get()
    assert first["security_events"] == 1 and first["certificate_lookups"] == 1
    assert set(second.values()) == {0}
    assert audit_chain.verify()[1] is None
