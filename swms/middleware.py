"""Session and password policy middleware (SECURITY.md S2, A3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.contrib.messages.storage import default_storage
from django.http import FileResponse, HttpResponse
from django.middleware.gzip import GZipMiddleware
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

SESSION_LOGIN_AT = "swms_login_at"
SESSION_LAST_SEEN = "swms_last_seen"

# Paths a user who must change the password may still reach.
_ALWAYS_ALLOWED_PREFIXES = ("/static/", "/captcha/", "/i18n/", "/verify/")


def _allowed_names():
    return {
        reverse("accounts:password-change"),
        reverse("accounts:logout"),
        # The second factor comes before a due password change (SecondFactorRequiredMiddleware).
        reverse("accounts:mfa-setup"),
        reverse("accounts:mfa-verify"),
    }


def _second_factor_open_paths():
    return {
        reverse("accounts:login"),
        reverse("accounts:logout"),
        reverse("accounts:mfa-setup"),
        reverse("accounts:mfa-verify"),
    }


class SessionTimeoutMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT without a request, or SESSION_ABSOLUTE_TIMEOUT
    after login, whichever comes first. Django alone has only a sliding cookie age."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = timezone.now()
            login_at = _parse(request.session.get(SESSION_LOGIN_AT))
            last_seen = _parse(request.session.get(SESSION_LAST_SEEN))
            if login_at is None:
                request.session[SESSION_LOGIN_AT] = now.isoformat()
                login_at = now
            idle = last_seen is not None and now - last_seen > settings.SESSION_IDLE_TIMEOUT
            absolute = now - login_at > settings.SESSION_ABSOLUTE_TIMEOUT
            if idle or absolute:
                from accounts.services import security_event_record

                security_event_record(
                    kind="session_expired",
                    request=request,
                    target=user,
                    detail="idle" if idle else "absolute",
                )
                # The expiry is the event; the logout below must not log a second one (L1).
                request.swms_session_expired = True
                logout(request)
                response = redirect_to_login(request.get_full_path())
                # MessageMiddleware sits below this one and has not run: store the notice directly.
                storage = default_storage(request)
                storage.add(messages.INFO, _("Your session has expired. Please log in again."))
                storage.update(response)
                return _full_page_redirect(request, response)
            # Every request counts as activity (htmx polling included: "idle" means no request at all), but
            # the session row is written at most once per SWMS_SESSION_TOUCH_SECONDS, not on every GET.
            if last_seen is None or now - last_seen >= timedelta(seconds=settings.SWMS_SESSION_TOUCH_SECONDS):
                request.session[SESSION_LAST_SEEN] = now.isoformat()
        return self.get_response(request)


class SecondFactorRequiredMiddleware:
    """An official or operator (or an account that opted in) who has given the password but not yet the second
    factor in this session reaches only the enrolment/verification pages, logout and static files (A5). It runs
    before PasswordChangeRequiredMiddleware: a password alone cannot change the password."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from accounts import mfa

        user = getattr(request, "user", None)
        if (
            user is not None
            and mfa.session_needs_mfa(request)
            and not request.path.startswith(_ALWAYS_ALLOWED_PREFIXES)
            and request.path not in _second_factor_open_paths()
        ):
            back = request.get_full_path() if request.method == "GET" else ""
            return _full_page_redirect(request, redirect(mfa.step_url(request, back)))
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """Forces a password change for initial/reset passwords and expired ones before any other page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and password_change_due(user)
            and not request.path.startswith(_ALWAYS_ALLOWED_PREFIXES)
            and request.path not in _allowed_names()
        ):
            return _full_page_redirect(request, redirect("accounts:password-change"))
        return self.get_response(request)


def _full_page_redirect(request, response):
    """An htmx request must not swap the login page into a fragment: tell htmx to navigate."""
    if request.headers.get("HX-Request") == "true":
        htmx_response = HttpResponse(status=204)
        htmx_response["HX-Redirect"] = response["Location"]
        for cookie in response.cookies.values():
            htmx_response.cookies[cookie.key] = cookie
        return htmx_response
    return response


def password_change_due(user) -> bool:
    if user.must_change_password:
        return True
    days = settings.PASSWORD_EXPIRY_DAYS
    if days and user.password_changed_at:
        return timezone.now() - user.password_changed_at > timedelta(days=days)
    return False


class NoStoreForAuthenticatedMiddleware:
    """Pages for signed-in users carry personal information: never cache them (P4)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.path.startswith("/static/"):
            response["Cache-Control"] = "no-store, private"
        return response


def _parse(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None


class PageGZipMiddleware(GZipMiddleware):
    """Django's GZipMiddleware for pages only: downloads (exports, certificates, uploaded files, sent as
    attachments or file responses) keep their Content-Length, so the browser shows their progress, and
    xlsx/pdf/zip files are compressed already."""

    def process_response(self, request, response):
        if isinstance(response, FileResponse) or response.get("Content-Disposition", "").startswith("attachment"):
            return response
        return super().process_response(request, response)
