"""The transactional outbox (swms/outbox.py), the queue routes, the resilient Redis cache and the SMS/mail
retries, on the real PostgreSQL and a redis-server of the test's own."""

import base64
import json
import os
import subprocess
import sys
import threading
from io import StringIO

import pytest
import redis
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import transaction

from notices.models import Message
from notices.tasks import deliver_message
from registration.tasks import issue_certificate
from swms import outbox, sms
from swms.celery import app
from swms.models import OutboxTask
from tests.conftest import make_user
from tests.test_celery_worker import free_port, redis_server

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture(scope="module")
def own_redis():
    with redis_server() as server:
        yield server


@pytest.fixture
def broker(own_redis):
    """The project's Celery app pointed at our own Redis, eager mode off (as in production)."""
    saved = app.conf.broker_url, app.conf.task_always_eager
    app.conf.broker_url, app.conf.task_always_eager = own_redis["url"], False
    outbox.reset()
    client = redis.Redis(port=own_redis["port"])
    client.flushdb()  # our own server: nobody else's data
    try:
        yield client
    finally:
        outbox.reset()
        app.conf.broker_url, app.conf.task_always_eager = saved


def point_broker_at_nothing():
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    outbox.reset()


def queued(client, queue="certificates") -> list[dict]:
    """The task messages waiting in a Redis queue (kombu's list), oldest first."""
    return [json.loads(raw) for raw in reversed(client.lrange(queue, 0, -1))]


def test_rolled_back_transaction_leaves_no_row_and_publishes_nothing(transactional_db, broker):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue(issue_certificate, 41)
        assert OutboxTask.objects.count() == 1
        raise RuntimeError("the approval failed")
    assert not OutboxTask.objects.exists()
    assert broker.llen("certificates") == 0


def test_committed_task_is_published_at_commit_and_marked_sent(transactional_db, broker):
    with transaction.atomic():
        row = outbox.enqueue(issue_certificate, 42)
        assert broker.llen("certificates") == 0  # not before the commit
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 1 and row.last_error == ""
    [message] = queued(broker)
    assert message["headers"]["task"] == issue_certificate.name and message["headers"]["id"] == row.task_id
    args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
    assert args == [42] and kwargs == {}


def test_broker_down_at_commit_keeps_the_row_then_the_drain_publishes_it_once(transactional_db, broker):
    point_broker_at_nothing()
    with transaction.atomic():
        outbox.enqueue(issue_certificate, 43)
        outbox.enqueue("notices.tasks.deliver_message", 7)
    rows = list(OutboxTask.objects.order_by("id"))
    # The first publish failed (and opened the breaker, so the second did not even try): both pending.
    assert [r.sent_at for r in rows] == [None, None]
    assert rows[0].attempts == 1 and "OperationalError" in rows[0].last_error and rows[1].attempts == 0
    assert outbox.pending_summary()["pending"] == 2
    with pytest.raises(CommandError):  # the drain cannot reach the broker either: says so, rows stay
        call_command("drain_outbox", stdout=StringIO())
    assert OutboxTask.objects.filter(sent_at__isnull=True).count() == 2

    app.conf.broker_url = f"redis://127.0.0.1:{broker.connection_pool.connection_kwargs['port']}/0"
    out = StringIO()
    call_command("drain_outbox", stdout=out)
    assert out.getvalue().startswith("sent 2, pending 0")
    assert [m["headers"]["id"] for m in queued(broker)] == [rows[0].task_id]
    assert [m["headers"]["task"] for m in queued(broker, "notifications")] == ["notices.tasks.deliver_message"]
    # A second drain finds nothing to publish.
    assert outbox.drain()["sent"] == 0
    assert broker.llen("certificates") == 1 and broker.llen("notifications") == 1
    assert not OutboxTask.objects.filter(sent_at__isnull=True).exists()


def test_concurrent_drains_publish_each_row_once(transactional_db, broker):
    point_broker_at_nothing()
    with transaction.atomic():
        for pk in range(60):
            outbox.enqueue(issue_certificate, pk)
    assert OutboxTask.objects.filter(sent_at__isnull=True).count() == 60
    app.conf.broker_url = f"redis://127.0.0.1:{broker.connection_pool.connection_kwargs['port']}/0"
    results, errors = [], []

    def drain():
        from django.db import connection

        try:
            results.append(outbox.drain(batch=7)["sent"])
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=drain) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and sum(results) == 60
    ids = [m["headers"]["id"] for m in queued(broker)]
    assert len(ids) == 60 == len(set(ids))


