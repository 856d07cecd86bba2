"""Session lifetime (S2) and server-side session termination (S3)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts import services
from accounts.models import SecurityEvent, UserSession
from swms import append_only
from tests.conftest import PASSWORD

from .test_login_security import is_logged_in, post_login

WORKBENCH = reverse("reports:workbench")
LOGIN = reverse("accounts:login")
START = "2026-03-02 09:00:00"


def _session_key(client):
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _to_login(response):
    return response.status_code == 302 and response["Location"].startswith(LOGIN)


def test_timeout_settings(settings):
    assert settings.SESSION_IDLE_TIMEOUT <= timedelta(minutes=30)
    assert settings.SESSION_ABSOLUTE_TIMEOUT <= timedelta(hours=12)


# --- Idle and absolute timeouts (S2) ---------------------------------------------------------


def test_page_views_write_the_session_row_at_most_once_a_minute(client, alice):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def session_writes():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(WORKBENCH).status_code == 200
        return [q["sql"] for q in queries.captured_queries
                if "django_session" in q["sql"] and q["sql"].lstrip().upper().startswith(("UPDATE", "INSERT"))]

    with freeze_time(START) as frozen:
        post_login(client, "alice")
        session_writes()
        frozen.tick(timedelta(seconds=20))
        assert session_writes() == []  # activity within the minute: the idle clock is not rewritten
        frozen.tick(timedelta(seconds=settings.SWMS_SESSION_TOUCH_SECONDS))
        assert len(session_writes()) == 1
        # 29 minutes later the session is still alive: the last write moved the idle clock.
        frozen.tick(timedelta(minutes=29))
        assert client.get(WORKBENCH).status_code == 200



def test_idle_session_expires_after_30_minutes(client, alice):
    with freeze_time(START) as frozen:
        post_login(client, "alice")
        key = _session_key(client)
        assert client.get(WORKBENCH).status_code == 200
        frozen.tick(timedelta(minutes=31))
        response = client.get(reverse("accounts:official-list") + "?q=a&page=1")
        assert _to_login(response)
        assert response["Location"] == f"{LOGIN}?next=/accounts/officials/%3Fq%3Da%26page%3D1"
        assert not Session.objects.filter(session_key=key).exists()
        assert not UserSession.objects.filter(session_key=key).exists()
        assert not is_logged_in(client)
        event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.SESSION_EXPIRED)
        assert (event.target, event.detail, event.ip_address) == (alice, "idle", "127.0.0.1")
        # The expiry is one event, not an expiry plus a logout.
        assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGOUT).exists()
        # The login page tells the user why.
        page = client.get(response["Location"])
        assert page.status_code == 200
        assert [str(m) for m in page.context["messages"]]


def test_activity_within_30_minutes_keeps_session(client, alice):
    with freeze_time(START) as frozen:
        client.force_login(alice)
        for _ in range(6):  # three hours of work, a request every 29 minutes
            frozen.tick(timedelta(minutes=29))
            assert client.get(WORKBENCH).status_code == 200
        assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.SESSION_EXPIRED).exists()


def test_absolute_timeout_after_12_hours_despite_activity(client, alice):
    with freeze_time(START) as frozen:
        client.force_login(alice)
        key = _session_key(client)
        for i in range(36):  # every 20 minutes until exactly 12 h after login
            frozen.tick(timedelta(minutes=20))
            assert client.get(WORKBENCH).status_code == 200, f"request {i} at {(i + 1) * 20} min"
        frozen.tick(timedelta(minutes=20))
        assert _to_login(client.get(WORKBENCH))
        assert not Session.objects.filter(session_key=key).exists()
        event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.SESSION_EXPIRED)
        assert event.detail == "absolute"


def test_expired_session_cookie_cannot_be_replayed(client, alice):
    with freeze_time(START) as frozen:
        client.force_login(alice)
        key = _session_key(client)
        frozen.tick(timedelta(minutes=45))
        client.get(WORKBENCH)
        replay = Client()
        replay.cookies[settings.SESSION_COOKIE_NAME] = key
        assert _to_login(replay.get(WORKBENCH))


# --- Logout (S3) ------------------------------------------------------------------------------


def test_logout_is_post_only(client, alice):
    client.force_login(alice)
    assert client.get(reverse("accounts:logout")).status_code == 405
    assert is_logged_in(client, alice)
    assert client.get(WORKBENCH).status_code == 200


def test_logout_requires_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post(reverse("accounts:logout")).status_code == 403
    assert is_logged_in(client, alice)


def test_logout_ends_session_server_side(client, alice):
    post_login(client, "alice")
    key = _session_key(client)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response["Location"] == LOGIN
    assert not Session.objects.filter(session_key=key).exists()
    assert not UserSession.objects.filter(session_key=key).exists()

    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = key
    assert _to_login(replay.get(WORKBENCH))


def test_logout_writes_one_event(client, alice):
    client.force_login(alice)
    with append_only.rewrite(SecurityEvent):  # the log is append-only (L2): lifted for the test's reset
        SecurityEvent.objects.all().delete()
    client.post(reverse("accounts:logout"), REMOTE_ADDR="192.0.2.9")
    event = SecurityEvent.objects.get()
    assert (event.kind, event.target, event.actor) == (SecurityEvent.Kind.LOGOUT, alice, alice)
    assert event.ip_address == "192.0.2.9"


def test_logout_when_not_logged_in_is_harmless(client, db):
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert not SecurityEvent.objects.exists()


# --- Password change ends the other sessions (S3) ----------------------------------------------

NEW_PASSWORD = "Qz7#wLm2pRv"


def _change_password(client):
    return client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )


def test_password_change_ends_other_sessions_and_keeps_this_one(alice):
    here, elsewhere = Client(), Client()
    post_login(here, "alice")
    post_login(elsewhere, "alice", ip="10.0.0.2")
    other_key = _session_key(elsewhere)
    assert UserSession.objects.filter(user=alice).count() == 2

    assert _change_password(here).status_code == 302
    assert here.get(WORKBENCH).status_code == 200
    assert _to_login(elsewhere.get(WORKBENCH))
    assert not Session.objects.filter(session_key=other_key).exists()
    # The current session is still tracked under its (rotated) key, so it can be ended later.
    current = _session_key(here)
    assert list(UserSession.objects.filter(user=alice).values_list("session_key", flat=True)) == [current]


def test_password_change_writes_one_event(client, alice):
    client.force_login(alice)
    with append_only.rewrite(SecurityEvent):  # the log is append-only (L2): lifted for the test's reset
        SecurityEvent.objects.all().delete()
    _change_password(client)
    event = SecurityEvent.objects.get()
    assert (event.kind, event.target, event.actor) == (SecurityEvent.Kind.PASSWORD_CHANGE, alice, alice)
    assert event.ip_address == "127.0.0.1"
    assert event.success is True


def test_session_survives_password_change_then_dies_on_deactivation(city_official, alice):
    here = Client()
    post_login(here, "alice")
    _change_password(here)
    key = _session_key(here)
    assert Session.objects.filter(session_key=key).exists()
    alice.refresh_from_db()
    services.user_deactivate(actor=city_official, target=alice)
    assert not Session.objects.filter(session_key=key).exists()
    assert _to_login(here.get(WORKBENCH))


# --- Deactivation and administrator reset end the sessions (S3, Z6) --------------------------


def test_deactivation_by_superior_ends_all_sessions(city_official, alice):
    sessions = [Client(), Client()]
    for i, c in enumerate(sessions):
        post_login(c, "alice", ip=f"10.0.0.{i + 1}")
        assert c.get(WORKBENCH).status_code == 200
    keys = [_session_key(c) for c in sessions]

    services.user_deactivate(actor=city_official, target=alice)

    for c in sessions:
        assert _to_login(c.get(WORKBENCH))
    assert not Session.objects.filter(session_key__in=keys).exists()
    assert not UserSession.objects.filter(user=alice).exists()
    # and the account cannot log in again
    again = Client()
    post_login(again, "alice")
    assert not is_logged_in(again)


def test_deactivation_leaves_other_users_sessions_alone(city_official, alice, bob):
    a, b = Client(), Client()
    a.force_login(alice)
    b.force_login(bob)
    services.user_deactivate(actor=city_official, target=alice)
    assert b.get(WORKBENCH).status_code == 200


def test_administrator_password_reset_ends_sessions(city_official, alice):
    c = Client()
    post_login(c, "alice")
    services.user_password_reset(actor=city_official, target=alice)
    assert _to_login(c.get(WORKBENCH))


@pytest.mark.parametrize("path", ["/", "/accounts/officials/"])
def test_anonymous_requests_go_to_login(client, db, path):
    assert _to_login(client.get(path))


def test_htmx_request_after_idle_timeout_navigates_the_whole_page(client, regions, alice):
    from datetime import timedelta

    from django.urls import reverse
    from freezegun import freeze_time

    client.force_login(alice)
    url = reverse("accounts:region-children", kwargs={"pk": regions["越秀区"].pk})
    with freeze_time() as frozen:
        assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
        frozen.tick(timedelta(minutes=31))
        response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("accounts:login"))


def test_htmx_request_with_forced_password_change_navigates_the_whole_page(client, regions, alice):
    from django.urls import reverse

    alice.must_change_password = True
    alice.save()
    client.force_login(alice)
    url = reverse("accounts:region-children", kwargs={"pk": regions["越秀区"].pk})
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"] == reverse("accounts:password-change")
