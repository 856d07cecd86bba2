"""Tasks through a real Celery worker against the real Redis broker (no eager mode)."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.db import connection

from notices.models import Message
from notices.tasks import deliver_message
from tests.conftest import make_user

BROKER = os.environ.get("SWMS_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent
QUEUES = ("certificates", "exports", "notifications", "default")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def redis_server(port: int | None = None):
    """A redis-server of the test's own on a free loopback port (no persistence), stopped on exit."""
    port = port or free_port()
    process = start_redis(port)
    try:
        yield {"port": port, "url": f"redis://127.0.0.1:{port}/0", "process": process}
    finally:
        stop_process(process)


def start_redis(port: int) -> subprocess.Popen:
    import redis

    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--daemonize", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            redis.Redis(port=port, socket_connect_timeout=0.5).ping()
            return process
        except redis.exceptions.ConnectionError:
            if time.monotonic() > deadline or process.poll() is not None:
                stop_process(process)
                raise RuntimeError(f"redis-server did not start on port {port}") from None
            time.sleep(0.1)


def stop_process(process: subprocess.Popen, sig=signal.SIGTERM, timeout: float = 20) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)


def worker_env(tmp_path, broker: str, prefix: str, **extra) -> dict:
    """The environment of a `celery worker` subprocess on the test database."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "swms.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": broker,
        "CELERY_RESULT_BACKEND": broker,
        "SWMS_CELERY_EAGER": "0",
        "SWMS_CELERY_QUEUE_PREFIX": prefix,
        "SWMS_SMS_BACKEND": "swms.sms.FileBackend",
        "SWMS_SMS_FILE_PATH": str(tmp_path / "sms.jsonl"),
        "SWMS_PRIVATE_MEDIA_ROOT": str(tmp_path / "media"),
        "SWMS_WORKER_HEARTBEAT_SECONDS": "2",
        **extra,
    }


def start_worker(env: dict, *, prefix: str = "", queues=QUEUES, pool: str = "solo", concurrency: int = 1,
                 hostname: str | None = None, log=None) -> subprocess.Popen:
    """A real `celery worker` process consuming `queues` (with `prefix`), as the README's commands run it."""
    names = ",".join(prefix + q for q in queues)
    command = [sys.executable, "-m", "celery", "-A", "swms", "worker", "--pool", pool, "-Q", names,
               "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "WARNING",
               "--hostname", hostname or f"test-{uuid.uuid4().hex[:8]}@%h"]
    if pool == "prefork":
        command += ["--concurrency", str(concurrency)]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log or subprocess.DEVNULL,
                            stderr=subprocess.STDOUT, start_new_session=True)


@pytest.fixture
def celery_worker_process(transactional_db, tmp_path):
    """A `celery worker` subprocess on the test database, with queues of its own (SWMS_CELERY_QUEUE_PREFIX)
    and its own SMS file. `queue` is its default queue; it consumes all four."""
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    queue = prefix + "default"
    hostname = f"{prefix}worker@localhost"
    worker = start_worker(worker_env(tmp_path, BROKER, prefix), prefix=prefix, hostname=hostname)
    # A client app of its own (the project app may already hold an eager-mode pool and backend), not made the
    # current app: the project's shared tasks must go on resolving to the project's app in later tests.
    sender = Celery("swms-test-client", broker=BROKER, backend=BROKER, set_as_current=False)
    try:
        yield {"queue": queue, "prefix": prefix, "hostname": hostname, "sms_file": tmp_path / "sms.jsonl",
               "process": worker, "sender": sender}
    finally:
        sender.close()
        stop_process(worker)
        import redis

        # The test's own queues are dropped from the shared Redis (never FLUSHALL: others use it).
        client = redis.Redis.from_url(BROKER)
        client.delete(*(prefix + q for q in QUEUES))


