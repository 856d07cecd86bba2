"""Claiming an account made by the legacy registration import (认领账号, issue #15).

Workers registered before this system get an account they cannot log in to (registration/legacy_import.py:
an unusable password). They claim it themselves: (1) name and ID number, (2) a code sent by SMS to the
mobile number on file, or, with no mobile on file, their registration number and certificate management
number, (3) a password of their own; then they log in by ID number like anyone.

What the steps tell: the same answer for an ID number nobody has and for a name that does not match; only
a person who gives both right learns that the account exists (and, if it was claimed already, that it was).
The SMS code lives in the claim's session state, as a keyed hash with its time and tries: only the browser
that asked for it can use it, and it works whichever web process answers. Attempts are counted per client
address and per ID number (identification), per account (codes and record checks, codes sent) and per address
(codes sent), in the cache like the certificate verification page's limit (shared between processes when
CACHE_URL names Redis); ID numbers and addresses enter cache keys only as keyed hashes. Every step writes the
security event log.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass, replace

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from swms import ratelimit
from swms.http import client_ip
from swms.ids import normalize_ric
from swms.pii import mask_id_number, mask_phone
from swms.sms import send_sms

from .models import SecurityEvent, User, UserKind
from .services import AccountError, security_event_record

# The security log's kinds of a claim: each step (success or not, the detail says which), then the claim done.
EVENT_STARTED = SecurityEvent.Kind.ACCOUNT_CLAIM
EVENT_FAILED = SecurityEvent.Kind.ACCOUNT_CLAIM  # with success=False
EVENT_SUCCEEDED = SecurityEvent.Kind.ACCOUNT_CLAIMED
DETAIL = "account claim"

CODE_LENGTH = 6
CODE_TTL = 10 * 60  # a code is valid for ten minutes
RESEND_AFTER = 60  # seconds before another code may be sent
HOUR = 60 * 60


def _limit(name: str, default: int) -> int:
    return getattr(settings, name, default)


class ClaimError(AccountError):
    """A step refused, with a message for the person claiming; `claim` is the state to keep, if it changed."""

    def __init__(self, message: str, claim: Claim | None = None):
        super().__init__(message)
        self.claim = claim


class ClaimThrottled(ClaimError):
    """Too many attempts: the page answers 429."""


class AlreadyClaimed(ClaimError):
    """The account exists and has a password: log in, or reset the password."""


def no_match_message() -> str:
    """One answer for "nobody has this ID number", "the name does not match" and "nothing to claim"."""
    return _("No registration to claim matches this name and ID number. Check that both are written as on your "
             "ID card. If you registered in this system, log in; if you never registered, sign up; if your "
             "registration still is not found, ask the civil-affairs office where you registered.")


def _key(kind: str, value) -> str:
    """A cache key that does not hold the ID number or address itself."""
    return f"claim:{kind}:{salted_hmac('accounts.claim', str(value)).hexdigest()[:32]}"


def _over(key: str, limit: int, window: int = HOUR) -> bool:
    return not ratelimit.hit(key, limit, window)  # atomic in the shared cache


def _throttled(request, *, username: str = "", target=None, what: str) -> ClaimThrottled:
    security_event_record(kind=EVENT_FAILED, request=request, target=target, username=username, success=False,
                          detail=f"{DETAIL}: throttled ({what})")
    return ClaimThrottled(_("Too many attempts. For your security, please try again in an hour."))


@dataclass(frozen=True)
class Claim:
    """Where a claim stands, kept in the session between the steps (no ID number in it)."""

    user_id: int
    method: str  # "sms" or "records"
    verified: bool = False
    started_at: float = 0.0
    code_hash: str = ""  # the SMS code sent last (keyed hash), when and how often it was mistyped
    code_sent_at: float = 0.0
    code_tries: int = 0

    def as_session(self) -> dict:
        return asdict(self)

    @classmethod
    def from_session(cls, data) -> Claim | None:
        """The claim of this session, unless it is older than the time a claim may take (the code's life and
        some, so a half-finished claim on a shared computer does not stay open)."""
        if not isinstance(data, dict):
            return None
        try:
            claim = cls(int(data["user_id"]), str(data["method"]), bool(data["verified"]), float(data["started_at"]),
                        str(data.get("code_hash", "")), float(data.get("code_sent_at", 0)),
                        int(data.get("code_tries", 0)))
        except (KeyError, TypeError, ValueError):
            return None
        return claim if time.time() - claim.started_at <= 3 * CODE_TTL else None


def _claimable(user: User) -> bool:
    """An account the legacy import made and nobody has claimed: a worker's, active, with no usable password,
    holding imported registrations."""
    from registration.models import Registration

    return (user.is_active and user.kind == UserKind.SOCIAL_WORKER and not user.has_usable_password()
            and Registration.objects.filter(worker__user=user, imported=True).exists())


def _same_name(a: str, b: str) -> bool:
    from registration.legacy_import import name_key

    return bool(a) and name_key(a) == name_key(b)


def _worker_of(user: User):
    from registration.models import SocialWorker

    return SocialWorker.objects.filter(user=user).first()


def on_file_mobile(user: User) -> str:
    """The number the code goes to: the profile's mobile (the register's), else the account's."""
    worker = _worker_of(user)
    return (worker.mobile if worker is not None else "") or user.phone or ""


