"""Reads from a streaming replica (DATABASE_REPLICA_URL), where it is safe and worth it.

Everything reads from the primary by default. Code that may read the replica says so, in one way:

    with reads_from_replica():          # or @reads_from_replica() on a view or function
        figures = statistics(...)

which the statistics pages (reports/), the review dashboard, the export files (swms/exports.py) and the
exchange package use. Inside it, `ReplicaRouter.db_for_read` answers "replica" unless one of these holds,
and then "default" (the primary):

- no replica is configured (SWMS_REPLICA_READS false): everything behaves as without this module;
- the request or task has written: a write inside the block (`db_for_write` was asked), a request with a
  non-safe method (POST, PUT, PATCH, DELETE), or a user who wrote in the last SWMS_REPLICA_PIN_SECONDS (a
  cookie set by `ReplicaPinMiddleware` after the write): read-after-write never meets a lagging replica;
- the primary connection is inside a transaction (what it reads may depend on its own uncommitted writes);
- the replica is unreachable or more than SWMS_REPLICA_MAX_LAG_SECONDS behind (checked at most every
  SWMS_REPLICA_CHECK_SECONDS per process), or has not yet replayed the moment given as `fresh_after`
  (the cached statistics pass the time of the change their version stands for, so that figures computed
  from a lagging replica are never cached under the new version).

Writes always go to the primary; nothing is ever migrated on the replica.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from contextvars import ContextVar
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
PIN_COOKIE = "swms_primary"

# How far behind the replica is: 0 when it has replayed all it received, else the time since the last
# transaction it replayed; NULL (unknown) reads as "too far". A server not in recovery (a test mirror, or a
# replica promoted to primary) is never behind.
LAG_SQL = (
    "SELECT CASE WHEN NOT pg_is_in_recovery() THEN 0"
    " WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
    " ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()) END"
)


@dataclass
class _Reads:
    fresh_after: float | None = None
    wrote: bool = False
    alias: str | None = None  # decided at the first read, kept for the block (one consistent source)


_reads: ContextVar[_Reads | None] = ContextVar("swms_replica_reads", default=None)
_pinned: ContextVar[bool] = ContextVar("swms_primary_pinned", default=False)


class reads_from_replica(contextlib.ContextDecorator):  # noqa: N801 - used like a function
    """Reads inside may come from the replica (see the module docstring). `fresh_after` (a Unix time): only
    if the replica has replayed everything committed before it."""

    def __init__(self, fresh_after: float | None = None):
        self.fresh_after = fresh_after
        self._tokens: list = []

    def _recreate_cm(self):  # as a decorator: a fresh instance per call (threads, recursion)
        return type(self)(self.fresh_after)

    def __enter__(self) -> _Reads:
        outer = _reads.get()
        state = _Reads(fresh_after=self.fresh_after, wrote=bool(outer and outer.wrote))
        if outer is not None and outer.fresh_after is not None:
            state.fresh_after = max(outer.fresh_after, self.fresh_after or 0)
        self._tokens.append(_reads.set(state))
        return state

    def __exit__(self, *exc):
        state = _reads.get()
        _reads.reset(self._tokens.pop())
        outer = _reads.get()
        if outer is not None and state is not None:  # a write inside pins the enclosing block too
            outer.wrote = outer.wrote or state.wrote
        return False


@contextlib.contextmanager
def pinned_to_primary():
    """Reads inside never come from the replica (a request by a user who has just written)."""
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


@contextlib.contextmanager
def outside_replica_reads():
    """Inside a reads_from_replica() block, a step that is not part of it (an export's progress write): its
    reads go to the primary and its writes do not send the block's later reads to the primary."""
    token = _reads.set(None)
    try:
        yield
    finally:
        _reads.reset(token)


def replica_configured() -> bool:
    return bool(getattr(settings, "SWMS_REPLICA_READS", False)) and REPLICA in settings.DATABASES


class _Health:
    """What the last lag check of this process found: when (monotonic), whether usable, and up to which
    wall-clock moment the replica had replayed everything (the check's time minus its lag)."""

    lock = threading.Lock()
    checked_at = float("-inf")
    usable = False
    replayed_to = float("-inf")
    unreachable = False  # the last check failed: the next one waits UNREACHABLE_RETRY_SECONDS


# After a failed connection, requests do not each wait for the replica's connect timeout again at once.
UNREACHABLE_RETRY_SECONDS = 30


def reset_replica_health() -> None:
    """Forget the last lag check (tests, and after a failover)."""
    with _Health.lock:
        _Health.checked_at, _Health.usable, _Health.replayed_to = float("-inf"), False, float("-inf")
        _Health.unreachable = False


def _check_replica() -> None:
    wall = time.time()
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(LAG_SQL)
            lag = cursor.fetchone()[0]
    except DatabaseError as error:
        logger.warning("read replica unusable, reading from the primary: %s", error)
        with contextlib.suppress(DatabaseError):
            connections[REPLICA].close()
        with _Health.lock:
            _Health.checked_at, _Health.usable, _Health.unreachable = time.monotonic(), False, True
        return
    lag = None if lag is None else float(lag)
    with _Health.lock:
        _Health.checked_at, _Health.unreachable = time.monotonic(), False
        _Health.usable = lag is not None and lag <= settings.SWMS_REPLICA_MAX_LAG_SECONDS
        _Health.replayed_to = wall - lag if lag is not None else float("-inf")


def _replica_fresh(fresh_after: float | None) -> bool:
    interval = UNREACHABLE_RETRY_SECONDS if _Health.unreachable else settings.SWMS_REPLICA_CHECK_SECONDS
    if time.monotonic() - _Health.checked_at >= interval:
        _check_replica()
    if _Health.usable and fresh_after is not None and _Health.replayed_to < fresh_after:
        _check_replica()  # an older check may predate the moment asked for: look again once
    return _Health.usable and (fresh_after is None or _Health.replayed_to >= fresh_after)


# Never from the replica: who is signed in, with which session and second factor, and the login throttle.
PRIMARY_ONLY_APPS = frozenset({"sessions", "auth", "axes", "django_otp", "otp_totp", "otp_static"})


def read_alias(model=None) -> str:
    """The alias a read of `model` issued now goes to: "replica" or the primary's."""
    state = _reads.get()
    if (state is None or state.wrote or _pinned.get() or not replica_configured()
            or connections[DEFAULT_DB_ALIAS].in_atomic_block):
        return DEFAULT_DB_ALIAS
    if model is not None and (model._meta.app_label in PRIMARY_ONLY_APPS
                              or model._meta.label == settings.AUTH_USER_MODEL):
        return DEFAULT_DB_ALIAS
    if state.alias is None:
        state.alias = REPLICA if _replica_fresh(state.fresh_after) else DEFAULT_DB_ALIAS
    return state.alias


@contextlib.contextmanager
def streaming_reads():
    """Around a long iteration of `QuerySet.iterator()` rows (an export file): reads from the replica where
    allowed, inside one transaction on the connection they read from, so that through PgBouncer's transaction
    pooling the rows still come through a server-side cursor a chunk at a time (swms/pgbouncer/base.py).
    Without PgBouncer nothing but the routing changes (a transaction would only hide the export's own
    progress writes on the primary)."""
    from django.db import transaction

    with reads_from_replica():
        alias = read_alias()
        if alias == REPLICA and getattr(settings, "DATABASE_PGBOUNCER", False):
            with transaction.atomic(using=REPLICA):
                yield alias
        else:
            yield alias


def _other_alias(hints) -> str | None:
    """The alias of a related object loaded from a third database (`.using(...)`), as Django would pick."""
    instance = hints.get("instance")
    db = getattr(getattr(instance, "_state", None), "db", None)
    return db if db not in (None, DEFAULT_DB_ALIAS, REPLICA) else None


class ReplicaRouter:
    """Reads: `read_alias()`; writes: the primary; migrations: never on the replica."""

    def db_for_read(self, model, **hints):
        other = _other_alias(hints)
        return other or read_alias(model)

    def db_for_write(self, model, **hints):
        state = _reads.get()
        if state is not None:
            state.wrote = True
        # An object read from the replica is saved to the primary.
        return _other_alias(hints) or DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        return True  # the same database, whichever copy an object was read from

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class ReplicaPinMiddleware:
    """Read-after-write across requests: a request with a non-safe method, and every request of the same
    browser for SWMS_REPLICA_PIN_SECONDS after it (a cookie), reads only from the primary. Does nothing
    without a replica."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not replica_configured():
            return self.get_response(request)
        writes = request.method not in SAFE_METHODS
        if not (writes or PIN_COOKIE in request.COOKIES):
            return self.get_response(request)
        with pinned_to_primary():
            response = self.get_response(request)
        if writes:
            response.set_cookie(PIN_COOKIE, "1", max_age=settings.SWMS_REPLICA_PIN_SECONDS, path="/",
                                secure=settings.SESSION_COOKIE_SECURE, httponly=True, samesite="Lax")
        return response
