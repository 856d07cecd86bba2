"""Rate limits of costly or data-revealing requests (SECURITY.md D3): exports, PDF generation, registry
lookups, password-reset requests.

Each limit is counted per user (or, for anonymous requests, per typed address) and per client address, in
fixed windows on the shared cache (swms.ratelimit: atomic cache.add + cache.incr, shared through Redis by
every web process). The address is `swms.http.client_ip`, which trusts X-Forwarded-For only as far as
SWMS_TRUSTED_PROXY_COUNT proxies: a client writing its own header does not get a fresh allowance. Several
officials of one office may share an address (NAT), so the per-address limit is SWMS_RATE_LIMIT_IP_FACTOR
times the per-user one. Over a limit the answer is 429 with a page that says when to try again; the first
refused request of a window writes one RATE_LIMITED security event (not one per request).
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.shortcuts import render
from django.utils.translation import gettext as _

from swms.http import client_ip
from swms.ratelimit import count, key_for

# scope -> (setting of the per-user limit, window in seconds, what the page says is limited)
SCOPES = {
    "export": ("SWMS_EXPORT_PER_HOUR", 3600),
    "pdf": ("SWMS_PDF_PER_HOUR", 3600),
    "registry": ("SWMS_REGISTRY_LOOKUP_PER_MINUTE", 60),
    "password_reset": ("SWMS_PASSWORD_RESET_PER_HOUR", 3600),
}


def _labels():
    return {
        "export": _("file exports"),
        "pdf": _("PDF documents"),
        "registry": _("registry look-ups"),
        "password_reset": _("password reset requests"),
    }


def limit_of(scope: str) -> tuple[int, int]:
    setting, window = SCOPES[scope]
    return int(getattr(settings, setting)), window


def check(request, scope: str, *, subject: str | None = None):
    """Count this request against `scope`; None while allowed, else the 429 response to return.

    `subject` names what is limited besides the user, e.g. the address a password reset is asked for (kept
    only as a keyed hash in the cache key)."""
    limit, window = limit_of(scope)
    ip_limit = limit * max(1, int(getattr(settings, "SWMS_RATE_LIMIT_IP_FACTOR", 5)))
    user = getattr(request, "user", None)
    counters = []
    if user is not None and user.is_authenticated:
        counters.append((f"{scope}:user:{user.pk}", limit))
    if subject:
        counters.append((key_for(f"{scope}:subject", subject.strip().lower()), limit))
    ip = client_ip(request)
    if ip:
        counters.append((f"{scope}:ip:{ip}", ip_limit))
    over = None
    for key, allowed in counters:
        n = count(key, window)
        if n > allowed and over is None:
            over = (key, n, allowed)
    if over is None:
        return None
    key, n, allowed = over
    if n == allowed + 1:  # the first refused request of this window: one event, not one per request
        from accounts.models import SecurityEvent
        from accounts.services import security_event_record

        kind = "user" if ":user:" in key else "ip" if ":ip:" in key else "subject"
        security_event_record(kind=SecurityEvent.Kind.RATE_LIMITED, request=request,
                              username=subject or "", success=False,
                              detail=f"{scope} per {kind}: over {allowed} in {window} s")
    minutes = max(1, window // 60)
    response = render(request, "429.html", {"what": _labels()[scope], "minutes": minutes}, status=429)
    response["Retry-After"] = str(window)
    return response


def rate_limited(scope: str, *, when=None):
    """View decorator: count each request (or those for which `when(request)` is true) against `scope`."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if when is None or when(request):
                refused = check(request, scope)
                if refused is not None:
                    return refused
            return view(request, *args, **kwargs)

        return wrapper

    return decorator
