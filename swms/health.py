"""Health checks for load balancers and the "database unavailable" page (issue #17).

- `/healthz`: the process answers (no database, no cache, nothing else).
- `/readyz`: the database answers, Redis answers when the broker or the cache is Redis, the default storage
  writes, reads and deletes a probe object, and every migration is applied.

Both answer `ok` (200) or `unavailable` (503) in plain text, without authentication, uncached, and with no
detail: the failing checks go to the log (logger `swms.health`), and to a request carrying the secret of
SWMS_HEALTH_TOKEN in the `X-Health-Token` header. HealthCheckMiddleware answers them before every other
middleware but the request id's (no HTTPS redirect, host check, session or login for a probe by IP over plain
HTTP); the URL patterns `healthz` and `readyz` name the same views.

DatabaseUnavailableMiddleware and swms.views.server_error turn a lost database (OperationalError,
InterfaceError) into a 503 page rendered without touching the database; Django drops the broken connection at
the end of the request (and CONN_HEALTH_CHECKS checks a persistent one before reuse), so the next request
connects again once PostgreSQL is back, without restarting the web process.
"""

from __future__ import annotations

import concurrent.futures
import hmac
import logging
import os
import socket
import threading
import time
import uuid

from django.conf import settings
from django.http import HttpResponse

logger = logging.getLogger("swms.health")

HEALTH_PATHS = {"/healthz", "/healthz/"}
READY_PATHS = {"/readyz", "/readyz/"}
TOKEN_HEADER = "X-Health-Token"
RETRY_AFTER_SECONDS = 30
PROBE_FOLDER = "_health"

_pool = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="swms-readyz")
_migrations_cache: dict[str, tuple[float, bool]] = {}
_migrations_lock = threading.Lock()


def _plain(status: int, body: str) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")
    response["Cache-Control"] = "no-store"
    return response


def _with_token(request) -> bool:
    secret = getattr(settings, "SWMS_HEALTH_TOKEN", "")
    given = request.headers.get(TOKEN_HEADER, "")
    return bool(secret) and bool(given) and hmac.compare_digest(secret.encode(), given.encode())


# --- The checks: each returns None when fine, else a short reason for the operators' log --------------------


def _in_thread(check):
    """Runs a check in a worker thread of the pool and closes the database connections it opened there."""
    from django.db import connections

    def run():
        try:
            return check()
        finally:
            connections.close_all()

    return run


def check_database() -> str | None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return None


def _redis_urls() -> list[str]:
    urls = []
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    if broker.startswith(("redis://", "rediss://")) and not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
        urls.append(broker)
    for cache in settings.CACHES.values():
        if "redis" in cache.get("BACKEND", "").lower():
            location = cache.get("LOCATION")
            for url in [location] if isinstance(location, str) else (location or []):
                if str(url).startswith(("redis://", "rediss://", "unix://")):
                    urls.append(str(url))
    return list(dict.fromkeys(urls))


def check_redis() -> str | None:
    import redis

    timeout = settings.SWMS_READYZ_TIMEOUT
    for url in _redis_urls():
        client = redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout)
        try:
            client.ping()
        finally:
            client.close()
    return None


def check_storage() -> str | None:
    """Writes, reads back and deletes a tiny object through the default storage (local disk or S3)."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    payload = uuid.uuid4().hex.encode()
    name = f"{PROBE_FOLDER}/probe-{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:8]}.txt"
    stored = default_storage.save(name, ContentFile(payload))
    try:
        with default_storage.open(stored, "rb") as handle:
            if handle.read() != payload:
                return "the probe object read back differently"
    finally:
        default_storage.delete(stored)
    return None


def check_migrations() -> str | None:
    """All migrations applied; the answer is kept SWMS_READYZ_MIGRATIONS_CACHE seconds (a few when not)."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    now = time.monotonic()
    cached = _migrations_cache.get("default")
    if cached is not None and now < cached[0]:
        return None if cached[1] else "not all applied"
    with _migrations_lock:
        executor = MigrationExecutor(connection)
        applied = not executor.migration_plan(executor.loader.graph.leaf_nodes())
        keep = settings.SWMS_READYZ_MIGRATIONS_CACHE if applied else min(5, settings.SWMS_READYZ_MIGRATIONS_CACHE)
        _migrations_cache["default"] = (time.monotonic() + keep, applied)
    return None if applied else "not all applied"


