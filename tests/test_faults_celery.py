"""Fault tests with real processes (bounded, always cleaned up): a Celery worker SIGKILLed in the middle of a
certificate batch, and Redis stopped while officials approve. Run with `pytest -m faults`."""

import os
import signal
import subprocess
import time

import pytest
from django.db import transaction
from django.urls import reverse

from registration import review
from registration.models import Certificate, Registration
from registration.tasks import issue_certificate
from swms import outbox
from swms.celery import app
from swms.models import OutboxTask, WorkerHeartbeat
from tests.registration_fixtures import submitted_application
from tests.test_celery_worker import redis_server, start_redis, start_worker, stop_process, worker_env

pytestmark = [pytest.mark.faults, pytest.mark.usefixtures("english")]

BATCH = 16
# The Redis transport hands the unacknowledged messages of a dead worker to another after this long.
VISIBILITY_TIMEOUT = 10


@pytest.fixture
def own_broker():
    """A redis-server of this test's own, and the project's Celery app publishing to it (eager mode off)."""
    saved = app.conf.broker_url, app.conf.task_always_eager
    with redis_server() as server:
        app.conf.broker_url, app.conf.task_always_eager = server["url"], False
        outbox.reset()
        try:
            yield server
        finally:
            outbox.reset()
            app.conf.broker_url, app.conf.task_always_eager = saved


def wait_for(condition, timeout: float, message: str, interval: float = 0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"{message} (waited {timeout:.0f} s)")


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool processes (it runs in a session of its own): a node that dies."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=20)


def assert_one_pdf_each(registrations):
    for registration in registrations:
        certificates = list(Certificate.objects.filter(registration=registration))
        assert len(certificates) == 1, f"{registration.registration_no}: {len(certificates)} certificates"
        [certificate] = certificates
        assert certificate.revoked_at is None
        with certificate.file.open("rb") as fh:
            pdf = fh.read()
        assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-1024:]
        text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True,
                              timeout=60).stdout.decode()
        assert registration.registration_no in text


def test_sigkill_of_the_worker_in_a_certificate_batch_leaves_exactly_one_certificate_each(
        transactional_db, regions, media, own_broker, tmp_path):
    from tests.factories import RegistrationFactory, SocialWorkerFactory

    registrations = [RegistrationFactory(worker=SocialWorkerFactory(work_region=regions["洪桥街道"]))
                     for _ in range(BATCH)]
    with transaction.atomic():  # the batch is queued the way approvals queue it: through the outbox
        for registration in registrations:
            outbox.enqueue(issue_certificate, registration.pk)
    assert OutboxTask.objects.filter(sent_at__isnull=False).count() == BATCH

    env = worker_env(tmp_path, own_broker["url"], "", SWMS_PRIVATE_MEDIA_ROOT=str(media),
                     SWMS_CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT))
    log = (tmp_path / "worker.log").open("ab")
    first = start_worker(env, pool="prefork", concurrency=2, hostname="first@faults", log=log)
    second = None
    try:
        done = wait_for(lambda: Certificate.objects.count() >= 3 and Certificate.objects.count(), 300,
                        "the first worker issued no 3 certificates")
        kill_group(first)
        killed_at = Certificate.objects.count()
        import redis

        client = redis.Redis(port=own_broker["port"])
        # The messages the dead worker had taken are unacknowledged in Redis, not lost.
        assert client.zcard("unacked_index") >= 1
        assert killed_at < BATCH, "the batch finished before the kill: nothing was tested"
        print(f"killed with {killed_at}/{BATCH} certificates issued")  # noqa: T201  (shown with -s)
        # The dead worker's unacknowledged messages wait in Redis (acks late) until the visibility timeout.
        second = start_worker(env, pool="prefork", concurrency=2, hostname="second@faults", log=log)
        wait_for(lambda: Certificate.objects.count() >= BATCH, 300,
                 f"certificates stuck at {Certificate.objects.count()}/{BATCH} after the restart")
        # Re-deliveries of messages already done (the ones in flight at the kill) change nothing: wait for the
        # queue and the unacked set to drain, then look again.
        wait_for(lambda: client.llen("certificates") == 0 and client.zcard("unacked_index") == 0, 120,
                 "messages left in Redis")
    finally:
        kill_group(first) if first.poll() is None else None
        if second is not None:
            stop_process(second)
        log.close()
    assert Certificate.objects.count() == BATCH
    assert_one_pdf_each(registrations)
    assert done >= 3 and killed_at >= 3
    # At most the two PDFs in flight at the kill were written without their row (a file, never a certificate).
    files = list((media / "certificates").iterdir())
    print(f"{len(files)} certificate files for {BATCH} certificates")  # noqa: T201
    assert BATCH <= len(files) <= BATCH + 2
    assert WorkerHeartbeat.objects.filter(hostname="second@faults", stopped_at__isnull=False).exists()
    first_beat = WorkerHeartbeat.objects.get(hostname="first@faults")
    assert first_beat.stopped_at is None  # killed outright: no clean stop; celery_status calls it lost


