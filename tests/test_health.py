"""/healthz and /readyz (swms/health.py) and the 503 page for a lost database, on the real PostgreSQL and Redis."""

import logging
import socket

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from swms import health
from tests.conftest import make_user

pytestmark = pytest.mark.usefixtures("english")


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return settings.MEDIA_ROOT


def test_url_names():
    assert reverse("healthz") == "/healthz"
    assert reverse("readyz") == "/readyz"


def test_healthz_answers_without_the_database_session_or_https(client, settings):
    # A load balancer probes by IP over plain HTTP: no HTTPS redirect, no host check, no session, and no query
    # (this test has no database access: a query would fail the request).
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["swms.example.gov.cn"]
    response = client.get("/healthz", HTTP_HOST="10.0.0.5")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert response["Content-Type"].startswith("text/plain")
    assert response["Cache-Control"] == "no-store"
    assert not response.cookies


def test_readyz_ok_when_everything_answers(client, settings, media, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["swms.example.gov.cn"]
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/15"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    response = client.get("/readyz", HTTP_HOST="10.0.0.5")
    assert response.status_code == 200, response.content
    assert response.content == b"ok\n"
    assert response["Cache-Control"] == "no-store"
    # The storage probe cleaned up after itself.
    assert not [p for p in media.rglob("*") if p.is_file()]


def test_readyz_unavailable_without_detail_when_redis_is_down(client, settings, media, db, caplog):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    with caplog.at_level(logging.WARNING, logger="swms.health"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.content == b"unavailable\n"  # the outsider learns nothing about what failed
    assert "redis" in caplog.text and "database" not in caplog.text


def test_readyz_detail_only_with_the_health_token(client, settings, media, db):
    settings.SWMS_HEALTH_TOKEN = "s3cret-token-for-ops"
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    wrong = client.get("/readyz", HTTP_X_HEALTH_TOKEN="guess")
    assert wrong.content == b"unavailable\n"
    right = client.get("/readyz", HTTP_X_HEALTH_TOKEN="s3cret-token-for-ops")
    assert right.status_code == 503
    text = right.content.decode()
    assert text.startswith("unavailable\n")
    assert "redis: ConnectionError" in text and "database: ok" in text and "storage: ok" in text


def test_readyz_unavailable_when_storage_cannot_write(client, settings, tmp_path, db, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings.MEDIA_ROOT = blocker / "media"
    with caplog.at_level(logging.WARNING, logger="swms.health"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "storage" in caplog.text


def test_readyz_check_is_bounded_by_its_timeout(client, settings, media, db):
    """A Redis that accepts the connection but never answers fails the probe within the timeout."""
    import time

    settings.SWMS_READYZ_TIMEOUT = 0.5
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        settings.CELERY_TASK_ALWAYS_EAGER = False
        started = time.monotonic()
        response = client.get("/readyz", HTTP_X_HEALTH_TOKEN="")
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert elapsed < 3


def test_migration_check_sees_an_unapplied_migration(db):
    """The migrations check on the real database: an applied migration row removed makes it fail."""
    from django.db.migrations.recorder import MigrationRecorder

    health._migrations_cache.clear()
    assert health.check_migrations() is None
    latest = MigrationRecorder.Migration.objects.filter(app="registration").order_by("-id").first()
    latest.delete()
    health._migrations_cache.clear()
    assert health.check_migrations() == "not all applied"
    health._migrations_cache.clear()


@pytest.fixture
def database_gone(transactional_db):
    """The default connection pointed at a port where nothing listens, as when PostgreSQL is down."""
    original = connection.settings_dict["PORT"]

    def down():
        connection.close()
        connection.settings_dict["PORT"] = str(_closed_port())

    def up():
        connection.close()
        connection.settings_dict["PORT"] = original

    try:
        yield down, up
    finally:
        up()


def test_lost_database_gives_the_friendly_page_and_recovers(database_gone, settings):
    down, up = database_gone
    anonymous = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    assert anonymous.get(reverse("accounts:login")).status_code == 200
    down()
    response = anonymous.get(reverse("accounts:login"))  # the view's query fails
    assert response.status_code == 503
    body = response.content.decode()
    assert "The system cannot reach its database at the moment" in body
    assert "Traceback" not in body and "OperationalError" not in body and "5432" not in body
    assert response["Retry-After"] == "30"
    assert response["Cache-Control"] == "no-store"
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/readyz").status_code == 503
    up()
    assert anonymous.get(reverse("accounts:login")).status_code == 200  # the same process connects again
    assert anonymous.get("/readyz").status_code == 200


def test_lost_database_in_a_middleware_gives_the_friendly_page(database_gone, regions):
    """A signed-in user's session is read by the middleware, before any view: the handler answers 503 too."""
    official = make_user("hz_official", "official", regions["越秀区"])
    signed_in = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False)
    signed_in.force_login(official)
    assert signed_in.get(reverse("reports:workbench")).status_code == 200
    down, up = database_gone
    down()
    response = signed_in.get(reverse("reports:workbench"))
    assert response.status_code == 503
    assert "The system cannot reach its database at the moment" in response.content.decode()
    up()
    assert signed_in.get(reverse("reports:workbench")).status_code == 200


def test_request_chinese_page(database_gone):
    down, up = database_gone
    down()
    response = Client(HTTP_ACCEPT_LANGUAGE="zh-hans", raise_request_exception=False).get(reverse("accounts:login"))
    assert response.status_code == 503
    assert '<html lang="zh-hans"' in response.content.decode()


def test_a_database_that_accepts_but_never_answers_fails_within_the_connect_timeout(database_gone, settings):
    """DATABASE_CONNECT_TIMEOUT (default 3 s) bounds the wait for a database that hangs (a silent listener here),
    instead of the system's TCP timeout."""
    import time

    assert connection.settings_dict["OPTIONS"]["connect_timeout"] == 3
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    down, up = database_gone
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        connection.close()
        connection.settings_dict["PORT"] = str(silent.getsockname()[1])
        started = time.monotonic()
        response = Client(HTTP_ACCEPT_LANGUAGE="en", raise_request_exception=False).get(reverse("accounts:login"))
        elapsed = time.monotonic() - started
    assert response.status_code == 503
    assert "The system cannot reach its database at the moment" in response.content.decode()
    assert elapsed < 10


def test_a_cancelled_query_is_not_reported_as_a_lost_database(db):
    from django.db import OperationalError

    with pytest.raises(OperationalError) as raised, connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 50")
        cursor.execute("SELECT pg_sleep(2)")
    assert not health.is_database_unavailable(raised.value)
    assert health.is_database_unavailable(OperationalError("connection refused"))


@pytest.mark.s3
def test_readyz_on_the_object_store(client, s3_storage, db):
    """On a real S3 server (SeaweedFS): ready, and the probe leaves no object behind."""
    response = client.get("/readyz", HTTP_X_HEALTH_TOKEN="")
    assert response.status_code == 200, response.content
    assert s3_storage.keys() == []


def test_readyz_unavailable_when_the_object_store_does_not_answer(client, settings, db, caplog):
    from swms.storage import build_storages

    settings.STORAGES = build_storages(
        f"s3://key:secret@127.0.0.1:{_closed_port()}/bucket?secure=0&connect_timeout=1&retries=1"
    )
    with caplog.at_level(logging.WARNING, logger="swms.health"):
        response = client.get("/readyz")
    assert response.status_code == 503 and response.content == b"unavailable\n"
    assert "storage:" in caplog.text


def test_readyz_can_leave_a_check_out(client, settings, media, db):
    """SWMS_READYZ_SKIP=redis: a deployment that keeps its web nodes in the pool while Redis is down."""
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    assert client.get("/readyz").status_code == 503
    settings.SWMS_READYZ_SKIP = ["redis"]
    assert client.get("/readyz").status_code == 200