def test_message_delivery_task_runs_in_a_real_worker_and_is_idempotent(celery_worker_process, settings):
    user = make_user("sw_task", "social_worker", phone="13700000001", email="task@example.com")
    message = Message.objects.create(user=user, title="登记申请已通过", want_sms=True, want_email=False)
    # Queued twice (a retry, a double click): the SMS still goes out once.
    queue = celery_worker_process["queue"]
    sender = celery_worker_process["sender"]
    first = sender.send_task(deliver_message.name, args=(message.pk,), queue=queue)
    assert first.get(timeout=60) == {"sms": True, "email": False}
    second = sender.send_task(deliver_message.name, args=(message.pk,), queue=queue)
    assert second.get(timeout=60) == {"sms": False, "email": False}

    message.refresh_from_db()
    assert message.sms_sent_at is not None
    lines = [json.loads(line) for line in celery_worker_process["sms_file"].read_text(encoding="utf-8").splitlines()]
    assert len(lines) == 1
    assert lines[0]["to"] == "13700000001" and "登记申请已通过" in lines[0]["text"]


def test_certificate_issued_end_to_end_by_a_real_worker(celery_worker_process, regions, settings):
    """Approval → the issue task through Redis → a PDF on disk that reads back, once."""
    import subprocess as sp

    from registration.models import Certificate
    from registration.tasks import issue_certificate
    from tests.factories import QualificationFactory, RegistrationFactory, SocialWorkerFactory

    settings.MEDIA_ROOT = celery_worker_process["sms_file"].parent / "media"
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"], name="陈真")
    registration = RegistrationFactory(
        worker=worker, qualification=QualificationFactory(id_number=worker.id_number, name="陈真")
    )
    sender = celery_worker_process["sender"]
    queue = celery_worker_process["queue"]
    first = sender.send_task(issue_certificate.name, args=(registration.pk,), queue=queue).get(timeout=90)
    second = sender.send_task(issue_certificate.name, args=(registration.pk,), queue=queue).get(timeout=90)
    assert first == second
    certificate = Certificate.objects.get(registration=registration)
    with certificate.file.open("rb") as fh:
        text = sp.run(["pdftotext", "-", "-"], input=fh.read(), capture_output=True, check=True).stdout.decode()
    assert "陈真" in text and registration.registration_no in text


def test_weekly_digest_runs_once_through_a_real_worker(celery_worker_process, regions):
    """Beat's digest task on a real worker: batches queued by the task itself run there too, and a second
    run in the same week sends nothing more."""
    import time

    from notices.models import DigestSent
    from notices.tasks import send_weekly_digests
    from registration.models import SocialWorker
    from swms.workflow import review_submit
    from tests.factories import SocialWorkerFactory

    county = make_user("yx_digest", "official", regions["越秀区"], email="yx@example.com")
    make_user("lw_digest", "official", regions["荔湾区"])  # nothing waiting: no digest
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"])
    review_submit(worker, actor=worker.user)
    assert SocialWorker.objects.review_queue(county).count() == 1
    sender, queue = celery_worker_process["sender"], celery_worker_process["queue"]
    week = "2026-11-23"
    for _ in range(2):
        assert sender.send_task(send_weekly_digests.name, args=(week,), queue=queue).get(timeout=60) == 2
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not DigestSent.objects.filter(week=week).exists():
        time.sleep(0.5)
    time.sleep(3)  # let the second run's batches finish too
    assert list(DigestSent.objects.filter(week=week).values_list("user__username", flat=True)) == ["yx_digest"]
    assert Message.objects.filter(user=county).count() == 1


