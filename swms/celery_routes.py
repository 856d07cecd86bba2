"""Where each Celery task goes and how long it may run: the one place for queues and time limits.

Four queues, so that a batch of certificate PDFs never delays a password-reset SMS and a large export
never delays a certificate:

- ``certificates``: certificate PDFs (rendering + signing, CPU-bound);
- ``exports``: export files, import-centre steps, the exchange packages (long, I/O-bound);
- ``notifications``: SMS and email delivery, notice reminders, the weekly digests;
- ``default``: everything else (beat housekeeping, the outbox drain, statistics).

``SWMS_CELERY_QUEUE_PREFIX`` is put in front of every name (empty in production): two deployments, or two
test workers, can share one Redis without taking each other's messages. A worker names its queues with
``-Q``; ``queue_names()`` gives the prefixed list.
"""

from __future__ import annotations

import os

QUEUE_PREFIX = os.environ.get("SWMS_CELERY_QUEUE_PREFIX", "")
QUEUES = ("certificates", "exports", "notifications", "default")


def queue(name: str) -> str:
    """The broker name of one of QUEUES (with the deployment's prefix)."""
    if name not in QUEUES:
        raise ValueError(f"unknown queue {name!r}")
    return QUEUE_PREFIX + name


def queue_names(*names: str) -> list[str]:
    """The broker names of `names` (all four if none)."""
    return [queue(name) for name in names or QUEUES]


# Task name → queue. Anything not named here goes to `default` (CELERY_TASK_DEFAULT_QUEUE).
TASK_QUEUES = {
    "registration.tasks.issue_certificate": "certificates",
    "registration.tasks.issue_due_certificates": "certificates",
    "swms.tasks.run_export": "exports",
    "swms.tasks.run_import_step": "exports",
    "exchange.tasks.export_monthly_packages": "exports",
    "exchange.tasks.export_province_package": "exports",
    "notices.tasks.deliver_message": "notifications",
    "notices.tasks.deliver_messages": "notifications",
    "notices.tasks.send_notice_reminder": "notifications",
    "notices.tasks.send_weekly_digests": "notifications",
    "notices.tasks.send_digest_batch": "notifications",
}

# (soft, hard) time limits in seconds. The soft limit raises SoftTimeLimitExceeded in the task (its
# transaction rolls back, the message is acknowledged as failed); the hard one kills the process (the
# message is re-delivered: acks late + reject on worker lost), so the hard limit is for stuck tasks only.
# CELERY_TASK_SOFT_TIME_LIMIT / CELERY_TASK_TIME_LIMIT (settings) apply to every other task.
DEFAULT_TIME_LIMITS = (600, 660)
TIME_LIMITS = {
    # One PDF takes about a second; a minute means the renderer is stuck.
    "registration.tasks.issue_certificate": (120, 180),
    "notices.tasks.deliver_message": (60, 90),
    "notices.tasks.deliver_messages": (900, 960),
    "notices.tasks.send_notice_reminder": (1800, 1860),
    # Exports and imports keep a heartbeat on their job; a province-wide file may take many minutes.
    "swms.tasks.run_export": (3000, 3300),
    "swms.tasks.run_import_step": (3000, 3300),
    "exchange.tasks.export_province_package": (3000, 3300),
    "reports.tasks.rebuild_statistics": (3000, 3300),
    "swms.tasks.purge_expired_records_task": (3000, 3300),
    "swms.tasks.drain_outbox": (240, 300),
}


def routes() -> dict:
    """CELERY_TASK_ROUTES."""
    return {name: {"queue": queue(q)} for name, q in TASK_QUEUES.items()}


def annotations() -> dict:
    """CELERY_TASK_ANNOTATIONS: the per-task time limits."""
    return {name: {"soft_time_limit": soft, "time_limit": hard} for name, (soft, hard) in TIME_LIMITS.items()}


def longest_hard_limit() -> int:
    return max([DEFAULT_TIME_LIMITS[1], *(hard for _soft, hard in TIME_LIMITS.values())])
