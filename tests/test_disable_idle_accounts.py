"""`manage.py disable_idle_accounts` (A1: no stale accounts)."""

from datetime import datetime, timedelta
from io import StringIO

import pytest
from django.contrib.sessions.models import Session
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from accounts import services
from accounts.models import SecurityEvent, UserKind
from tests.conftest import make_user

from .test_login_security import is_logged_in, post_login

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.get_fixed_timezone(8 * 60))


def _run(*args) -> str:
    out = StringIO()
    call_command("disable_idle_accounts", *args, stdout=out)
    return out.getvalue()


def _refresh(*users):
    for u in users:
        u.refresh_from_db()


@pytest.fixture
def accounts(regions):
    """Created at T0: one account that logs in at T0, one that never logs in, one superuser."""
    with freeze_time(T0):
        active = make_user("county_a", UserKind.OFFICIAL, regions["越秀区"])
        never = make_user("county_b", UserKind.OFFICIAL, regions["荔湾区"])
        worker = make_user("sw_li", UserKind.SOCIAL_WORKER)
        ops = make_user("ops_x", "", None, is_superuser=True, is_staff=True)
        for u in (active, worker):
            u.last_login = timezone.now()
            u.save(update_fields=["last_login"])
    return active, never, worker, ops


def test_default_idle_days_setting(settings):
    assert settings.SWMS_ACCOUNT_IDLE_DAYS == 180


def test_nothing_disabled_before_the_limit(accounts, settings):
    with freeze_time(T0 + timedelta(days=settings.SWMS_ACCOUNT_IDLE_DAYS - 1)):
        out = _run()
    assert "Deactivated 0 idle account(s)" in out
    _refresh(*accounts)
    assert all(u.is_active for u in accounts)
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ACCOUNT_DEACTIVATED).exists()


def test_idle_accounts_disabled_after_the_limit(accounts, settings):
    active, never, worker, ops = accounts
    # `active` logs in again 100 days later; the others do not.
    active.last_login = T0 + timedelta(days=100)
    active.save(update_fields=["last_login"])
    with freeze_time(T0 + timedelta(days=settings.SWMS_ACCOUNT_IDLE_DAYS + 1)):
        out = _run()
    assert "Deactivated 2 idle account(s)" in out
    _refresh(*accounts)
    assert active.is_active is True
    assert never.is_active is False  # never logged in: date_joined counts
    assert worker.is_active is False
    assert ops.is_active is True  # superusers are not touched
    events = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ACCOUNT_DEACTIVATED)
    assert sorted(e.target.username for e in events) == ["county_b", "sw_li"]
    assert all(e.detail == "idle" and e.success and e.actor is None for e in events)


def test_days_option(accounts):
    active, never, worker, ops = accounts
    with freeze_time(T0 + timedelta(days=31)):
        assert "Deactivated 0" in _run("--days", "40")
        assert "Deactivated 3" in _run("--days", "30")
    _refresh(*accounts)
    assert [u.is_active for u in accounts] == [False, False, False, True]


def test_second_run_changes_nothing(accounts):
    with freeze_time(T0 + timedelta(days=31)):
        _run("--days", "30")
        assert "Deactivated 0" in _run("--days", "30")
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ACCOUNT_DEACTIVATED).count() == 3


def test_dry_run_changes_nothing(accounts):
    with freeze_time(T0 + timedelta(days=31)):
        out = _run("--days", "30", "--dry-run")
    assert "Would deactivate 3" in out and "county_b" in out
    _refresh(*accounts)
    assert all(u.is_active for u in accounts)
    assert not SecurityEvent.objects.exists()


def test_inactive_accounts_are_not_counted(accounts):
    active, never, worker, ops = accounts
    never.is_active = False
    never.save()
    with freeze_time(T0 + timedelta(days=31)):
        assert "Deactivated 2" in _run("--days", "30")


def test_recently_reactivated_account_is_kept(accounts, city_official):
    active, never, worker, ops = accounts
    # never (荔湾区) was closed and a superior reopened it yesterday; the holder has not logged in yet.
    never.is_active = False
    never.save()
    with freeze_time(T0 + timedelta(days=30)):
        services.user_activate(actor=city_official, target=never)
    with freeze_time(T0 + timedelta(days=31)):
        _run("--days", "30")
    never.refresh_from_db()
    assert never.is_active is True


def test_disabled_account_cannot_log_in_and_loses_sessions(accounts):
    active, never, worker, ops = accounts
    with freeze_time(T0 + timedelta(days=31)):
        c = Client()
        c.force_login(worker)  # an old session somebody kept (sessions end after 12 h anyway)
        key = c.session.session_key
    # Rewind last_login so the account still counts as idle.
    worker.last_login = T0
    worker.save(update_fields=["last_login"])
    with freeze_time(T0 + timedelta(days=31)):
        _run("--days", "30")
        assert not Session.objects.filter(session_key=key).exists()
        other = Client()
        post_login(other, "sw_li")
        assert not is_logged_in(other)
        assert c.get(reverse("reports:workbench")).status_code == 302


def test_days_must_be_positive(db):
    with pytest.raises(CommandError):
        _run("--days", "0")


def test_imported_accounts_waiting_to_be_taken_over_are_left_alone(regions, settings):
    """An imported worker's account to claim (or a station's whose password an official sets) has no password
    and was never used: nothing to misuse, and closing it would stop the claim. Once it has a password the
    usual rule applies."""
    with freeze_time(T0):
        waiting = make_user("440104199001011232", UserKind.SOCIAL_WORKER)
        waiting.set_unusable_password()
        waiting.save(update_fields=["password"])
        with_password = make_user("sw_unused", UserKind.SOCIAL_WORKER)
    with freeze_time(T0 + timedelta(days=settings.SWMS_ACCOUNT_IDLE_DAYS + 1)):
        out = _run()
    assert "Deactivated 1 idle account(s)" in out
    _refresh(waiting, with_password)
    assert waiting.is_active and not with_password.is_active
