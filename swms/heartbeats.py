"""Celery worker and beat heartbeats, stored in the database (Redis may be the very thing that is down).

- Each worker's main process writes its `WorkerHeartbeat` row (hostname, queues, pid) when it is ready and
  then every SWMS_WORKER_HEARTBEAT_SECONDS from a daemon thread; a clean shutdown marks it stopped. A worker
  killed outright simply stops beating: `manage.py celery_status` calls it lost after three missed beats.
- Beat sends `swms.tasks.beat_heartbeat` every minute: `before_task_publish` records when it was sent (in the
  beat process, even if the broker then refuses it), the task records when a worker ran it.
"""

from __future__ import annotations

import logging
import os
import threading

from celery.signals import before_task_publish, worker_ready, worker_shutdown

logger = logging.getLogger(__name__)

BEAT_TASK = "swms.tasks.beat_heartbeat"
_stop = threading.Event()
_state: dict = {}


def _now():
    from django.utils import timezone

    return timezone.now()


def write_worker_heartbeat(hostname: str, *, queues=None, concurrency=None, started: bool = False) -> None:
    from swms.models import WorkerHeartbeat

    now = _now()
    defaults = {"last_seen_at": now, "stopped_at": None, "pid": os.getpid()}
    if queues is not None:
        defaults["queues"] = list(queues)
    if concurrency is not None:
        defaults["concurrency"] = concurrency
    if started:
        defaults["started_at"] = now
    WorkerHeartbeat.objects.update_or_create(hostname=hostname, defaults=defaults)


def _beat_loop(hostname: str, interval: float) -> None:
    from django.db import connection

    while not _stop.wait(interval):
        try:
            write_worker_heartbeat(hostname)
        except Exception:  # the database is down: try again next time
            logger.warning("worker heartbeat: could not write", exc_info=True)
        finally:
            connection.close()  # this thread's own connection; not held between beats (PgBouncer)


def _queue_names(consumer) -> list[str]:
    try:
        return sorted(consumer.app.amqp.queues.consume_from)
    except Exception:
        return []


@worker_ready.connect
def on_worker_ready(sender=None, **kwargs):
    from django.conf import settings
    from django.db import connection

    hostname = getattr(sender, "hostname", None) or f"pid-{os.getpid()}"
    controller = getattr(sender, "controller", None)
    concurrency = getattr(controller, "concurrency", None)
    try:
        write_worker_heartbeat(hostname, queues=_queue_names(sender), concurrency=concurrency, started=True)
    except Exception:
        logger.warning("worker heartbeat: could not write", exc_info=True)
    finally:
        connection.close()
    _stop.clear()
    _state["hostname"] = hostname
    thread = threading.Thread(target=_beat_loop, args=(hostname, settings.SWMS_WORKER_HEARTBEAT_SECONDS),
                              daemon=True, name="swms-worker-heartbeat")
    _state["thread"] = thread
    thread.start()


@worker_shutdown.connect
def on_worker_shutdown(sender=None, **kwargs):
    from swms.models import WorkerHeartbeat

    _stop.set()
    hostname = _state.get("hostname")
    if hostname:
        try:
            WorkerHeartbeat.objects.filter(hostname=hostname).update(stopped_at=_now(), last_seen_at=_now())
        except Exception:
            logger.warning("worker heartbeat: could not record the shutdown", exc_info=True)


@before_task_publish.connect
def on_before_task_publish(sender=None, **kwargs):
    """Beat sends its heartbeat task (the signal's sender is the task name): recorded before the publish, so
    that a beat that ticks while Redis is down still shows as ticking."""
    if sender != BEAT_TASK:
        return
    from swms.models import BeatHeartbeat

    try:
        BeatHeartbeat.objects.update_or_create(pk=1, defaults={"sent_at": _now()})
    except Exception:
        logger.warning("beat heartbeat: could not record the tick", exc_info=True)


def record_beat_ran(hostname: str) -> None:
    from swms.models import BeatHeartbeat

    BeatHeartbeat.objects.update_or_create(pk=1, defaults={"ran_at": _now(), "ran_by": hostname[:200]})


def worker_alive(hostname: str, now=None) -> bool:
    """True if the worker `hostname` wrote a heartbeat within three intervals and has not stopped."""
    from django.conf import settings

    from swms.models import WorkerHeartbeat

    now = now or _now()
    row = WorkerHeartbeat.objects.filter(hostname=hostname).first()
    return bool(row and row.stopped_at is None
                and (now - row.last_seen_at).total_seconds() <= 3 * settings.SWMS_WORKER_HEARTBEAT_SECONDS)


def beat_alive(now=None, max_seconds: int = 180) -> bool:
    """True if beat sent its heartbeat task (every minute) within `max_seconds`."""
    from swms.models import BeatHeartbeat

    now = now or _now()
    beat = BeatHeartbeat.objects.filter(pk=1).first()
    return bool(beat and beat.sent_at and (now - beat.sent_at).total_seconds() <= max_seconds)


def status(now=None) -> dict:
    """What `manage.py celery_status` prints: workers (alive or lost), beat's last tick, the outbox."""
    from django.conf import settings

    from swms.models import BeatHeartbeat, WorkerHeartbeat
    from swms.outbox import pending_summary

    now = now or _now()
    lost_after = 3 * settings.SWMS_WORKER_HEARTBEAT_SECONDS
    workers = []
    for row in WorkerHeartbeat.objects.order_by("hostname"):
        age = (now - row.last_seen_at).total_seconds()
        state = "stopped" if row.stopped_at else ("alive" if age <= lost_after else "lost")
        workers.append({"hostname": row.hostname, "state": state, "last_seen_seconds": round(age, 1),
                        "queues": row.queues, "pid": row.pid, "concurrency": row.concurrency})
    beat = BeatHeartbeat.objects.filter(pk=1).first()

    def age(value):
        return round((now - value).total_seconds(), 1) if value else None

    return {
        "workers": workers,
        "beat": {"sent_seconds_ago": age(beat and beat.sent_at), "ran_seconds_ago": age(beat and beat.ran_at),
                 "ran_by": beat.ran_by if beat else ""},
        "outbox": pending_summary(),
    }
