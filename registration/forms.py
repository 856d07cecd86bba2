from captcha.fields import CaptchaField
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Region, RegionLevel
from accounts.views import region_cascade
from swms.domains import ServiceDomain
from swms.forms import BootstrapFormMixin
from swms.ids import validate_ric
from swms.uploads import check_image_upload

from .models import (
    MaterialKind,
    Organization,
    OrganizationStaff,
    Pickup,
    PracticeDomain,
    QualificationLevel,
    RegistrationWindow,
    SocialWorker,
)
from .selectors import county_office
from .services import organizations as org_services

# The two-inch photo: 3.5 × 5.3 cm, 413 × 626 px portrait (Beijing manual 2.2).
PHOTO_RATIO = (413, 626)


class SignupForm(BootstrapFormMixin, forms.Form):
    id_number = forms.CharField(label=_("ID number"), max_length=20)
    name = forms.CharField(label=_("Full name"), max_length=100)
    mobile = forms.RegexField(
        label=_("Mobile phone"), regex=r"^1\d{10}$", error_messages={"invalid": _("Enter an 11-digit mobile number.")}
    )
    email = forms.EmailField(label=_("Email"))
    password1 = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label=_("Repeat password"), strip=False, widget=forms.PasswordInput)
    captcha = CaptchaField(label=_("Verification code"))

    def clean_id_number(self):
        return validate_ric(self.cleaned_data["id_number"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class ImageField(forms.FileField):
    """An image upload checked by content (swms.uploads); cleans to a CheckedImage."""

    def __init__(self, *args, ratio=None, **kwargs):
        self.ratio = ratio
        kwargs.setdefault("widget", forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        upload = super().clean(data, initial)
        if upload in (None, False) or not hasattr(upload, "read"):
            return None
        return check_image_upload(upload, ratio=self.ratio)


class ProfileForm(BootstrapFormMixin, forms.ModelForm):
    """The reviewable part of the profile (basic and practice sections)."""

    practice_domains = forms.MultipleChoiceField(
        label=_("practice domains"), choices=PracticeDomain.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    work_region = forms.ModelChoiceField(
        label=_("work region"), queryset=Region.objects.all(), required=False, widget=forms.HiddenInput
    )
    new_photo = ImageField(label=_("photo"), ratio=PHOTO_RATIO, required=False,
                           help_text=_("Two-inch photo, 413 × 626 pixels or 3.5 × 5.3 cm, at most 1 MB."))
    full_time = forms.TypedChoiceField(
        label=_("full-time social worker"), choices=[("", "—"), ("1", _("Yes")), ("0", _("No"))],
        coerce=lambda v: v == "1", empty_value=None, required=False,
    )

    class Meta:
        model = SocialWorker
        # Explicit allowlist: status, review chain, user and ID number are never client-settable.
        fields = [
            "name", "gender", "birth_date", "ethnicity", "hukou", "native_place", "marital_status",
            "political_status", "education", "school", "major", "graduation_date", "work_start_date",
            "address", "postcode", "mobile", "office_phone", "email", "qq",
            "full_time", "years_in_social_work", "position", "work_region", "employer", "practice_domains",
            "experience",
        ]
        widgets = {
            "birth_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "graduation_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "work_start_date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "experience": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in self.fields:
            self.fields[name].required = False  # a draft may be incomplete; submit checks completeness
        # The select speaks "1"/"0"; the model holds True/False/None.
        self.initial["full_time"] = {True: "1", False: "0"}.get(self.instance.full_time, "")
        if self.instance.roster_locked:
            for name in ("name", "birth_date", "gender"):
                self.fields[name].disabled = True
        if self.instance.pk and self.instance.region_locked:
            for name in ("work_region", "employer"):
                self.fields[name].disabled = True

    def clean_work_region(self):
        region = self.cleaned_data.get("work_region")
        if region is not None and region.level not in (RegionLevel.TOWN, RegionLevel.VILLAGE):
            raise forms.ValidationError(_("Choose the town or street where you work."))
        return region


class ContactForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = SocialWorker
        fields = list(SocialWorker.CONTACT_FIELDS)


_COUNTY_MESSAGES = {
    "required": _("Choose the county (district) whose civil-affairs office checks your certificate."),
    "invalid_choice": _("Choose the county (district) whose civil-affairs office checks your certificate."),
}


class CorrectionForm(BootstrapFormMixin, forms.Form):
    # Chosen with the province → city → county selects (templates/registration/worker/correction_form.html).
    region = forms.ModelChoiceField(
        label=_("county"), queryset=Region.objects.all(), widget=forms.HiddenInput, error_messages=_COUNTY_MESSAGES,
        help_text=_("The civil-affairs office that checks your certificate."),
    )
    level = forms.ChoiceField(label=_("qualification level"), choices=QualificationLevel.choices)
    certificate_no = forms.CharField(label=_("certificate management number"), max_length=50)
    exam_year = forms.IntegerField(label=_("exam year"), min_value=2008, max_value=2100)
    issuing_province = forms.CharField(label=_("issuing province"), max_length=50, required=False)
    scan = ImageField(label=_("certificate scan"), required=False)
    note = forms.CharField(label=_("note"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_region(self):
        # A town (from the third select where a city has no counties) stands for its county-level office.
        office = county_office(self.cleaned_data.get("region"))
        if office is None:
            raise forms.ValidationError(_COUNTY_MESSAGES["required"])
        return office

    def cascade(self) -> list[dict]:
        """The province → city → county selects, pre-filled with the posted or initial county."""
        value = self["region"].value()
        chosen = value if isinstance(value, Region) else (
            Region.objects.filter(pk=int(value)).first() if value and str(value).isdigit() else None)
        return region_cascade(chosen)[:3]  # the levels run province, city, county, town: stop at county


class ApplicationForm(BootstrapFormMixin, forms.Form):
    pickup = forms.ChoiceField(label=_("certificate pickup"), choices=Pickup.choices)
    mailing_address = forms.CharField(label=_("mailing address"), max_length=200, required=False)


class MaterialsForm(forms.Form):
    """All of an application's uploadable materials in one form: one optional image field per kind,
    each checked by content on its own, so a bad file does not hold back the good ones."""

    def __init__(self, *args, kinds, **kwargs):
        super().__init__(*args, **kwargs)
        for kind in kinds:
            self.fields[kind] = ImageField(
                label=MaterialKind(kind).label, required=False,
                ratio=PHOTO_RATIO if kind == MaterialKind.PHOTO else None,
                widget=forms.FileInput(attrs={"accept": "image/jpeg,image/png",
                                              "class": "form-control form-control-sm"}),
            )

    def checked_images(self) -> dict:
        """The files that passed the checks, by kind (call after is_valid())."""
        return {kind: image for kind, image in self.cleaned_data.items() if image is not None}


class SubmitForm(forms.Form):
    pledge = forms.BooleanField(label=_("I guarantee that the information above is true and valid"), required=False)


class WindowForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = RegistrationWindow
        fields = ["name", "opens_on", "closes_on", "certificate_delay_days"]
        widgets = {
            "opens_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "closes_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }


class CEClaimForm(BootstrapFormMixin, forms.Form):
    provider = forms.CharField(label=_("provider"), max_length=200)
    course = forms.CharField(label=_("course"), max_length=200)
    started_on = forms.DateField(label=_("from"), widget=forms.DateInput(attrs={"type": "date"}))
    finished_on = forms.DateField(label=_("to"), widget=forms.DateInput(attrs={"type": "date"}))
    hours = forms.DecimalField(label=_("hours"), min_value=0.5, max_value=200, decimal_places=1)
    proof = ImageField(label=_("proof"), required=False,
                       help_text=_("A photo or scan of the attendance certificate, at most 1 MB."))


class CoursewareForm(BootstrapFormMixin, forms.Form):
    title = forms.CharField(label=_("title"), max_length=200)
    provider = forms.CharField(label=_("provider"), max_length=200)
    hours = forms.DecimalField(label=_("hours"), min_value=0.5, max_value=200, decimal_places=1)
    link = forms.URLField(label=_("link"), assume_scheme="https", help_text=_("Where the course can be taken online."))
    description = forms.CharField(label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))


class RegionChangeForm(BootstrapFormMixin, forms.Form):
    work_region = forms.ModelChoiceField(label=_("new work region"), queryset=Region.objects.all(),
                                         widget=forms.HiddenInput)
    new_employer = forms.CharField(label=_("new employer"), max_length=200)
    reason = forms.CharField(label=_("reason"), widget=forms.Textarea(attrs={"rows": 3}))


# --- Social work service organizations (社会工作服务机构) -------------------------------------------

_MOBILE_INVALID = {"invalid": _("Enter an 11-digit mobile number.")}
_REGION_MESSAGES = {
    "required": _("Choose the county (district) or town (street) where the organization is seated."),
    "invalid_choice": _("Choose the county (district) or town (street) where the organization is seated."),
}


def _mobile_field(label, *, required=True, help_text=""):
    return forms.RegexField(label=label, regex=r"^1\d{10}$", max_length=11, required=required, help_text=help_text,
                            error_messages=_MOBILE_INVALID)


def _date_input():
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OrganizationFieldsMixin:
    """Checks shared by the organization sign-up and profile forms."""

    def clean_uscc(self):
        return org_services.validate_uscc(self.cleaned_data["uscc"])

    def clean_region(self):
        region = self.cleaned_data.get("region")
        if region is not None and region.level not in org_services.ORGANIZATION_REGION_LEVELS:
            raise forms.ValidationError(_REGION_MESSAGES["required"])
        return region

    def clean_founded_on(self):
        day = self.cleaned_data.get("founded_on")
        if day and day > timezone.localdate():
            raise forms.ValidationError(_("The founding date cannot be in the future."))
        return day


class OrganizationSignupForm(OrganizationFieldsMixin, BootstrapFormMixin, forms.Form):
    name = forms.CharField(label=_("organization name"), max_length=200)
    uscc = forms.CharField(label=_("unified social credit code"), max_length=30,
                           help_text=_("18 characters, as printed on the registration certificate."))
    legal_representative = forms.CharField(label=_("legal representative"), max_length=50)
    region = forms.ModelChoiceField(label=_("region"), queryset=Region.objects.all(), widget=forms.HiddenInput,
                                    error_messages=_REGION_MESSAGES)
    address = forms.CharField(label=_("address"), max_length=200)
    contact_person = forms.CharField(label=_("contact person"), max_length=50)
    mobile = _mobile_field(_("Mobile phone"), help_text=_(
        "The contact person's mobile: review results are sent to it, and it can be used to log in."))
    email = forms.EmailField(label=_("Email"), help_text=_(
        "Review results are also sent here, and a forgotten password is recovered through it."))
    service_domains = forms.MultipleChoiceField(label=_("service domains"), choices=ServiceDomain.choices,
                                                widget=forms.CheckboxSelectMultiple)
    founded_on = forms.DateField(label=_("founding date"), widget=_date_input())
    registration_authority = forms.CharField(
        label=_("registration authority"), max_length=100,
        help_text=_("The civil-affairs bureau that issued the registration certificate."))
    username = forms.RegexField(
        label=_("Username"), regex=r"^[A-Za-z][A-Za-z0-9_.-]{3,29}$",
        help_text=_("4 to 30 letters, digits, dots, dashes or underscores, starting with a letter."),
        error_messages={"invalid": _("4 to 30 letters, digits, dots, dashes or underscores, starting with a letter.")},
    )
    password1 = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label=_("Repeat password"), strip=False, widget=forms.PasswordInput)
    captcha = CaptchaField(label=_("Verification code"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password1") and cleaned.get("password1") != cleaned.get("password2"):
            self.add_error("password2", _("The two passwords differ."))
        return cleaned


class OrganizationForm(OrganizationFieldsMixin, BootstrapFormMixin, forms.ModelForm):
    """The reviewed registration data of an organization (editable while draft, returned or rejected)."""

    # The model's unique check reports through the form field's messages.
    uscc = forms.CharField(label=_("unified social credit code"), max_length=30, error_messages={"unique": _(
        "An organization with this unified social credit code is already registered.")})
    region = forms.ModelChoiceField(label=_("region"), queryset=Region.objects.all(), widget=forms.HiddenInput,
                                    error_messages=_REGION_MESSAGES)
    contact_phone = _mobile_field(_("contact phone"))
    service_domains = forms.MultipleChoiceField(label=_("service domains"), choices=ServiceDomain.choices,
                                                widget=forms.CheckboxSelectMultiple)
    founded_on = forms.DateField(label=_("founding date"), widget=_date_input())

    class Meta:
        model = Organization
        # Explicit allowlist: status, review chain and account are never client-settable.
        fields = list(org_services.PROFILE_FIELDS)


class OrganizationContactForm(BootstrapFormMixin, forms.ModelForm):
    """Contact data an approved (or in-review) organization changes without review; the email is the
    account's (review results, forgotten-password links)."""

    contact_phone = _mobile_field(_("contact phone"))
    email = forms.EmailField(label=_("Email"), required=False, help_text=_(
        "A forgotten password is recovered through this address."))

    class Meta:
        model = Organization
        fields = list(org_services.CONTACT_FIELDS)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["email"].initial = self.instance.account.email


class OrganizationStaffForm(BootstrapFormMixin, forms.ModelForm):
    qualification_level = forms.ChoiceField(label=_("qualification level"), required=False,
                                            choices=[("", "—"), *QualificationLevel.choices])
    phone = _mobile_field(_("mobile phone"), required=False)

    class Meta:
        model = OrganizationStaff
        fields = list(org_services.STAFF_FIELDS)
        widgets = {"joined_on": _date_input()}


class StaffLeaveForm(forms.Form):
    left_on = forms.DateField(label=_("left on"))
