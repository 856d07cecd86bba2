"""The Celery app. With no CELERY_BROKER_URL the settings make every task run eagerly.

Queues and time limits: swms/celery_routes.py. Tasks queued by the web: swms/outbox.py. Worker and beat
heartbeats (in the database): swms/heartbeats.py, shown by `manage.py celery_status`."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")

app = Celery("swms")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from swms import heartbeats  # noqa: E402, F401  (connects the worker and beat heartbeat signals)
