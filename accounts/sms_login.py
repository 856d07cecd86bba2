"""Social workers log in with a code sent by SMS instead of the password (Beijing manual §1.2: "可以选择账号密码或
短信验证码登录").

Step 1: the mobile number or ID number, and the captcha: a code goes to the mobile on file of the social worker's
account it names. Step 2: the 6-digit code (five minutes, single use), then the same login as with the password
(session key rotated, session row, LOGIN event: django.contrib.auth.login and accounts.signals); a due password
change and an opted-in second factor still apply (swms.middleware).

A number that names no account (or an account of another kind, deactivated, or never claimed) gets the same answer
and the same limits as a known one: sends and tries are counted per account or per typed number (one a minute,
SWMS_SMS_CODES_PER_ACCOUNT and SWMS_SMS_TRIES_PER_ACCOUNT an hour) and per client address. The state between the
steps lives in the session, with no number in it.
"""

from __future__ import annotations

import re
import time

from django.contrib.auth import login as auth_login
from django.utils.translation import gettext as _

from swms.ids import normalize_ric
from swms.pii import mask_id_number, mask_phone

from . import mfa
from .backends import _FULLWIDTH_DIGITS, identifier_candidates
from .models import SecurityEvent, User, UserKind
from .services import security_event_record

SESSION_STATE = "swms_sms_login"
STATE_TTL = 10 * 60
PURPOSE = "login"


def _account_for(identifier: str) -> User | None:
    """The social worker's account the typed mobile or ID number names, if it may log in by SMS."""
    typed = (identifier or "").strip()
    phone, ric = typed.translate(_FULLWIDTH_DIGITS), normalize_ric(typed)
    candidates = [u for u in identifier_candidates(typed) if (u.phone and u.phone == phone)
                  or (u.id_number and u.id_number == ric)]
    if len(candidates) != 1:
        return None
    user = candidates[0]
    if user.kind != UserKind.SOCIAL_WORKER or not user.is_active or not user.has_usable_password():
        return None  # unclaimed imported accounts are claimed first (accounts/claim.py)
    return user if mfa.on_file_mobile(user) else None


def _masked(identifier: str) -> str:
    """What the log keeps of a number that names no account: masked (P1, L4)."""
    typed = (identifier or "").strip()
    ric, phone = normalize_ric(typed), typed.translate(_FULLWIDTH_DIGITS)
    if re.fullmatch(r"\d{17}[\dX]|\d{15}", ric):
        return mask_id_number(ric)
    return mask_phone(phone) if re.fullmatch(r"1\d{10}", phone) else "(not a number)"


def _subject(user: User | None, identifier: str) -> str:
    if user is not None:
        return f"acct:{user.pk}"
    return f"typed:{normalize_ric(identifier) or identifier.strip()}"


def request_code(*, request, identifier: str) -> None:
    """Step 1. Sends a code when the number names a social worker's account; answers the same either way.
    Raises mfa.MFAError within a minute of the last code, mfa.MFAThrottled past the limits."""
    user = _account_for(identifier)
    subject = _subject(user, identifier)
    logged_as = user.username if user is not None else _masked(identifier)
    mfa.sms_send_allowed(request=request, subject=subject, purpose=PURPOSE, target=user, username=logged_as)
    if user is not None:
        mfa.sms_code_deliver(request=request, user=user, purpose=PURPOSE, text=_(
            "Your login code is %(code)s, valid for %(minutes)d minutes. Do not give it to anyone; if you did not "
            "ask for it, ignore this message."))
    else:
        security_event_record(kind=SecurityEvent.Kind.SMS_CODE_SENT, request=request, username=logged_as,
                              success=False, detail="login: no account for this number")
    request.session[SESSION_STATE] = {"uid": user.pk if user is not None else None, "subject": subject,
                                      "at": time.time()}


def pending(request) -> bool:
    state = request.session.get(SESSION_STATE)
    return isinstance(state, dict) and time.time() - state.get("at", 0) <= STATE_TTL


def verify_code(*, request, code: str) -> User:
    """Step 2: the code; logs the account in and returns it. Raises mfa.MFAError for a wrong or expired code
    (the same for an unknown number), mfa.MFAThrottled past the limits."""
    state = request.session.get(SESSION_STATE) if pending(request) else None
    if not state:
        raise mfa.MFAError(_("The code has expired. Ask for a new code."))
    user = User.objects.filter(pk=state["uid"]).first() if state["uid"] else None
    if user is None:
        mfa.sms_tries_allowed(request=request, subject=state["subject"], purpose=PURPOSE)
        ok = False
    else:
        ok = mfa.sms_code_check(request=request, user=user, purpose=PURPOSE, code=code)
        ok = ok and user.is_active and user.kind == UserKind.SOCIAL_WORKER
    if not ok:
        security_event_record(kind=SecurityEvent.Kind.LOGIN_FAILED, request=request, target=user, success=False,
                              detail="SMS code login: wrong code")
        raise mfa.MFAError(_("The code is not correct or has expired. Check the SMS, or ask for a new code."))
    request.session.pop(SESSION_STATE, None)
    auth_login(request, user, backend="accounts.backends.IdentifierBackend")
    request.session[mfa.SESSION_LOGIN_METHOD] = "sms"
    return user