def test_the_drain_is_a_beat_task_every_minute_and_routes_are_in_one_place(settings):
    from swms import celery_routes

    entry = settings.CELERY_BEAT_SCHEDULE["drain-outbox"]
    assert entry["task"] == "swms.tasks.drain_outbox" and entry["schedule"].total_seconds() == 60
    route = app.amqp.router.route
    assert route({}, "registration.tasks.issue_certificate")["queue"].name == "certificates"
    assert route({}, "swms.tasks.run_export")["queue"].name == "exports"
    assert route({}, "notices.tasks.deliver_message")["queue"].name == "notifications"
    assert route({}, "swms.tasks.drain_outbox")["queue"].name == "default"
    assert settings.CELERY_TASK_DEFAULT_QUEUE == "default" and settings.CELERY_WORKER_PREFETCH_MULTIPLIER == 1
    # The visibility timeout outlasts every hard time limit (else running tasks are delivered twice).
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] > celery_routes.longest_hard_limit()
    assert app.tasks["registration.tasks.issue_certificate"].time_limit == 180


def test_eager_mode_runs_the_task_at_commit_without_a_row(transactional_db, regions, settings, tmp_path):
    """No broker (demo, tests): the task runs at commit, as `.delay()` did."""
    assert app.conf.task_always_eager
    user = make_user("eager_sms", "official", regions["越秀区"], phone="13700000009")
    message = Message.objects.create(user=user, title="t", want_sms=True)
    sms.outbox.clear()
    with transaction.atomic():
        outbox.enqueue(deliver_message, message.pk)
        assert sms.outbox == []
    assert [m.to for m in sms.outbox] == ["13700000009"]
    assert not OutboxTask.objects.exists()


def test_celery_status_shows_workers_beat_and_the_outbox(transactional_db, broker):
    from django.utils import timezone

    from swms.models import BeatHeartbeat, WorkerHeartbeat

    now = timezone.now()
    WorkerHeartbeat.objects.create(hostname="certs@node1", queues=["certificates"], last_seen_at=now)
    WorkerHeartbeat.objects.create(hostname="mail@node2", queues=["notifications"],
                                   last_seen_at=now - timezone.timedelta(minutes=10))
    BeatHeartbeat.objects.create(pk=1, sent_at=now, ran_at=now, ran_by="certs@node1")
    point_broker_at_nothing()
    outbox.enqueue(issue_certificate, 1)
    out = StringIO()
    call_command("celery_status", stdout=out)
    lines = out.getvalue().splitlines()
    assert any("certs@node1" in line and "alive" in line and "certificates" in line for line in lines)
    assert any("mail@node2" in line and "lost" in line for line in lines)
    assert any(line.startswith("Outbox: 1 pending") for line in lines)
    data = json.loads(_status_json())
    assert data["outbox"]["pending"] == 1 and data["beat"]["ran_by"] == "certs@node1"
    # Container healthchecks: a worker by its name, beat by its last tick.
    call_command("celery_status", "--check-worker", "certs@node1", "--check-beat", stdout=StringIO())
    with pytest.raises(CommandError, match="worker mail@node2"):
        call_command("celery_status", "--check-worker", "mail@node2", stdout=StringIO())
    BeatHeartbeat.objects.update(sent_at=now - timezone.timedelta(minutes=5))
    with pytest.raises(CommandError, match="beat"):
        call_command("celery_status", "--check-beat", stdout=StringIO())


def _status_json() -> str:
    out = StringIO()
    call_command("celery_status", "--json", stdout=out)
    return out.getvalue()


# --- The cache without Redis -------------------------------------------------------------------------------


def resilient_cache(port):
    from swms.cache import ResilientRedisCache

    return ResilientRedisCache(f"redis://127.0.0.1:{port}/0", {})


def test_the_redis_cache_works_normally_and_answers_misses_while_redis_is_down(own_redis):
    live = resilient_cache(own_redis["port"])
    live.set("k", "v")
    assert live.get("k") == "v"
    assert live.add("n", 0) and live.incr("n") == 1 and live.incr("n") == 2
    dead = resilient_cache(free_port())
    assert dead.get("k", "default") == "default"
    assert dead.add("n", 0) is False and dead.incr("n") == 1
    dead.set("k", "v")
    dead.delete("k")
    assert dead.get_many(["a", "b"]) == {} and not dead.available


def test_settings_pick_the_resilient_cache_for_a_redis_cache_url():
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "swms.settings", "CACHE_URL": "rediscache://127.0.0.1:6379/1"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
                         check=True).stdout
    assert out.strip() == "swms.cache.ResilientRedisCache"


