from captcha.fields import CaptchaField
from django import forms
from django.contrib.auth import authenticate
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.password_validation import password_validators_help_text_html, validate_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from swms.forms import BootstrapFormMixin

from .backends import canonical_identifier
from .models import Region, User, UserKind

# One message for every failure, so an attacker cannot tell unknown accounts from wrong passwords (A4).
LOGIN_FAILED_MESSAGE = _("The account or password is incorrect, or the account is disabled.")


class LoginForm(BootstrapFormMixin, forms.Form):
    username = forms.CharField(
        label=_("Username / mobile / ID number"),
        help_text=_("Social workers log in with their ID number or mobile number."),
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    captcha = CaptchaField(label=_("Verification code"))

    def __init__(self, request=None, *args, **kwargs):
        self.request = request
        self.user_cache = None
        super().__init__(*args, **kwargs)

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        # Authenticate (and so throttle, A4) under one key per account, however it was typed.
        username = canonical_identifier(cleaned["username"])
        user = authenticate(self.request, username=username, password=cleaned["password"])
        if user is None:
            raise ValidationError(LOGIN_FAILED_MESSAGE, code="invalid_login")
        self.user_cache = user
        return cleaned

    def get_user(self):
        return self.user_cache


class PasswordChangeForm(BootstrapFormMixin, forms.Form):
    old_password = forms.CharField(
        label=_("Current password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )
    new_password1 = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=password_validators_help_text_html,
    )
    new_password2 = forms.CharField(
        label=_("Repeat new password"), strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def __init__(self, user, *args, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_old_password(self):
        value = self.cleaned_data["old_password"]
        if not self.user.check_password(value):
            raise ValidationError(_("The current password is incorrect."), code="password_incorrect")
        return value

    def clean(self):
        cleaned = super().clean()
        p1, p2 = cleaned.get("new_password1"), cleaned.get("new_password2")
        if p1 and p2:
            if p1 != p2:
                self.add_error("new_password2", _("The two passwords differ."))
            else:
                try:
                    validate_password(p1, self.user)
                except ValidationError as e:
                    self.add_error("new_password1", e)
                if cleaned.get("old_password") and p1 == cleaned["old_password"]:
                    self.add_error("new_password1", _("The new password must differ from the current one."))
        return cleaned


# Who may recover a forgotten password by email: people and organizations that signed up themselves.
# Officials and stations are reset by their superior office (the manual: no self-service recovery for
# station accounts).
SELF_SERVICE_RESET_KINDS = (UserKind.SOCIAL_WORKER, UserKind.ORGANIZATION)


class SelfServicePasswordResetForm(BootstrapFormMixin, PasswordResetForm):
    """Reset by email, for social workers and organizations only. The captcha keeps scripts from
    flooding an inbox (D3)."""

    captcha = CaptchaField(label=_("Verification code"))

    def get_users(self, email):
        return (u for u in super().get_users(email) if u.kind in SELF_SERVICE_RESET_KINDS)


class OfficialCreateForm(BootstrapFormMixin, forms.Form):
    username = forms.RegexField(
        label=_("Username"),
        regex=r"^[A-Za-z0-9_.@+-]{4,150}$",
        error_messages={"invalid": _("Use 4 or more letters, digits or _ . @ + -.")},
    )
    full_name = forms.CharField(label=_("Full name"), max_length=100)
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.none())
    phone = forms.RegexField(
        label=_("Mobile phone"),
        regex=r"^1\d{10}$",
        required=False,
        error_messages={"invalid": _("Enter an 11-digit mobile number.")},
    )
    email = forms.EmailField(label=_("Email"), required=False)

    def __init__(self, *args, regions=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].queryset = regions if regions is not None else Region.objects.none()

    def clean_username(self):
        value = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=value).exists():
            raise ValidationError(_("This username is taken."))
        return value

    def clean_phone(self):
        value = self.cleaned_data.get("phone") or None
        if value and User.objects.filter(phone=value).exists():
            raise ValidationError(_("This mobile number belongs to another account."))
        return value


# --- Second factor, re-authentication, SMS-code login (SECURITY.md A5, A6) --------------------------------


class OTPCodeForm(BootstrapFormMixin, forms.Form):
    code = forms.CharField(
        label=_("Verification code"),
        max_length=20,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "one-time-code", "inputmode": "text",
                                      "spellcheck": "false"}),
    )


class ReauthForm(BootstrapFormMixin, forms.Form):
    password = forms.CharField(
        label=_("Password"), strip=False, widget=forms.PasswordInput(attrs={"autofocus": True,
                                                                           "autocomplete": "current-password"})
    )
    code = forms.CharField(
        label=_("Second-factor code"), max_length=20, required=False,
        help_text=_("The 6 digits your authenticator app shows now, or one of your backup codes."),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "spellcheck": "false"}),
    )

    def __init__(self, *args, needs_code: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if needs_code:
            self.fields["code"].required = True
        else:
            del self.fields["code"]


class SMSLoginRequestForm(BootstrapFormMixin, forms.Form):
    identifier = forms.CharField(
        label=_("Mobile number or ID number"), max_length=30,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    captcha = CaptchaField(label=_("Verification code"))


class SMSLoginCodeForm(BootstrapFormMixin, forms.Form):
    code = forms.RegexField(
        label=_("SMS code"), regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Type the 6 digits of the SMS.")},
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "one-time-code", "inputmode": "numeric"}),
    )