CHECKS = {
    "database": check_database,
    "redis": check_redis,
    "storage": check_storage,
    "migrations": check_migrations,
}


def run_checks() -> dict[str, str | None]:
    """{check name: None if fine, else the reason}, every check run in parallel and bounded by
    SWMS_READYZ_TIMEOUT (a check that does not answer in time fails)."""
    skip = set(getattr(settings, "SWMS_READYZ_SKIP", []) or [])
    names = [name for name in CHECKS if name not in skip]
    if "redis" in names and not _redis_urls():
        names.remove("redis")
    futures = {name: _pool.submit(_in_thread(CHECKS[name])) for name in names}
    deadline = time.monotonic() + settings.SWMS_READYZ_TIMEOUT
    results: dict[str, str | None] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except concurrent.futures.TimeoutError:
            results[name] = f"no answer within {settings.SWMS_READYZ_TIMEOUT:g} s"
        except Exception as e:  # noqa: BLE001 - any failure means "not ready"
            results[name] = f"{e.__class__.__name__}: {str(e)[:200]}".strip()
    return results


# --- Views --------------------------------------------------------------------------------------------------


def healthz(request):
    return _plain(200, "ok\n")


def readyz(request):
    results = run_checks()
    failed = {name: reason for name, reason in results.items() if reason}
    if failed:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in failed.items())
        logger.warning("readyz: unavailable (%s)", reasons)
    body = "ok\n" if not failed else "unavailable\n"
    if _with_token(request):
        body += "".join(f"{name}: {reason or 'ok'}\n" for name, reason in results.items())
    return _plain(503 if failed else 200, body)


class HealthCheckMiddleware:
    """Answers /healthz and /readyz before the rest of the middleware (see the module docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if path in HEALTH_PATHS:
            return healthz(request)
        if path in READY_PATHS:
            return readyz(request)
        return self.get_response(request)


# --- The database is unavailable ----------------------------------------------------------------------------


def is_database_unavailable(exc) -> bool:
    """A lost or unreachable database (connection refused or timed out, server shut down or starting up), not
    a query that the server cancelled (statement timeout) or rolled back (deadlock, serialization failure)."""
    from django.db import InterfaceError, OperationalError

    if not isinstance(exc, (OperationalError, InterfaceError)):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or ""
    return not (sqlstate.startswith("40") or sqlstate == "57014")


def database_unavailable_response(request) -> HttpResponse:
    """The 503 page, rendered from templates/503.html with no context processor (nothing that queries); the
    connections that failed are closed so that the next request connects again."""
    from django.db import connections
    from django.template import loader
    from django.utils import translation

    for connection in connections.all(initialized_only=True):
        try:
            if connection.connection is not None and not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail too; Django retries at the end
            logger.debug("closing a broken database connection failed", exc_info=True)
    language = translation.get_language_from_request(request)
    with translation.override(language):
        context = {"retry_after": RETRY_AFTER_SECONDS, "LANGUAGE_CODE": language}
        body = loader.get_template("503.html").render(context)
    response = HttpResponse(body, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


class DatabaseUnavailableMiddleware:
    """A view that loses the database answers with the 503 page (errors raised by other middleware reach
    swms.views.server_error, which does the same)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not is_database_unavailable(exception):
            return None
        logger.warning("database unavailable: %s %s: %s", request.method, request.path,
                       exception.__class__.__name__)
        return database_unavailable_response(request)
