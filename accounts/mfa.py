"""The second factor (SECURITY.md A5): TOTP (django-otp) with single-use backup codes, or a code sent by SMS.

Who: officials and operators (superusers, staff, any operator role) must have one when SWMS_MFA_REQUIRED is on
(the default); social workers, organizations and stations may opt in by enrolling an authenticator, and then
need it at every login too. An account that needs a second factor and has no authenticator yet enrols at its
first login, before anything else (swms.middleware.SecondFactorRequiredMiddleware sends it there).

A session is verified when `SESSION_VERIFIED` holds the user's id: set by a TOTP code, a backup code or an SMS
code. Device verifications also go through `django_otp.login`, so `request.user.is_verified()` is true for them.
Codes are single use: django-otp's TOTPDevice keeps the last time step used (`last_t`) and refuses it again, a
backup code is deleted when used, an SMS code is deleted from the cache. Wrong codes are throttled by django-otp
(delays of 1, 2, 4, 8 … seconds per device) and, for SMS codes, by cache counters; every attempt is logged
(MFA_VERIFIED / MFA_FAILED).

SMS codes (here and for the social workers' SMS login, accounts/sms_login.py) are 6 digits, valid 5 minutes,
stored in the cache only as a keyed hash with their tries: five wrong tries end a code; sends are limited per
account (one a minute, SWMS_SMS_CODES_PER_ACCOUNT an hour) and per client address (SWMS_SMS_CODES_PER_IP).
"""

from __future__ import annotations

import secrets
from base64 import b32encode

import django_otp
import segno
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from swms import ratelimit
from swms.http import client_ip
from swms.pii import mask_phone
from swms.sms import send_sms

from .models import SecurityEvent, User, UserKind
from .services import AccountError, security_event_record, sessions_end_for

SESSION_VERIFIED = "swms_mfa_verified"  # the user id, once the second factor is given in this session
SESSION_OPTED_IN = "swms_mfa_opted_in"  # set at login: an account that opted in (has an authenticator)
SESSION_LOGIN_METHOD = "swms_login_method"  # "sms" after an SMS-code login (then SMS is no second factor)

BACKUP_CODE_COUNT = 10
SMS_CODE_LENGTH = 6
SMS_CODE_TTL = 5 * 60
SMS_RESEND_AFTER = 60
SMS_TRIES_PER_CODE = 5
HOUR = 60 * 60

TOTP_NAME = "authenticator"
BACKUP_NAME = "backup codes"


class MFAError(AccountError):
    """A refused code or step, with a message for the user."""


class MFAThrottled(MFAError):
    """Too many attempts: the page answers 429."""


# --- Who needs a second factor ------------------------------------------------------------------------


def is_privileged(user) -> bool:
    """Officials and operators must have a second factor."""
    return bool(user.is_official or user.is_superuser or user.is_staff or user.operator_role)


