"""Second factor (enrolment, verification, backup codes, opt-in/out), re-authentication and the social workers'
SMS-code login (SECURITY.md A5, A6). The rules live in accounts/mfa.py, accounts/reauth.py, accounts/sms_login.py."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from . import mfa, reauth, sms_login
from .forms import OTPCodeForm, ReauthForm, SMSLoginCodeForm, SMSLoginRequestForm
from .models import SecurityEvent
from .services import security_event_record

REAUTH_FAILURE_LIMIT = 5


def _next(request) -> str:
    return reauth.safe_next(request, request.POST.get("next") or request.GET.get("next") or "",
                            reverse(settings.LOGIN_REDIRECT_URL))


@never_cache
@login_required
def mfa_setup(request):
    """Enrol an authenticator app: QR code and secret, confirmed by a code; then the backup codes, once."""
    user = request.user
    if mfa.has_authenticator(user):
        if mfa.session_verified(request) or not settings.SWMS_MFA_REQUIRED:
            messages.info(request, _("Your authenticator app is already set up."))
            return redirect("accounts:mfa-security")
        return redirect(mfa.step_url(request, _next(request)))
    device = mfa.totp_pending_device(user)
    status = 200
    if request.method == "POST":
        form = OTPCodeForm(request.POST)
        if form.is_valid():
            try:
                codes = mfa.totp_confirm(request=request, device=device, code=form.cleaned_data["code"])
            except mfa.MFAError as e:
                form.add_error("code", str(e))
                status = 429 if isinstance(e, mfa.MFAThrottled) else 200
            else:
                return render(request, "accounts/mfa_backup_codes.html",
                              {"codes": codes, "next": _next(request), "enrolled": True})
    else:
        form = OTPCodeForm()
    return render(request, "accounts/mfa_setup.html", {
        "form": form, "qr_svg": mfa.totp_qr_svg(device), "secret": mfa.totp_secret(device), "next": _next(request),
        "required": mfa.is_privileged(user) and settings.SWMS_MFA_REQUIRED,
    }, status=status)


@sensitive_post_parameters("code")
@never_cache
@login_required
def mfa_verify(request):
    """The step after the password: a code from the authenticator, a backup code, or a code sent by SMS."""
    next_url = _next(request)
    if not mfa.session_needs_mfa(request):
        return redirect(next_url)
    if not mfa.has_authenticator(request.user):
        return redirect(mfa.step_url(request, next_url))
    status = 200
    form = OTPCodeForm()
    if request.method == "POST" and request.POST.get("action") == "sms":
        try:
            masked = mfa.mfa_sms_send(request=request)
        except mfa.MFAError as e:
            messages.error(request, str(e))
            status = 429 if isinstance(e, mfa.MFAThrottled) else 200
        else:
            messages.success(request, _("A code was sent to %(mobile)s. It is valid for 5 minutes.") % {"mobile": masked})
    elif request.method == "POST":
        form = OTPCodeForm(request.POST)
        if form.is_valid():
            try:
                mfa.verify(request=request, code=form.cleaned_data["code"])
            except mfa.MFAError as e:
                form.add_error("code", str(e))
                status = 429 if isinstance(e, mfa.MFAThrottled) else 200
            else:
                return redirect(next_url)
    sms_allowed = request.session.get(mfa.SESSION_LOGIN_METHOD) != "sms" and bool(mfa.on_file_mobile(request.user))
    return render(request, "accounts/mfa_verify.html",
                  {"form": form, "next": next_url, "sms_allowed": sms_allowed}, status=status)


@never_cache
@login_required
def mfa_security(request):
    """The account's second factor: its state, and enrolment, new backup codes, turning it off (when optional)."""
    user = request.user
    return render(request, "accounts/mfa_security.html", {
        "enrolled": mfa.has_authenticator(user),
        "codes_left": mfa.backup_codes_left(user),
        "may_opt_out": mfa.may_opt_out(user),
    })


@require_POST
@login_required
@reauth.recent_auth_required
def mfa_backup_codes(request):
    try:
        codes = mfa.backup_codes_regenerate(request=request)
    except mfa.MFAError as e:
        messages.error(request, str(e))
        return redirect("accounts:mfa-security")
    return render(request, "accounts/mfa_backup_codes.html", {"codes": codes, "next": reverse("accounts:mfa-security")})


