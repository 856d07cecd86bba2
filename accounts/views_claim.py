"""认领账号: the public pages of accounts/claim.py. One address; the step reached is kept in the session (never
the ID number), so nothing personal appears in an address and a step cannot be skipped by typing one."""

from captcha.fields import CaptchaField
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from swms.forms import BootstrapFormMixin
from swms.ids import validate_ric

from . import claim as claims

SESSION_KEY = "swms_account_claim"


class IdentifyForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=gettext_lazy("Full name"), max_length=100,
                           widget=forms.TextInput(attrs={"autocomplete": "name", "autofocus": True}))
    id_number = forms.CharField(label=gettext_lazy("ID number"), max_length=20,
                                widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    captcha = CaptchaField(label=gettext_lazy("Verification code"))

    def clean_id_number(self):
        return validate_ric(self.cleaned_data["id_number"])


class CodeForm(BootstrapFormMixin, forms.Form):
    code = forms.RegexField(
        label=gettext_lazy("Code from the SMS"), regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": gettext_lazy("The code has 6 digits.")},
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "maxlength": 8}),
    )


class RecordsForm(BootstrapFormMixin, forms.Form):
    registration_no = forms.CharField(
        label=gettext_lazy("Registration certificate number"), max_length=50,
        help_text=gettext_lazy("As printed on your social worker registration certificate (登记证书编号)."))
    certificate_no = forms.CharField(
        label=gettext_lazy("Certificate management number"), max_length=50,
        help_text=gettext_lazy("As printed on your professional qualification certificate (证书管理号)."))


class PasswordForm(BootstrapFormMixin, forms.Form):
    password1 = forms.CharField(label=gettext_lazy("New password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                help_text=password_validators_help_text_html)
    password2 = forms.CharField(label=gettext_lazy("Repeat new password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


@sensitive_post_parameters("id_number", "code", "registration_no", "certificate_no", "password1", "password2")
@csrf_protect
@never_cache
def claim(request):
    """认领账号: (1) name and ID number, (2) the SMS code or the registration records, (3) a password."""
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    state = claims.Claim.from_session(request.session.get(SESSION_KEY))
    step = "identify" if state is None else "password" if state.verified else "verify"
    if request.method == "POST" and request.POST.get("step") == "restart":
        request.session.pop(SESSION_KEY, None)
        return redirect("accounts:claim")
    if request.method == "POST" and request.POST.get("step") != step:
        return redirect("accounts:claim")  # a form of another step (a second tab, the back button)
    post = request.POST if request.method == "POST" else None
    if step == "identify":
        return _identify(request, post)
    if step == "verify":
        return _verify(request, state, post)
    return _password(request, state, post)


def _remember(request, state: claims.Claim):
    request.session[SESSION_KEY] = state.as_session()
    return redirect("accounts:claim")


def _identify(request, post):
    form = IdentifyForm(post)
    context = {"form": form, "step": "identify"}
    if post is not None and form.is_valid():
        try:
            state = claims.claim_identify(name=form.cleaned_data["name"], id_number=form.cleaned_data["id_number"],
                                          request=request)
        except claims.AlreadyClaimed as e:
            context.update(already_claimed=str(e), form=IdentifyForm())
        except claims.ClaimThrottled as e:
            form.add_error(None, str(e))
            return render(request, "accounts/claim.html", context, status=429)
        except claims.ClaimError as e:
            form.add_error(None, str(e))
        else:
            return _remember(request, state)
    return render(request, "accounts/claim.html", context)


def _verify(request, state, post):
    action = post.get("action") if post is not None else ""
    code_form = CodeForm(post if action == "verify" else None)
    records_form = RecordsForm(post if action == "records" else None)
    context = {"state": state, "step": "verify", "code_form": code_form, "records_form": records_form,
               "mobile": claims.claim_masked_mobile(state) if state.method == "sms" else ""}
    status = 200
    try:
        if action == "send":
            state, mobile = claims.claim_send_code(claim=state, request=request)
            messages.success(request, _("A code was sent to %(mobile)s. It is valid for 10 minutes.")
                             % {"mobile": mobile})
            return _remember(request, state)
        if action == "verify" and code_form.is_valid():
            return _remember(request, claims.claim_verify_code(claim=state, code=code_form.cleaned_data["code"],
                                                               request=request))
        if action == "records" and records_form.is_valid():
            return _remember(request, claims.claim_verify_records(
                claim=state, registration_no=records_form.cleaned_data["registration_no"],
                certificate_no=records_form.cleaned_data["certificate_no"], request=request))
    except claims.AlreadyClaimed as e:
        request.session.pop(SESSION_KEY, None)
        return render(request, "accounts/claim.html", {"form": IdentifyForm(), "step": "identify",
                                                       "already_claimed": str(e)})
    except claims.ClaimError as e:
        if e.claim is not None:  # a mistyped code counted, or a code used up
            request.session[SESSION_KEY] = e.claim.as_session()
        context["error"] = str(e)
        status = 429 if isinstance(e, claims.ClaimThrottled) else 200
    return render(request, "accounts/claim_verify.html", context, status=status)


def _password(request, state, post):
    form = PasswordForm(post)
    if post is not None and form.is_valid():
        try:
            user = claims.claim_complete(claim=state, password=form.cleaned_data["password1"], request=request)
        except ValidationError as e:
            form.add_error("password1", e)
        except claims.AlreadyClaimed as e:
            request.session.pop(SESSION_KEY, None)
            return render(request, "accounts/claim.html", {"form": IdentifyForm(), "step": "identify",
                                                           "already_claimed": str(e)})
        else:
            request.session.pop(SESSION_KEY, None)
            login(request, user, backend="accounts.backends.IdentifierBackend")
            messages.success(request, _("Your account is ready. From now on, log in with your ID number and this "
                                        "password."))
            return redirect(settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/claim_password.html", {"form": form, "step": "password"})
