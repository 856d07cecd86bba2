"""The transactional outbox: no task is lost when the broker (Redis) is down.

`enqueue(task, *args, **kwargs)` is called inside the transaction of the change that needs the task (an
approval that needs its certificate). It writes an `OutboxTask` row in that transaction and asks to publish
it at commit:

- rolled back → no row, nothing published;
- committed, broker up → published at once (a short, bounded connect and publish: a page never hangs on a
  dead Redis) and the row marked sent;
- committed, broker down → the row stays pending; `drain_outbox` (beat every minute, or
  `manage.py drain_outbox`) publishes it once the broker is back.

Rows are claimed with SELECT … FOR UPDATE SKIP LOCKED, so the commit hook and any number of drains never
publish the same row twice. A crash between the publish and the UPDATE that marks it sent can publish a
row again: delivery is at least once, and every task is idempotent.

With no broker (the demo, the tests: eager Celery) there is nothing to lose: the task runs at commit as
`task.delay()` always did, and no row is written.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
import uuid

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from swms import request_id

logger = logging.getLogger(__name__)

# After a failed publish this process leaves new tasks to the drain for a while, so that a page does not pay
# the connect timeout for every task while Redis is down.
BREAKER_SECONDS = 10.0
_broker_down_until = 0.0


def _app():
    from swms.celery import app

    return app


def is_eager() -> bool:
    return bool(_app().conf.task_always_eager)


def _task_name(task) -> str:
    return task if isinstance(task, str) else task.name


def enqueue(task, *args, **kwargs):
    """Queue `task(*args, **kwargs)` to run once the current transaction commits (see the module doc).
    Returns the outbox row (None in eager mode). Arguments must be JSON-serialisable."""
    if is_eager():
        runner = _app().tasks[_task_name(task)] if isinstance(task, str) else task
        transaction.on_commit(lambda: runner.delay(*args, **kwargs))
        return None
    from swms.models import OutboxTask

    row = OutboxTask.objects.create(task=_task_name(task), args=list(args), kwargs=kwargs,
                                    task_id=str(uuid.uuid4()), request_id=request_id.get_request_id() or "")
    transaction.on_commit(lambda: _publish_after_commit(row.pk))
    return row


def enqueue_now(task, *args, **kwargs):
    """For tasks queued by a task (a worker, beat's jobs): like `enqueue`, but with eager Celery the task runs
    right away, as `task.delay()` did (the callers' tests run them inline)."""
    if is_eager():
        runner = _app().tasks[_task_name(task)] if isinstance(task, str) else task
        runner.delay(*args, **kwargs)
        return None
    return enqueue(task, *args, **kwargs)


# One broker connection per thread for the commit hooks, kept between requests (a connect per task would cost
# more than the publish); dropped on the first error.
_local = threading.local()


def _publish_after_commit(pk: int) -> None:
    """The commit hook: never raises (the change is committed; a failure leaves the row to the drain)."""
    global _broker_down_until
    if time.monotonic() < _broker_down_until:
        return
    connection = getattr(_local, "connection", None)
    if connection is None:
        connection = _local.connection = broker_connection()
    try:
        sent, failed = publish_pending(ids=[pk], connection=connection)
        if failed and getattr(_local, "reused", False):
            # The kept connection may be the one that died with an earlier Redis: once more on a new one.
            _drop_connection()
            connection = _local.connection = broker_connection()
            sent, failed = publish_pending(ids=[pk], connection=connection)
    except Exception:  # the database itself: the row is committed, the drain will find it
        logger.exception("outbox: could not publish task #%s at commit", pk)
        _drop_connection()
        return
    if failed:
        _drop_connection()
        _broker_down_until = time.monotonic() + BREAKER_SECONDS
    else:
        _local.reused = True


def _drop_connection() -> None:
    connection = getattr(_local, "connection", None)
    _local.connection, _local.reused = None, False
    if connection is not None:
        try:
            connection.release()
        except Exception:
            logger.debug("outbox: closing a broken broker connection failed", exc_info=True)


def reset() -> None:
    """Forget this thread's broker connection and the breaker (the broker's address changed: tests)."""
    global _broker_down_until
    _drop_connection()
    _broker_down_until = 0.0


def broker_connection():
    """A new connection to the broker that gives up quickly (no long kombu retry loop)."""
    timeout = settings.SWMS_OUTBOX_PUBLISH_TIMEOUT
    return _app().connection_for_write(
        connect_timeout=timeout,
        transport_options={"max_retries": 0, "socket_connect_timeout": timeout, "socket_timeout": timeout},
    )


def _publish(row, connection) -> None:
    app = _app()
    if app.conf.task_always_eager:  # rows left from a run with a broker, drained without one
        app.tasks[row.task].apply_async(args=row.args, kwargs=row.kwargs, task_id=row.task_id)
        return
    # Under the id of the request that queued it, also when the drain publishes it later (the worker's log
    # lines of the task carry it: swms/request_id.py).
    with request_id.bound(row.request_id or None):
        app.send_task(row.task, args=row.args, kwargs=row.kwargs, task_id=row.task_id, connection=connection,
                      retry=False, ignore_result=True)


def _broker_errors() -> tuple[type[BaseException], ...]:
    from kombu.exceptions import OperationalError

    return (OperationalError, ConnectionError, TimeoutError, OSError)


def publish_pending(*, ids=None, limit: int = 200, connection=None) -> tuple[int, int]:
    """Publish up to `limit` pending rows (those of `ids` only, if given), oldest first; each is claimed with
    FOR UPDATE SKIP LOCKED and marked sent in the same transaction. Stops at the first broker error (the
    rest would fail the same way); a row that fails for another reason is logged and passed over. Uses
    `connection` if given (left open), else a new one. Returns (sent, 1 if the broker failed else 0)."""
    from swms.models import OutboxTask

    sent = failed = 0
    skipped: list[int] = []
    broker_down = False
    own = connection is None
    try:
        while sent + failed < limit and (ids is None or sent + failed < len(ids)):
            with transaction.atomic():
                pending = OutboxTask.objects.filter(sent_at__isnull=True).exclude(pk__in=skipped).order_by("id")
                if ids is not None:
                    pending = pending.filter(pk__in=ids)
                row = pending.select_for_update(skip_locked=True).first()
                if row is None:
                    break
                if connection is None:
                    connection = broker_connection()
                now = timezone.now()
                row.attempts += 1
                row.last_attempt_at = now
                try:
                    _publish(row, connection)
                except Exception as error:
                    row.last_error = f"{type(error).__name__}: {error}"[:1000]
                    row.save(update_fields=["attempts", "last_attempt_at", "last_error"])
                    failed += 1
                    if not isinstance(error, _broker_errors()):
                        # Something wrong with this row alone: logged, left pending, the others go on.
                        logger.error("outbox: task %s #%s could not be published: %s", row.task, row.pk,
                                     row.last_error)
                        skipped.append(row.pk)
                        continue
                    logger.warning("outbox: broker unreachable, task %s #%s left for the drain: %s",
                                   row.task, row.pk, row.last_error)
                    broker_down = True
                    break
                row.sent_at = now
                row.save(update_fields=["attempts", "last_attempt_at", "sent_at"])
                sent += 1
    finally:
        if own and connection is not None:
            connection.release()
    return sent, int(broker_down)


def drain(*, batch: int = 200, max_batches: int = 50) -> dict:
    """Publish every pending row (in batches, until none is left or the broker fails) and delete sent rows
    past SWMS_OUTBOX_RETENTION_DAYS. Returns counts and the oldest pending row's age (seconds)."""
    global _broker_down_until
    sent = failed = 0
    for _ in range(max_batches):
        s, f = publish_pending(limit=batch)
        sent, failed = sent + s, failed + f
        if f or s < batch:
            break
    if sent and not failed:
        _broker_down_until = 0.0
    purged = purge_sent()
    return {"sent": sent, "failed": failed, "purged": purged, **pending_summary()}


def purge_sent() -> int:
    from swms.models import OutboxTask

    cutoff = timezone.now() - datetime.timedelta(days=settings.SWMS_OUTBOX_RETENTION_DAYS)
    return OutboxTask.objects.filter(sent_at__lt=cutoff).delete()[0]


def pending_summary() -> dict:
    """How many rows wait to be published, and how long the oldest has waited (seconds, or None)."""
    from django.db.models import Count, Min

    from swms.models import OutboxTask

    agg = OutboxTask.objects.filter(sent_at__isnull=True).aggregate(n=Count("id"), oldest=Min("created_at"))
    age = (timezone.now() - agg["oldest"]).total_seconds() if agg["oldest"] else None
    return {"pending": agg["n"], "oldest_pending_seconds": age}