@require_POST
@login_required
@reauth.recent_auth_required
def mfa_disable(request):
    mfa.mfa_disable(request=request)
    messages.success(request, _("The second factor is turned off for your account."))
    return redirect("accounts:mfa-security")


# --- Re-authentication ---------------------------------------------------------------------------------------


@sensitive_post_parameters("password", "code")
@never_cache
@login_required
def reauth_view(request):
    """Type the password again (and a second-factor code, with an authenticator) before a sensitive action."""
    user = request.user
    next_url = _next(request)
    needs_code = settings.SWMS_MFA_REQUIRED and mfa.has_authenticator(user)
    status = 200
    if request.method == "POST":
        form = ReauthForm(request.POST, needs_code=needs_code)
        if form.is_valid():
            ok = user.check_password(form.cleaned_data["password"])
            if ok and needs_code:
                try:
                    ok = mfa.check_code(request=request, user=user, code=form.cleaned_data["code"],
                                        allow_sms=False) is not None
                except mfa.MFAThrottled as e:
                    form.add_error("code", str(e))
                    return render(request, "accounts/reauth.html", {"form": form, "next": next_url}, status=429)
            if ok:
                reauth.stamp(request)
                cache.delete(_reauth_failures_key(request))
                security_event_record(kind=SecurityEvent.Kind.REAUTH, request=request, target=user)
                if request.session.pop(reauth.SESSION_REPEAT, False):
                    messages.info(request, _("Identity confirmed. Please repeat the action."))
                return redirect(next_url)
            security_event_record(kind=SecurityEvent.Kind.REAUTH_FAILED, request=request, target=user,
                                  success=False)
            if _reauth_failed(request) >= REAUTH_FAILURE_LIMIT:
                auth_logout(request)
                messages.error(request, _("Too many wrong attempts: you have been logged out. Log in again."))
                return redirect("accounts:login")
            form.add_error(None, _("The password or code is incorrect."))
    else:
        form = ReauthForm(needs_code=needs_code)
    return render(request, "accounts/reauth.html", {"form": form, "next": next_url}, status=status)


def _reauth_failures_key(request) -> str:
    return f"reauth-failures:{request.user.pk}"


def _reauth_failed(request) -> int:
    key = _reauth_failures_key(request)
    cache.add(key, 0, timeout=60 * 60)
    try:
        return cache.incr(key)
    except ValueError:
        cache.set(key, 1, timeout=60 * 60)
        return 1


# --- SMS-code login for social workers ---------------------------------------------------------------------


@sensitive_post_parameters("identifier", "code")
@never_cache
def sms_login_view(request):
    """Two steps on one page: the number (and the captcha), then the code."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    next_url = _next(request)
    status = 200
    step = "code" if sms_login.pending(request) and request.POST.get("step") != "identify" else "identify"
    if request.GET.get("restart"):
        request.session.pop(sms_login.SESSION_STATE, None)
        step = "identify"
    request_form, code_form = SMSLoginRequestForm(), SMSLoginCodeForm()
    if request.method == "POST" and request.POST.get("step") == "identify":
        request_form = SMSLoginRequestForm(request.POST)
        if request_form.is_valid():
            try:
                sms_login.request_code(request=request, identifier=request_form.cleaned_data["identifier"])
            except mfa.MFAError as e:
                request_form.add_error(None, str(e))
                status = 429 if isinstance(e, mfa.MFAThrottled) else 200
            else:
                messages.info(request, _("If this number belongs to a social worker's account, a code has been sent "
                                         "to the mobile number on file. It is valid for 5 minutes."))
                step = "code"
    elif request.method == "POST" and request.POST.get("step") == "code":
        code_form = SMSLoginCodeForm(request.POST)
        if code_form.is_valid():
            try:
                sms_login.verify_code(request=request, code=code_form.cleaned_data["code"].strip())
            except mfa.MFAError as e:
                code_form.add_error("code", str(e))
                status = 429 if isinstance(e, mfa.MFAThrottled) else 200
            else:
                if mfa.session_needs_mfa(request):
                    return redirect(mfa.step_url(request, next_url))
                return redirect(next_url)
        step = "code"
    return render(request, "accounts/sms_login.html", {
        "step": step, "request_form": request_form, "code_form": code_form, "next": next_url,
    }, status=status)