def test_rate_limits_fail_open_while_redis_is_down(settings):
    from swms import ratelimit

    # Changing CACHES resets Django's cache handlers (and the settings fixture restores them afterwards).
    settings.CACHES = {"default": {"BACKEND": "swms.cache.ResilientRedisCache",
                                   "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}
    assert all(ratelimit.hit("login:someone", 1, 60) for _ in range(5))


# --- SMS and mail retries ----------------------------------------------------------------------------------

FAILURES = {"sms": 0}


@pytest.fixture
def eager_retries():
    """Eager retries run at once, one after the other (a worker would wait for the countdown); with the test
    settings' propagation they would surface as `Retry` exceptions instead of running."""
    saved = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = saved


class FlakySMSBackend(sms.BaseSMSBackend):
    """Fails with a transient error while FAILURES["sms"] > 0, then delivers to the in-memory outbox."""

    def send(self, message):
        if FAILURES["sms"] > 0:
            FAILURES["sms"] -= 1
            raise sms.SMSTransientError("gateway busy")
        sms.outbox.append(message)


def test_a_transient_sms_failure_is_retried_and_nothing_is_sent_twice(db, regions, settings, eager_retries):
    settings.SWMS_SMS_BACKEND = "tests.test_outbox.FlakySMSBackend"
    user = make_user("flaky_sms", "official", regions["越秀区"], phone="13700000010", email="f@example.com")
    message = Message.objects.create(user=user, title="登记证书已签发", want_sms=True, want_email=True)
    sms.outbox.clear()
    FAILURES["sms"] = 2
    # Two failures, then the SMS goes out.
    result = deliver_message.apply(args=(message.pk,))
    assert result.successful() and result.get() == {"sms": True, "email": False}
    assert len(sms.outbox) == 1 and len(mail.outbox) == 1  # the mail went out on the first try, once
    message.refresh_from_db()
    assert message.sms_sent_at and message.email_sent_at


def test_sms_retries_stop_after_max_retries_and_the_mail_is_not_resent(db, regions, settings, eager_retries):
    from notices.tasks import MAX_RETRIES, TransientDeliveryError

    settings.SWMS_SMS_BACKEND = "tests.test_outbox.FlakySMSBackend"
    user = make_user("down_sms", "official", regions["越秀区"], phone="13700000011", email="d@example.com")
    message = Message.objects.create(user=user, title="t", want_sms=True, want_email=True)
    sms.outbox.clear()
    FAILURES["sms"] = MAX_RETRIES + 5
    result = deliver_message.apply(args=(message.pk,))
    assert result.failed() and isinstance(result.result, TransientDeliveryError)
    assert FAILURES["sms"] == 4  # the first try and MAX_RETRIES retries failed: 1 + MAX_RETRIES calls
    assert sms.outbox == [] and len(mail.outbox) == 1
    message.refresh_from_db()
    assert message.sms_sent_at is None and message.email_sent_at is not None
    FAILURES["sms"] = 0


def test_a_permanent_smtp_refusal_is_not_retried():
    import smtplib

    from notices.tasks import _transient

    assert not _transient(smtplib.SMTPRecipientsRefused({"x@example.com": (550, b"no such user")}))
    assert _transient(smtplib.SMTPServerDisconnected("gone"))
    assert _transient(smtplib.SMTPResponseException(421, b"try later"))
    assert _transient(sms.SMSTransientError("busy")) and not _transient(ValueError("bad number"))


def test_a_row_that_cannot_be_published_does_not_block_the_others(db):
    """Rows left from a run with a broker, drained without one (eager): a row whose task is unknown is logged
    and passed over; the next one still runs."""
    assert app.conf.task_always_eager
    bad = OutboxTask.objects.create(task="no.such.task", task_id="bad")
    good = OutboxTask.objects.create(task="notices.tasks.deliver_message", args=[987654], task_id="good")
    result = outbox.drain()
    assert result["sent"] == 1 and result["failed"] == 0 and result["pending"] == 1
    bad.refresh_from_db()
    good.refresh_from_db()
    assert good.sent_at is not None and bad.sent_at is None and bad.attempts == 1 and "no.such.task" in bad.last_error


def test_a_task_drained_after_an_outage_carries_the_request_id_of_the_request_that_queued_it(
        transactional_db, broker):
    from swms import request_id

    point_broker_at_nothing()
    with request_id.bound("req-approval-42"), transaction.atomic():
        outbox.enqueue(issue_certificate, 44)
    row = OutboxTask.objects.get()
    assert row.sent_at is None and row.request_id == "req-approval-42"
    app.conf.broker_url = f"redis://127.0.0.1:{broker.connection_pool.connection_kwargs['port']}/0"
    with request_id.bound("beat-drain-run"):  # the drain runs in a task of its own, with another id
        assert outbox.drain()["sent"] == 1
    [message] = queued(broker)
    assert message["headers"]["swms_request_id"] == "req-approval-42"