def masked_mobile(user: User) -> str:
    return mask_phone(on_file_mobile(user))


def claim_masked_mobile(claim: Claim) -> str:
    """The mobile number the code goes to, masked, for the verification page ("" with none on file)."""
    user = User.objects.filter(pk=claim.user_id).first()
    return masked_mobile(user) if user is not None else ""


def claim_identify(*, name: str, id_number: str, request) -> Claim:
    """Step 1: the person's name and ID number. Returns the claim to verify; raises ClaimError with the one
    no-match answer, AlreadyClaimed for an account that has a password, ClaimThrottled past the limits."""
    number = normalize_ric(id_number)
    masked = mask_id_number(number)
    ip = client_ip(request)
    if _over(_key("ip", ip), _limit("SWMS_CLAIM_ATTEMPTS_PER_IP", 20)):
        raise _throttled(request, username=masked, what="address")
    if _over(_key("id", number), _limit("SWMS_CLAIM_ATTEMPTS_PER_ID", 5)):
        raise _throttled(request, username=masked, what="ID number")
    user = User.objects.filter(id_number=number, kind=UserKind.SOCIAL_WORKER).first()
    worker = _worker_of(user) if user is not None else None
    if worker is None or not _same_name(worker.name, name):
        security_event_record(kind=EVENT_FAILED, request=request, username=masked, success=False,
                              detail=f"{DETAIL}: no match")
        raise ClaimError(no_match_message())
    if user.has_usable_password():
        security_event_record(kind=EVENT_FAILED, request=request, target=user, success=False,
                              detail=f"{DETAIL}: already claimed")
        raise AlreadyClaimed(_("This account has already been claimed (or was created by signing up). Log in with "
                               "your ID number and password; if you forgot the password, reset it."))
    if not _claimable(user):
        security_event_record(kind=EVENT_FAILED, request=request, target=user, success=False,
                              detail=f"{DETAIL}: not claimable")
        raise ClaimError(no_match_message())
    method = "sms" if on_file_mobile(user) else "records"
    security_event_record(kind=EVENT_STARTED, request=request, target=user, detail=f"{DETAIL}: started ({method})")
    return Claim(user.pk, method, started_at=time.time())


def _claim_user(claim: Claim) -> User:
    user = User.objects.filter(pk=claim.user_id).first()
    if user is None or not _claimable(user):
        raise AlreadyClaimed(_("This account has already been claimed. Log in with your ID number and password; if "
                               "you forgot the password, reset it."))
    return user


def _code_hash(user_id: int, code: str) -> str:
    return salted_hmac("accounts.claim.code", f"{user_id}:{code}").hexdigest()