def has_authenticator(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def mfa_required(user) -> bool:
    """Whether `user` needs a second factor at login (a query for accounts that are not privileged)."""
    if not settings.SWMS_MFA_REQUIRED or not user.is_authenticated:
        return False
    return is_privileged(user) or has_authenticator(user)


def may_opt_out(user) -> bool:
    return not (settings.SWMS_MFA_REQUIRED and is_privileged(user))


def on_login(sender, request, user, **kwargs) -> None:
    """At every login (django.contrib.auth's user_logged_in): the new login is not verified yet, and an account
    that is not privileged has its opt-in remembered, so later requests need no query to know."""
    if request is None or not hasattr(request, "session"):
        return
    request.session.pop(SESSION_VERIFIED, None)
    request.session.pop(SESSION_LOGIN_METHOD, None)
    if settings.SWMS_MFA_REQUIRED and not is_privileged(user):
        request.session[SESSION_OPTED_IN] = has_authenticator(user)


def session_verified(request) -> bool:
    return request.session.get(SESSION_VERIFIED) == request.user.pk


def session_needs_mfa(request) -> bool:
    """True for a signed-in user who needs a second factor and has not given it in this session."""
    user = request.user
    if not settings.SWMS_MFA_REQUIRED or not user.is_authenticated or session_verified(request):
        return False
    return is_privileged(user) or bool(request.session.get(SESSION_OPTED_IN))


def step_url(request, next_url: str = "") -> str:
    """Where an unverified user goes: enrolment without an authenticator, else verification."""
    name = "accounts:mfa-verify" if has_authenticator(request.user) else "accounts:mfa-setup"
    url = reverse(name)
    return f"{url}?{urlencode({'next': next_url})}" if next_url else url


def mark_verified(request, *, device=None, method: str) -> None:
    request.session[SESSION_VERIFIED] = request.user.pk
    if device is not None:
        django_otp.login(request, device)
    security_event_record(kind=SecurityEvent.Kind.MFA_VERIFIED, request=request, target=request.user,
                          detail=f"second factor: {method}")


# --- Enrolment -------------------------------------------------------------------------------------------


def totp_pending_device(user: User) -> TOTPDevice:
    """The unconfirmed authenticator being set up (a new secret the first time)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False, name=TOTP_NAME).first()
    return device or TOTPDevice.objects.create(user=user, confirmed=False, name=TOTP_NAME)


def totp_secret(device: TOTPDevice) -> str:
    """The secret as an authenticator app asks for it when typed: base32, in groups of four."""
    raw = b32encode(device.bin_key).decode()
    return " ".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def totp_qr_svg(device: TOTPDevice) -> str:
    """The otpauth:// address as an inline SVG QR code (drawn here, no outside service sees the secret)."""
    return segno.make(device.config_url, error="m").svg_inline(scale=4, border=2, title="TOTP")


def totp_confirm(*, request, device: TOTPDevice, code: str) -> list[str]:
    """Confirm the authenticator with a code from it; the session counts as verified and 10 backup codes are
    made (returned, to show once). Raises MFAError for a wrong code."""
    user = request.user
    if device.user_id != user.pk or device.confirmed:
        raise MFAError(_("This setup has expired. Start again."))
    allowed, _info = device.verify_is_allowed()
    if not allowed:
        raise _throttled_error(request, user, "authenticator setup")
    if not device.verify_token(_digits(code)):
        security_event_record(kind=SecurityEvent.Kind.MFA_FAILED, request=request, target=user, success=False,
                              detail="authenticator setup: wrong code")
        raise MFAError(_("The code is not correct. Check the time on your phone and type the 6 digits shown now."))
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _backup_codes_create(user)
        security_event_record(kind=SecurityEvent.Kind.MFA_ENROLLED, request=request, target=user,
                              detail="authenticator (TOTP)")
    request.session[SESSION_OPTED_IN] = True
    mark_verified(request, device=device, method="authenticator setup")
    return codes


def _backup_codes_create(user: User) -> list[str]:
    device, _created = StaticDevice.objects.get_or_create(user=user, name=BACKUP_NAME, defaults={"confirmed": True})
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _i in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def backup_codes_regenerate(*, request) -> list[str]:
    """New backup codes replace the old ones (which stop working); returned to show once."""
    user = request.user
    if not has_authenticator(user):
        raise MFAError(_("Set up an authenticator app first."))
    with transaction.atomic():
        codes = _backup_codes_create(user)
        security_event_record(kind=SecurityEvent.Kind.BACKUP_CODES, request=request, target=user,
                              detail="backup codes regenerated")
    return codes


def backup_codes_left(user: User) -> int:
    return StaticToken.objects.filter(device__user=user, device__name=BACKUP_NAME).count()


# --- Verification -------------------------------------------------------------------------------------------


def _digits(code: str) -> str:
    return "".join((code or "").split())


def _throttled_error(request, user, what: str) -> MFAThrottled:
    security_event_record(kind=SecurityEvent.Kind.MFA_FAILED, request=request, target=user, success=False,
                          detail=f"{what}: throttled")
    return MFAThrottled(_("Too many wrong codes. Wait a moment before trying again."))


def check_code(*, request, user: User, code: str, allow_sms: bool = True) -> tuple[str, object] | None:
    """Check a second-factor code of `user`: a 6-digit code from the authenticator (or, when one was sent and
    `allow_sms`, by SMS), or a backup code. Returns (method, device or None), or None for a wrong code (logged
    as MFA_FAILED). Raises MFAThrottled while django-otp's delay after wrong codes runs."""
    code = _digits(code).lower()
    if not code:
        return None
    if code.isdigit() and len(code) == SMS_CODE_LENGTH:
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is not None:
            allowed, _info = device.verify_is_allowed()
            if not allowed:
                raise _throttled_error(request, user, "authenticator")
            if device.verify_token(code):
                return "authenticator", device
        if allow_sms and sms_code_pending(user, "mfa") and sms_code_check(request=request, user=user, purpose="mfa",
                                                                          code=code):
            return "SMS code", None
    else:
        device = StaticDevice.objects.filter(user=user, name=BACKUP_NAME).first()
        if device is not None:
            allowed, _info = device.verify_is_allowed()
            if not allowed:
                raise _throttled_error(request, user, "backup code")
            if device.verify_token(code):
                return "backup code", device
    security_event_record(kind=SecurityEvent.Kind.MFA_FAILED, request=request, target=user, success=False,
                          detail="wrong code")
    return None


def verify(*, request, code: str) -> str:
    """The verification step after the password: mark this session verified, or raise MFAError."""
    user = request.user
    allow_sms = request.session.get(SESSION_LOGIN_METHOD) != "sms"
    result = check_code(request=request, user=user, code=code, allow_sms=allow_sms)
    if result is None:
        raise MFAError(_("The code is not correct. Type the 6 digits your authenticator app shows now, the code "
                         "sent by SMS, or one of your backup codes."))
    method, device = result
    mark_verified(request, device=device, method=method)
    return method


# --- SMS codes ------------------------------------------------------------------------------------------


def on_file_mobile(user: User) -> str:
    """Where an SMS code goes: the account's mobile, else (a worker) the profile's."""
    if user.phone:
        return user.phone
    if user.kind == UserKind.SOCIAL_WORKER:
        from .claim import on_file_mobile as worker_mobile

        return worker_mobile(user)
    return ""


def _code_key(user_id: int, purpose: str) -> str:
    return f"sms-code:{purpose}:{user_id}"


def _code_hash(user_id: int, purpose: str, code: str) -> str:
    return salted_hmac("accounts.mfa.sms", f"{purpose}:{user_id}:{code}").hexdigest()


def sms_code_pending(user: User, purpose: str) -> bool:
    return cache.get(_code_key(user.pk, purpose)) is not None


def sms_code_send(*, request, user: User, purpose: str, text: str) -> str:
    """Send a fresh code (replacing any earlier one) to the account's mobile; returns the masked number.
    Raises MFAError with no mobile on file or within a minute of the last code, MFAThrottled past the limits."""
    if not on_file_mobile(user):
        raise MFAError(_("No mobile number is on file for this account."))
    sms_send_allowed(request=request, subject=f"acct:{user.pk}", purpose=purpose, target=user)
    return sms_code_deliver(request=request, user=user, purpose=purpose, text=text)


def sms_send_allowed(*, request, subject: str, purpose: str, target=None, username: str = "") -> None:
    """The limits on sending codes, for a subject (an account, or what an unknown number would be): one a
    minute, SWMS_SMS_CODES_PER_ACCOUNT an hour, SWMS_SMS_CODES_PER_IP an hour per client address."""
    if not cache.add(ratelimit.key_for(f"sms-sent:{purpose}", subject), 1, timeout=SMS_RESEND_AFTER):
        raise MFAError(_("A code was sent less than a minute ago. Wait a minute before asking for another."))
    if not ratelimit.hit(ratelimit.key_for("sms-send", subject), settings.SWMS_SMS_CODES_PER_ACCOUNT, HOUR) or \
            not ratelimit.hit(ratelimit.key_for("sms-send:ip", client_ip(request)), settings.SWMS_SMS_CODES_PER_IP,
                              HOUR):
        security_event_record(kind=SecurityEvent.Kind.RATE_LIMITED, request=request, target=target,
                              username=username, success=False, detail=f"SMS code ({purpose}): too many sent")
        raise MFAThrottled(_("Too many codes were sent. For your security, please try again in an hour."))


def sms_code_deliver(*, request, user: User, purpose: str, text: str) -> str:
    """Make, store (hashed) and send the code, with no limit checked: callers check sms_send_allowed first."""
    mobile = on_file_mobile(user)
    code = "".join(secrets.choice("0123456789") for _i in range(SMS_CODE_LENGTH))
    cache.set(_code_key(user.pk, purpose), {"hash": _code_hash(user.pk, purpose, code), "tries": 0},
              timeout=SMS_CODE_TTL)
    send_sms(mobile, f"【{settings.SWMS_SMS_SIGNATURE}】" + text % {"code": code, "minutes": SMS_CODE_TTL // 60})
    security_event_record(kind=SecurityEvent.Kind.SMS_CODE_SENT, request=request, target=user, detail=purpose)
    return mask_phone(mobile)


def sms_tries_allowed(*, request, subject: str, purpose: str, target=None, username: str = "") -> None:
    """The limits on trying codes: SWMS_SMS_TRIES_PER_ACCOUNT an hour per subject, SWMS_SMS_TRIES_PER_IP per
    client address. Raises MFAThrottled."""
    if not ratelimit.hit(ratelimit.key_for("sms-try", subject), settings.SWMS_SMS_TRIES_PER_ACCOUNT, HOUR) or \
            not ratelimit.hit(ratelimit.key_for("sms-try:ip", client_ip(request)), settings.SWMS_SMS_TRIES_PER_IP,
                              HOUR):
        security_event_record(kind=SecurityEvent.Kind.MFA_FAILED, request=request, target=target,
                              username=username, success=False, detail=f"SMS code ({purpose}): throttled")
        raise MFAThrottled(_("Too many wrong codes. For your security, please try again in an hour."))


def sms_code_check(*, request, user: User, purpose: str, code: str) -> bool:
    """True once for the right code within its five minutes (then it is gone); five wrong tries end it.
    Raises MFAThrottled past the tries per account or per address in an hour."""
    try:
        sms_tries_allowed(request=request, subject=f"acct:{user.pk}", purpose=purpose, target=user)
    except MFAThrottled:
        cache.delete(_code_key(user.pk, purpose))
        raise
    key = _code_key(user.pk, purpose)
    state = cache.get(key)
    if not state:
        return False
    if constant_time_compare(state["hash"], _code_hash(user.pk, purpose, _digits(code))):
        cache.delete(key)
        return True
    tries = state["tries"] + 1
    if tries >= SMS_TRIES_PER_CODE:
        cache.delete(key)
    else:
        cache.set(key, {**state, "tries": tries}, timeout=SMS_CODE_TTL)
    return False


def mfa_sms_send(*, request) -> str:
    """The SMS alternative at the verification step (not after an SMS-code login: that would be one factor)."""
    if request.session.get(SESSION_LOGIN_METHOD) == "sms":
        raise MFAError(_("You logged in with an SMS code: use your authenticator app or a backup code."))
    return sms_code_send(request=request, user=request.user, purpose="mfa", text=_(
        "Your login verification code is %(code)s, valid for %(minutes)d minutes. Do not give it to anyone."))


# --- Turning off and resetting ---------------------------------------------------------------------------


def _devices_delete(user: User) -> int:
    deleted = TOTPDevice.objects.filter(user=user).delete()[0]
    return deleted + StaticDevice.objects.filter(user=user).delete()[0]


def can_reset(actor: User, target: User) -> bool:
    """Security administrators (and superusers) reset anyone's second factor but their own; officials that of
    the officials they manage (as they reset their passwords)."""
    from .operator_roles import MANAGE_ACCOUNTS, can

    if actor.pk == target.pk:
        return False
    return can(actor, MANAGE_ACCOUNTS) or User.objects.manageable_by(actor).filter(pk=target.pk).exists()


def mfa_reset(*, actor: User, target: User, request=None) -> None:
    """Remove another account's authenticator and backup codes (a lost phone): it enrols again at its next
    login. Its sessions end."""
    if not can_reset(actor, target):
        raise PermissionDenied(_("You cannot reset the second factor of this account."))
    with transaction.atomic():
        _devices_delete(target)
        security_event_record(kind=SecurityEvent.Kind.MFA_RESET, request=request, actor=actor, target=target,
                              detail="reset by administrator")
    sessions_end_for(target)


def mfa_disable(*, request) -> None:
    """An account that opted in turns its second factor off again (officials and operators cannot)."""
    user = request.user
    if not may_opt_out(user):
        raise PermissionDenied(_("Your account must use a second factor."))
    with transaction.atomic():
        _devices_delete(user)
        security_event_record(kind=SecurityEvent.Kind.MFA_RESET, request=request, target=user,
                              detail="turned off by the account holder")
    request.session[SESSION_OPTED_IN] = False
    request.session.pop(SESSION_VERIFIED, None)