def test_redis_stopped_while_officials_approve(transactional_db, regions, media, own_broker, tmp_path, client,
                                               alice, city_official, worker_in, settings):
    """Approvals commit and pages answer while Redis is down; their certificates are issued after it returns."""
    # Production shape: the cache is on the same Redis (rate limits, dashboards).
    settings.CACHES = {"default": {"BACKEND": "swms.cache.ResilientRedisCache",
                                   "LOCATION": own_broker["url"].replace("/0", "/1")}}
    applications = []
    app.conf.task_always_eager = True  # the applications are made and county-approved before the test
    for _ in range(5):
        application = submitted_application(worker_in())
        review.application_approve(application=application, actor=alice)
        applications.append(application)
    app.conf.task_always_eager = False

    env = worker_env(tmp_path, own_broker["url"], "", SWMS_PRIVATE_MEDIA_ROOT=str(media))
    log = (tmp_path / "worker.log").open("ab")
    worker = start_worker(env, pool="prefork", concurrency=2, hostname="outage@faults", log=log)
    redis_process = own_broker["process"]
    client.force_login(city_official)

    def approve(application):
        started = time.monotonic()
        response = client.post(reverse("registration:review-decide", kwargs={"pk": application.pk}),
                               {"action": "approve", "comment": ""})
        return response.status_code, time.monotonic() - started

    try:
        # Redis up: the first approval's certificate is issued at once.
        assert approve(applications[0])[0] == 302
        first = Registration.objects.get(application=applications[0])
        wait_for(lambda: Certificate.objects.filter(registration=first).exists(), 180, "no certificate with Redis up")

        stop_process(redis_process, sig=signal.SIGKILL)  # Redis crashes
        answers = [approve(application) for application in applications[1:]]
        # Every approval committed and answered (a redirect), none waiting on the dead broker.
        assert [status for status, _ in answers] == [302] * 4
        print("approvals with Redis down answered in", [f"{s:.2f} s" for _, s in answers])  # noqa: T201
        assert max(seconds for _, seconds in answers) < 15
        for url in (reverse("registration:review-queue"), reverse("registration:review-detail",
                                                                 kwargs={"pk": applications[1].pk})):
            started = time.monotonic()
            assert client.get(url).status_code == 200
            assert time.monotonic() - started < 15
        approved = Registration.objects.filter(application__in=applications[1:])
        assert approved.count() == 4 and not Certificate.objects.filter(registration__in=approved).exists()
        pending = OutboxTask.objects.filter(sent_at__isnull=True, task=issue_certificate.name)
        assert sorted(row.args[0] for row in pending) == sorted(approved.values_list("pk", flat=True))
        # The drain cannot publish while Redis is down; the rows stay.
        assert outbox.drain()["failed"] == 1 and pending.count() == 4

        own_broker["process"] = start_redis(own_broker["port"])  # Redis returns on the same port
        result = outbox.drain()
        assert result["failed"] == 0 and result["pending"] == 0 and result["sent"] >= 4
        print("worker still running after the outage:", worker.poll() is None)  # noqa: T201
        if worker.poll() is not None:  # the worker gave up reconnecting: a new one, as systemd/compose would
            worker = start_worker(env, pool="prefork", concurrency=2, hostname="outage2@faults", log=log)
        wait_for(lambda: Certificate.objects.filter(registration__in=approved).count() >= 4, 300,
                 "certificates not issued after Redis returned")
        time.sleep(2)
    finally:
        stop_process(worker)
        log.close()
        if own_broker["process"].poll() is None and own_broker["process"] is not redis_process:
            stop_process(own_broker["process"])
    assert_one_pdf_each(Registration.objects.filter(application__in=applications))
