"""Receivers that write the security event log and track sessions. Audit only, no business rules."""

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from .backends import canonical_identifier
from .models import SecurityEvent, UserSession
from .services import security_event_record


@receiver(user_logged_in)
def on_logged_in(sender, request, user, **kwargs):
    from swms.middleware import SESSION_LAST_SEEN, SESSION_LOGIN_AT

    now = timezone.now().isoformat()
    request.session[SESSION_LOGIN_AT] = now
    request.session[SESSION_LAST_SEEN] = now
    if not request.session.session_key:
        request.session.save()
    UserSession.objects.update_or_create(session_key=request.session.session_key, defaults={"user": user})
    security_event_record(kind=SecurityEvent.Kind.LOGIN, request=request, actor=user, target=user)


@receiver(user_logged_out)
def on_logged_out(sender, request, user, **kwargs):
    if user is None:
        return
    if request is not None and request.session.session_key:
        UserSession.objects.filter(session_key=request.session.session_key).delete()
    if getattr(request, "swms_session_expired", False):
        return  # SessionTimeoutMiddleware has logged this as session_expired
    security_event_record(kind=SecurityEvent.Kind.LOGOUT, request=request, actor=user, target=user)


@receiver(user_login_failed)
def on_login_failed(sender, credentials, request=None, **kwargs):
    security_event_record(
        kind=SecurityEvent.Kind.LOGIN_FAILED,
        request=request,
        username=str(credentials.get("username", "")),
        success=False,
    )


@receiver(user_locked_out)
def on_locked_out(sender, request, username, ip_address, **kwargs):
    # axes hands over its own key (an ID number already masked, accounts.backends.axes_key): log what was
    # typed instead, so that the lockout carries the same keyed hash as the failures before it.
    typed = request.POST.get("username") if request is not None and request.method == "POST" else None
    security_event_record(
        kind=SecurityEvent.Kind.LOCKOUT, request=request, success=False,
        username=canonical_identifier(typed) if typed else (username or ""),
    )