def test_import_centre_steps_run_in_a_real_worker_once(celery_worker_process, regions, settings):
    """The import centre's check and import (swms.tasks.run_import_step) through Redis: each step runs once
    however often it is delivered, and the import writes the rows."""
    import io as _io

    from openpyxl import Workbook

    from registration.models import Qualification
    from swms.models import ImportJob
    from swms.tasks import run_import_step
    from tests.factories import make_id_number

    settings.MEDIA_ROOT = celery_worker_process["sms_file"].parent / "media"
    official = make_user("gd_worker_import", "official", regions["广东省"])
    wb = Workbook()
    wb.active.append(["姓名", "身份证号", "证书级别", "证书管理号", "考试年度"])
    for i in range(3):
        wb.active.append([f"社工{i}", make_id_number(), "社会工作师", f"W2021{i}", 2021])
    handle = _io.BytesIO()
    wb.save(handle)
    job = ImportJob.objects.create(kind="roster", user=official, scope=official.region, file_name="名单.xlsx",
                                   size=len(handle.getvalue()), sha256="0" * 64)
    job.file.save("名单.xlsx", _io.BytesIO(handle.getvalue()))
    sender, queue = celery_worker_process["sender"], celery_worker_process["queue"]
    for _ in range(2):
        assert sender.send_task(run_import_step.name, args=(job.pk, "check"), queue=queue).get(timeout=60) == "checked"
    job.refresh_from_db()
    assert job.check_report["created"] == 3 and not Qualification.objects.exists()
    ImportJob.objects.filter(pk=job.pk).update(status="import_queued")
    for _ in range(2):
        assert sender.send_task(run_import_step.name, args=(job.pk, "import"), queue=queue).get(timeout=60) == "done"
    assert Qualification.objects.filter(issuing_province="广东省").count() == 3


def test_the_worker_writes_its_heartbeat_with_its_queues_and_marks_a_clean_stop(celery_worker_process):
    from swms.models import WorkerHeartbeat

    hostname, prefix = celery_worker_process["hostname"], celery_worker_process["prefix"]
    deadline = time.monotonic() + 60
    row = None
    while time.monotonic() < deadline:
        row = WorkerHeartbeat.objects.filter(hostname=hostname).first()
        if row is not None and row.last_seen_at > row.started_at:
            break
        time.sleep(0.5)
    assert row is not None and row.last_seen_at > row.started_at, "no second heartbeat within 60 s"
    assert sorted(row.queues) == sorted(prefix + q for q in QUEUES) and row.stopped_at is None
    stop_process(celery_worker_process["process"])
    row.refresh_from_db()
    assert row.stopped_at is not None


def test_beat_heartbeat_task_records_when_it_ran_and_celery_status_shows_it(celery_worker_process):
    from io import StringIO

    from django.core.management import call_command

    from swms.models import BeatHeartbeat

    sender, queue = celery_worker_process["sender"], celery_worker_process["queue"]
    assert sender.send_task("swms.tasks.beat_heartbeat", queue=queue).get(timeout=60) == \
        celery_worker_process["hostname"]
    beat = BeatHeartbeat.objects.get()
    assert beat.ran_by == celery_worker_process["hostname"] and beat.ran_at is not None
    out = StringIO()
    call_command("celery_status", stdout=out)
    text = out.getvalue()
    assert celery_worker_process["hostname"] in text and "alive" in text and "Outbox: 0 pending" in text


def test_real_beat_and_worker_heartbeats_show_in_celery_status(transactional_db, tmp_path):
    """`celery beat` (DatabaseScheduler) and a worker on a Redis of the test's own: beat's heartbeat task is
    sent and run, the drain runs, and the healthchecks of `celery_status` pass."""
    from io import StringIO

    from django.core.management import call_command

    from swms.models import BeatHeartbeat

    with redis_server() as server:
        env = worker_env(tmp_path, server["url"], "")
        log = (tmp_path / "celery.log").open("ab")
        worker = start_worker(env, hostname="beat-test@localhost", log=log)
        beat = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "swms", "beat", "--loglevel", "WARNING",
             "--schedule", str(tmp_path / "beat-schedule")],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                row = BeatHeartbeat.objects.filter(pk=1).first()
                if row is not None and row.sent_at and row.ran_at:
                    break
                time.sleep(1)
            row = BeatHeartbeat.objects.get(pk=1)
            assert row.sent_at and row.ran_at and row.ran_by == "beat-test@localhost"
            out = StringIO()
            call_command("celery_status", "--check-beat", "--check-worker", "beat-test@localhost", stdout=out)
            assert out.getvalue().strip() == "ok"
        finally:
            stop_process(beat)
            stop_process(worker)
            log.close()