def claim_send_code(*, claim: Claim, request) -> tuple[Claim, str]:
    """Step 2 by SMS: send a fresh 6-digit code to the mobile on file (at most one a minute and five an hour
    per account, ten an hour per address). Returns the claim holding the code and the masked number."""
    if claim.method != "sms":
        raise ClaimError(_("This account has no mobile number on file; confirm your records instead."))
    user = _claim_user(claim)
    waited = time.time() - claim.code_sent_at
    if waited < RESEND_AFTER or not cache.add(_key("sent", user.pk), 1, timeout=RESEND_AFTER):
        raise ClaimError(_("A code was sent less than a minute ago. Wait a minute before asking for another."))
    if _over(_key("sms", user.pk), _limit("SWMS_CLAIM_SMS_PER_ACCOUNT", 5)):
        raise _throttled(request, target=user, what="SMS per account")
    if _over(_key("sms-ip", client_ip(request)), _limit("SWMS_CLAIM_SMS_PER_IP", 10)):
        raise _throttled(request, target=user, what="SMS per address")
    code = "".join(secrets.choice("0123456789") for _i in range(CODE_LENGTH))
    mobile = on_file_mobile(user)
    send_sms(mobile, f"【{settings.SWMS_SMS_SIGNATURE}】" + _(
        "Your code to claim your social worker account is %(code)s, valid for %(minutes)d minutes. Do not give it "
        "to anyone; if you did not ask for it, ignore this message.") % {"code": code, "minutes": CODE_TTL // 60})
    security_event_record(kind=EVENT_STARTED, request=request, target=user, detail=f"{DETAIL}: code sent")
    return replace(claim, code_hash=_code_hash(user.pk, code), code_sent_at=time.time(), code_tries=0), \
        mask_phone(mobile)


def _verification_failed(request, user: User, what: str) -> None:
    security_event_record(kind=EVENT_FAILED, request=request, target=user, success=False,
                          detail=f"{DETAIL}: {what}")


def _check_attempts(request, user: User) -> None:
    """Codes and record checks tried per account, in any session: five an hour, then the claim waits (a 6-digit
    code or two numbers are not guessed in five tries)."""
    if _over(_key("verify", user.pk), _limit("SWMS_CLAIM_VERIFY_PER_ACCOUNT", 5)):
        raise _throttled(request, target=user, what="verification")


def claim_verify_code(*, claim: Claim, code: str, request) -> Claim:
    """Step 2 by SMS: the code received, within its ten minutes. A code is used once; after five wrong tries a
    new one is needed."""
    user = _claim_user(claim)
    _check_attempts(request, user)
    code = "".join((code or "").split())
    if not claim.code_hash or time.time() - claim.code_sent_at > CODE_TTL:
        _verification_failed(request, user, "no valid code")
        raise ClaimError(_("The code has expired or was never sent. Ask for a new code."),
                         replace(claim, code_hash=""))
    if not constant_time_compare(claim.code_hash, _code_hash(user.pk, code)):
        tries = claim.code_tries + 1
        _verification_failed(request, user, "wrong code")
        if tries >= 5:
            raise ClaimError(_("The code was mistyped five times. Ask for a new code."), replace(claim, code_hash=""))
        raise ClaimError(_("The code is not correct. Check the SMS and type the 6 digits again."),
                         replace(claim, code_tries=tries))
    security_event_record(kind=EVENT_STARTED, request=request, target=user, detail=f"{DETAIL}: code verified")
    return replace(claim, verified=True, code_hash="")


def claim_verify_records(*, claim: Claim, registration_no: str, certificate_no: str, request) -> Claim:
    """Step 2 without a mobile on file: a registration number of the worker and a certificate management number
    of the worker's roster rows, both right."""
    from registration.models import Qualification, Registration

    if claim.method != "records":
        raise ClaimError(_("Confirm the claim with the code sent to your mobile phone."))
    user = _claim_user(claim)
    _check_attempts(request, user)
    registration_no = "".join((registration_no or "").split())
    certificate_no = "".join((certificate_no or "").split())
    matches = (
        bool(registration_no and certificate_no)
        and Registration.objects.filter(worker__user=user, registration_no__iexact=registration_no).exists()
        and Qualification.objects.filter(id_number=user.id_number, certificate_no__iexact=certificate_no).exists()
    )
    if not matches:
        _verification_failed(request, user, "records do not match")
        raise ClaimError(_("The registration number and the certificate management number do not match your "
                           "records. Type them as printed on your registration certificate and your qualification "
                           "certificate."))
    security_event_record(kind=EVENT_STARTED, request=request, target=user, detail=f"{DETAIL}: records verified")
    return replace(claim, verified=True)


def claim_complete(*, claim: Claim, password: str, request=None) -> User:
    """Step 3: the worker's own password (the project's validators); the account is theirs from now on. Raises
    ValidationError for a password the policy refuses, AlreadyClaimed if another claim finished first."""
    if not claim.verified:
        raise ClaimError(_("Confirm your identity first."))
    with transaction.atomic():
        user = User.objects.select_for_update().filter(pk=claim.user_id).first()
        if user is None or not _claimable(user):
            raise AlreadyClaimed(_("This account has already been claimed. Log in with your ID number and "
                                   "password; if you forgot the password, reset it."))
        validate_password(password, user)
        user.set_password(password)
        user.must_change_password = False
        user.password_changed_at = timezone.now()
        user.save(update_fields=["password", "must_change_password", "password_changed_at"])
        security_event_record(kind=EVENT_SUCCEEDED, request=request, actor=user, target=user,
                              detail=f"{DETAIL}: succeeded ({claim.method})")
    return user
