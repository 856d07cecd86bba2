"""The request id (swms/request_id.py): the header roundtrip, JSON log lines that carry it, and its way into the
Celery tasks a request queues, through a real Redis broker and a real worker process."""

import io
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.core.signals import request_finished
from django.db import connection
from django.http import HttpResponse
from django.test import RequestFactory
from django.utils.module_loading import import_string

from swms import request_id
from tests.conftest import make_user
from tests.test_celery_worker import stop_process

pytestmark = pytest.mark.usefixtures("english")

BROKER = os.environ.get("SWMS_TEST_BROKER_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def json_log():
    """A real handler built from settings.LOGGING's JSON formatter and request-id filter, on the root logger."""
    conf = dict(settings.LOGGING["formatters"]["json"])
    formatter = import_string(conf.pop("()"))(**{"fmt" if k == "format" else k: v for k, v in conf.items()})
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    handler.addFilter(import_string(settings.LOGGING["filters"]["request_id"]["()"])())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    finally:
        root.removeHandler(handler)


def test_request_id_header_roundtrip(client):
    response = client.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c01.req")
    assert response["X-Request-ID"] == "lb-7f3a9c01.req"
    made = client.get("/healthz")["X-Request-ID"]
    assert len(made) == 32 and int(made, 16) >= 0
    assert client.get("/healthz")["X-Request-ID"] != made


@pytest.mark.parametrize("bad", ["two words", "x" * 200, "id\nforged log line", "<script>", "-leading-dash"])
def test_an_insane_request_id_is_replaced(client, bad):
    answered = client.get("/healthz", HTTP_X_REQUEST_ID=bad)["X-Request-ID"]
    assert answered != bad and len(answered) == 32


def test_a_log_line_inside_a_view_carries_the_request_id_in_json(client, json_log, regions):
    # A signed-in official asks for a page that does not exist: django.request logs "Not Found" from inside
    # the request, after the session loaded the user.
    official = make_user("rid_official", "official", regions["越秀区"])
    client.force_login(official)
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-view-0001")
    assert response.status_code == 404
    lines = [line for line in json_log() if line.get("logger") == "django.request"]
    assert lines, json_log()
    line = lines[-1]
    assert line["request_id"] == "req-view-0001"
    assert line["user_id"] == official.pk
    assert line["level"] == "WARNING" and "Not Found" in line["message"]
    assert official.username not in json.dumps(line) and "rid_official" not in json.dumps(line)
    # Outside a request the field is there, as "-".
    logging.getLogger("swms.test").warning("outside")
    assert json_log()[-1]["request_id"] == "-"


def test_an_eager_task_keeps_the_request_id_of_its_request(db):
    """With no broker a task runs inside the request: prerun/postrun must not clear the request's id."""
    from swms.tasks import sweep_stale_exports_task

    seen = {}

    def view(request):
        sweep_stale_exports_task.apply()
        seen["after"] = request_id.get_request_id()
        return HttpResponse("ok")

    request_id.RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="req-eager-01"))
    assert seen["after"] == "req-eager-01"
    request_finished.send(sender=None)
    assert request_id.get_request_id() is None


@pytest.fixture
def json_worker(transactional_db, tmp_path):
    """A real `celery worker` process with JSON logs, on its own queue (SWMS_CELERY_QUEUE_PREFIX)."""
    prefix = f"health-{uuid.uuid4().hex[:8]}-"
    log_file = tmp_path / "worker.log"
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "swms.settings_test",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": BROKER,
        "SWMS_CELERY_EAGER": "0",
        "SWMS_CELERY_QUEUE_PREFIX": prefix,
        "SWMS_LOG_FORMAT": "json",
        "SWMS_PRIVATE_MEDIA_ROOT": str(tmp_path / "media"),
    }
    with open(log_file, "wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "swms", "worker", "--pool", "solo", "-Q", f"{prefix}default",
             "--without-heartbeat", "--without-gossip", "--without-mingle", "--loglevel", "INFO"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    sender = Celery("swms-health-client", broker=BROKER, set_as_current=False)
    try:
        yield {"queue": f"{prefix}default", "sender": sender, "log": log_file}
    finally:
        sender.close()
        stop_process(worker)


def _json_lines(path):
    lines = []
    for raw in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    return lines


def test_a_task_queued_by_a_request_logs_with_its_request_id_in_the_worker(json_worker):
    queue, sender = json_worker["queue"], json_worker["sender"]
    published = {}

    def view(request):
        # What the application's queueing does inside a request: publish a task message to the broker.
        published["id"] = sender.send_task("swms.tasks.sweep_stale_exports_task", queue=queue).id
        return HttpResponse("queued")

    response = request_id.RequestIdMiddleware(view)(RequestFactory().get("/", HTTP_X_REQUEST_ID="req-task-4242"))
    request_finished.send(sender=None)
    assert response["X-Request-ID"] == "req-task-4242"

    deadline = time.monotonic() + 90
    finished = []
    while time.monotonic() < deadline and not finished:
        time.sleep(0.5)
        finished = [line for line in _json_lines(json_worker["log"])
                    if published["id"] in line.get("message", "") and "succeeded" in line.get("message", "")]
    assert finished, json_worker["log"].read_text(errors="replace")[-3000:]
    # The worker's log line about the task carries the id of the request that queued it...
    assert finished[0]["request_id"] == "req-task-4242"
    assert finished[0]["logger"].startswith("celery")
    # ...and the worker's lines outside the task do not.
    others = [line for line in _json_lines(json_worker["log"]) if published["id"] not in line.get("message", "")]
    assert others and all(line["request_id"] != "req-task-4242" for line in others)
