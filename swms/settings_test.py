"""Test settings: PostgreSQL (DATABASE_URL, default the local server), eager Celery unless a test
starts a worker, fast hashing, captcha test mode, and the test-only app for the workflow tests."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/swms")

from .settings import *  # noqa: E402, F403
from .settings import INSTALLED_APPS, VAR_DIR  # noqa: E402

INSTALLED_APPS = [*INSTALLED_APPS, "tests.testapp"]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CAPTCHA_TEST_MODE = True
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = os.environ.get("SWMS_CELERY_EAGER", "1") == "1"
# Export jobs run in the request's commit hook like the other eager tasks; tests/test_export_engine.py
# drives the thread and the real-worker paths itself.
SWMS_EXPORT_RUNNER = os.environ.get("SWMS_EXPORT_RUNNER", "inline")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The in-memory SMS outbox, unless a test that runs a real worker process asks for the file backend.
SWMS_SMS_BACKEND = os.environ.get("SWMS_SMS_BACKEND", "swms.sms.LocmemBackend")
SWMS_SMS_FILE_PATH = os.environ.get("SWMS_SMS_FILE_PATH", str(VAR_DIR / "test-sms.jsonl"))
# Many tests hit the public verification page within a minute; the rate-limit test lowers this.
SWMS_VERIFY_RATE_PER_MINUTE = 1000
# The same for the stations' registry lookup (the cache is shared by the whole run); its test lowers it.
SWMS_WORKER_LOOKUP_PER_HOUR = 1000
# The rate limits of swms/throttle.py, counted in the cache the whole run shares from one address;
# tests/test_rate_limits.py lowers them.
SWMS_EXPORT_PER_HOUR = SWMS_PDF_PER_HOUR = SWMS_REGISTRY_LOOKUP_PER_MINUTE = SWMS_PASSWORD_RESET_PER_HOUR = 100_000

# --- Database pooling and read replica (#17) ---: a "replica" alias that is a test mirror of the default
# database (same test database, its own connection); the router sends nothing to it unless a test turns
# SWMS_REPLICA_READS on (tests/test_db_router.py). DATABASE_PGBOUNCER applies to it as to the default.
from .settings import DATABASES  # noqa: E402

DATABASES["replica"] = {**DATABASES["default"], "TEST": {"MIRROR": "default"}}
SWMS_REPLICA_READS = False
