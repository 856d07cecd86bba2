"""A request id in every log line, carried into the Celery tasks a request queues (issue #17).

RequestIdMiddleware (first in MIDDLEWARE) takes the id from the `X-Request-ID` header when it looks sane (a
proxy or load balancer set it), else makes one; it is kept in a context variable for the request, returned in
the response's `X-Request-ID` header, and RequestIdFilter adds it (and the signed-in user's id, never personal
data) to every log record. Celery: the id travels in the message headers (before_task_publish) and is set again
in the worker while the task runs (task_prerun / task_postrun); swms/apps.py connects the signals.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import re
import uuid

from django.core.signals import request_finished

HEADER = "X-Request-ID"
TASK_HEADER = "swms_request_id"
# Letters, digits and a few separators, at most 128 characters: nothing that could forge a log line.
_SANE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+=/-]{0,127}$")

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("swms_request_id", default=None)
_request: contextvars.ContextVar[object | None] = contextvars.ContextVar("swms_request", default=None)


def get_request_id() -> str | None:
    return _request_id.get()


def new_request_id() -> str:
    return uuid.uuid4().hex


def sane(value: str | None) -> bool:
    return bool(value) and _SANE.match(value) is not None


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get(HEADER)
        request_id = incoming if sane(incoming) else new_request_id()
        request.request_id = request_id
        # Kept until the response is finished (request_finished, below), not only while the middleware runs:
        # Django's own lines about the response ("Not Found: …", the 500's traceback) come after it.
        _request_id.set(request_id)
        _request.set(request)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


def _request_finished(**kwargs):
    _request.set(None)
    _request_id.set(None)


request_finished.connect(_request_finished, dispatch_uid="swms.request_id.finished")


def _user_id() -> int | str | None:
    """The signed-in user's id if the request has loaded its user already. Never loads it here: a log line
    must not query the database (nor recurse into logging)."""
    from django.utils.functional import LazyObject, empty

    request = _request.get()
    user = getattr(request, "__dict__", {}).get("user") if request is not None else None
    for _ in range(5):  # OTPMiddleware wraps the lazy user of AuthenticationMiddleware in another one
        if not isinstance(user, LazyObject):
            break
        user = user._wrapped
        if user is empty:
            return None
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return getattr(user, "pk", None)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` and `user_id` ("-" outside a request) to every record it sees."""

    def filter(self, record):
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or "-"
        if not hasattr(record, "user_id"):
            try:
                record.user_id = _user_id() or "-"
            except Exception:  # noqa: BLE001 - a log line must never fail because of this field
                record.user_id = "-"
        return True


@contextlib.contextmanager
def bound(value: str | None):
    """The request id `value` (when sane) for the code in the block: the outbox publishes a task queued by a
    request, later, under that request's id."""
    token = _request_id.set(value if sane(value) else None)
    try:
        yield
    finally:
        _request_id.reset(token)


# --- Celery ---------------------------------------------------------------------------------------------------

_task_tokens: dict[str, contextvars.Token] = {}


def on_before_task_publish(sender=None, headers=None, **kwargs):
    """Puts the current request id into the message headers of a task being queued."""
    request_id = _request_id.get()
    if request_id and headers is not None and TASK_HEADER not in headers:
        headers[TASK_HEADER] = request_id


def on_task_prerun(sender=None, task_id=None, task=None, **kwargs):
    """In the worker: the id of the request that queued the task, for the task's log lines. A task run eagerly
    (no header) keeps the id of the request it runs in."""
    request_id = getattr(getattr(task, "request", None), TASK_HEADER, None)
    if sane(request_id) and task_id:
        _task_tokens[task_id] = _request_id.set(request_id)


def on_task_postrun(sender=None, task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None) if task_id else None
    if token is not None:
        try:
            _request_id.reset(token)
        except ValueError:  # set in another context (should not happen with the prefork or solo pools)
            _request_id.set(None)


def connect_celery_signals():
    from celery.signals import before_task_publish, task_postrun, task_prerun

    before_task_publish.connect(on_before_task_publish, dispatch_uid="swms.request_id.publish")
    task_prerun.connect(on_task_prerun, dispatch_uid="swms.request_id.prerun")
    task_postrun.connect(on_task_postrun, dispatch_uid="swms.request_id.postrun")
