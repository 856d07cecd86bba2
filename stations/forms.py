from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from accounts.operator_roles import OPERATE_SYSTEM, can
from registration.models import Organization
from swms.domains import ServiceDomain
from swms.forms import BootstrapFormMixin
from swms.ids import validate_ric

from .models import Station, StationOperator, StationWorker, WorkerLevel


class StationForm(BootstrapFormMixin, forms.ModelForm):
    service_domains = forms.MultipleChoiceField(
        label=_("service domains"), choices=ServiceDomain.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = Station
        fields = ["name", "tier", "region", "address", "contact_person", "contact_phone", "founded_on", "floor_area",
                  "service_domains", "service_scope"]
        widgets = {
            "founded_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "service_scope": forms.Textarea(attrs={"rows": 3}),
            "region": forms.HiddenInput,
        }

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Only regions the official may manage can be chosen (the cascade offers them, this enforces it).
        regions = Region.objects.all() if user is None or can(user, OPERATE_SYSTEM) else Region.objects.within(user.region)
        self.fields["region"].queryset = regions


class FundingForm(BootstrapFormMixin, forms.Form):
    year = forms.IntegerField(label=_("year"), min_value=1990, max_value=2100)
    amount = forms.DecimalField(label=_("amount (10,000 yuan)"), min_value=0, max_digits=12, decimal_places=2)
    source = forms.CharField(label=_("source of funds"), max_length=100, required=False)


class OperatorForm(BootstrapFormMixin, forms.Form):
    id = forms.IntegerField(required=False, widget=forms.HiddenInput)
    organization = forms.ModelChoiceField(label=_("organization"), queryset=Organization.objects.none())
    status = forms.ChoiceField(label=_("status"), choices=StationOperator.Status.choices,
                               initial=StationOperator.Status.ACTIVE)
    valid_from = forms.DateField(label=_("valid from"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    valid_to = forms.DateField(label=_("valid to"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args, organizations=None, **kwargs):
        super().__init__(*args, **kwargs)
        if organizations is not None:
            self.fields["organization"].queryset = organizations

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("valid_from") and cleaned.get("valid_to") and cleaned["valid_to"] < cleaned["valid_from"]:
            self.add_error("valid_to", _("The end date is before the start date."))
        return cleaned


FundingFormSet = formset_factory(FundingForm, extra=0, can_delete=True)
OperatorFormSet = formset_factory(OperatorForm, extra=0, can_delete=True)


class DeleteForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason for deleting"), max_length=200)
    confirm = forms.BooleanField(label=_("I understand the consequences listed above"))


class PasswordSetForm(BootstrapFormMixin, forms.Form):
    password = forms.CharField(
        label=_("New password"), required=False, strip=False, widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to generate one. The station must change it at the next login."),
    )


class WorkerLookupForm(BootstrapFormMixin, forms.Form):
    id_number = forms.CharField(label=_("ID number"), max_length=20)

    def clean_id_number(self):
        return validate_ric(self.cleaned_data["id_number"])


class ManualWorkerForm(BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = StationWorker
        fields = ["name", "gender", "id_number", "mobile", "employer", "level", "certificate_no", "is_head",
                  "practice_since", "joined_on"]
        widgets = {
            "practice_since": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "joined_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.source == StationWorker.Source.SYNCED:
            for name in StationWorker.SYNCED_FIELDS:
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = _("Synced from the registry; read-only here.")

    def clean_id_number(self):
        if self.fields["id_number"].disabled:
            return self.instance.id_number
        return validate_ric(self.cleaned_data["id_number"])

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("level") and cleaned["level"] != WorkerLevel.NONE and not cleaned.get("certificate_no"):
            self.add_error("certificate_no", _("Give the certificate number of the qualification."))
        return cleaned


class SyncedWorkerForm(BootstrapFormMixin, forms.Form):
    # No ID number and no database id: the worker is the one this station looked up last by the ID number the
    # worker gave it (kept in the session by the view), so the page never sends the number back.
    is_head = forms.BooleanField(label=_("station head"), required=False)
    joined_on = forms.DateField(label=_("joined on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class LeaveForm(BootstrapFormMixin, forms.Form):
    left_on = forms.DateField(label=_("left on"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    reason = forms.CharField(label=_("reason for leaving"), max_length=200, required=False)
