"""Re-authentication before sensitive actions (SECURITY.md A6).

The session stores when the user last proved who they are (`SESSION_AUTH_AT`): at every login (the
user_logged_in signal, connected in accounts.apps) and at each re-authentication. A view wrapped in
`recent_auth_required` runs only if that was at most SWMS_REAUTH_MINUTES (default 15) ago; otherwise the user
goes to `accounts:reauth?next=…`, types the password again (and a second-factor code, with an authenticator),
and comes back. A GET comes back to the same address (an export then starts); an interrupted POST is not
replayed: the user comes back to the page the form was on, with a message to repeat the action.

Used for: password resets of other accounts, second-factor resets, backup codes, exports of lists
(swms.exports.export_response) and revealing a full ID number.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import wraps

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

SESSION_AUTH_AT = "swms_auth_at"
SESSION_REPEAT = "swms_reauth_repeat"  # set when the action that asked was a POST: say "repeat it"


def stamp(request) -> None:
    """The user has just proved their password (a login or a re-authentication)."""
    request.session[SESSION_AUTH_AT] = timezone.now().isoformat()


def on_login(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        stamp(request)


def has_recent_auth(request) -> bool:
    """True if the signed-in user proved their password within SWMS_REAUTH_MINUTES."""
    if not request.user.is_authenticated:
        return False
    try:
        at = datetime.fromisoformat(request.session.get(SESSION_AUTH_AT) or "")
    except (TypeError, ValueError):
        return False
    age = timezone.now() - at
    return timedelta(0) <= age <= timedelta(minutes=settings.SWMS_REAUTH_MINUTES)


def safe_next(request, url: str, default: str = "") -> str:
    """`url` if it is a path of this site, else `default` (no open redirect)."""
    if url and url_has_allowed_host_and_scheme(url, {request.get_host()}, request.is_secure()) and \
            not url.startswith(("http:", "https:")):
        return url
    return default


def reauth_redirect(request):
    """The response that sends the user to re-authenticate, then back (htmx: HX-Redirect)."""
    if request.method in ("GET", "HEAD"):
        back = request.get_full_path()
    else:
        # A POST is not replayed: back to the page its form was on (when it is ours), to do it again.
        referer = request.META.get("HTTP_REFERER", "")
        back = safe_next(request, _local_path(request, referer), reverse(settings.LOGIN_REDIRECT_URL))
        request.session[SESSION_REPEAT] = True
    url = f"{reverse('accounts:reauth')}?{urlencode({'next': back})}"
    if request.headers.get("HX-Request") == "true":
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


def _local_path(request, url: str) -> str:
    """The path and query of an address on this host (the Referer is absolute)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.get_host():
        return ""
    return parts.path + (f"?{parts.query}" if parts.query else "")


def recent_auth_required(view):
    """The view runs only after a password given within SWMS_REAUTH_MINUTES; else re-authentication first.
    Put it below @login_required."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not has_recent_auth(request):
            return reauth_redirect(request)
        return view(request, *args, **kwargs)

    return wrapper
