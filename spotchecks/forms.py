from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Region, RegionLevel
from accounts.operator_roles import OPERATE_SYSTEM, can
from swms.forms import BootstrapFormMixin
from swms.workflow import Step

from .models import SampleMode, SpotCheckResult


def _date():
    return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class BatchForm(BootstrapFormMixin, forms.Form):
    province = forms.ModelChoiceField(label=_("province"), queryset=Region.objects.none())
    title = forms.CharField(label=_("title"), max_length=100, required=False)
    approved_from = _date()
    approved_to = _date()
    cities = forms.ModelMultipleChoiceField(
        label=_("cities"), queryset=Region.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("None chosen: every city of the province."))
    mode = forms.ChoiceField(label=_("sample size"), choices=SampleMode.choices, initial=SampleMode.COUNT,
                             widget=forms.RadioSelect)
    amount = forms.IntegerField(label=_("number per city, or percentage"), min_value=1, initial=5)
    seed = forms.CharField(label=_("seed"), max_length=64, required=False,
                           help_text=_("Leave empty for a new random draw; give an earlier batch's seed to repeat it."))
    notes = forms.CharField(label=_("notes"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["approved_from"].label = _("approved from")
        self.fields["approved_to"].label = _("approved to")
        if can(user, OPERATE_SYSTEM):
            self.fields["province"].queryset = Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code")
            province = None
            if self.is_bound and str(self.data.get("province", "")).isdigit():
                province = Region.objects.filter(pk=self.data["province"], level=RegionLevel.PROVINCE).first()
        else:
            del self.fields["province"]
            province = user.region
        self.fields["cities"].queryset = (Region.objects.filter(parent=province).order_by("code")
                                          if province is not None else Region.objects.none())

    def clean(self):
        data = super().clean()
        start, end = data.get("approved_from"), data.get("approved_to")
        if start and end and end < start:
            self.add_error("approved_to", _("The end of the range is before its start."))
        if data.get("mode") == SampleMode.PERCENT and (data.get("amount") or 0) > 100:
            self.add_error("amount", _("A percentage is at most 100."))
        return data


class ResultForm(BootstrapFormMixin, forms.Form):
    result = forms.ChoiceField(label=_("result"), widget=forms.RadioSelect, choices=[
        (SpotCheckResult.PASS, SpotCheckResult.PASS.label), (SpotCheckResult.PROBLEM, SpotCheckResult.PROBLEM.label)])
    description = forms.CharField(label=_("problem description"), required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    office_step = forms.ChoiceField(
        label=_("rectification by"), widget=forms.RadioSelect, initial=Step.FINAL,
        choices=[(Step.FINAL, _("the office of the final review")), (Step.INITIAL, _("the office of the initial review"))])

    def clean(self):
        data = super().clean()
        if data.get("result") == SpotCheckResult.PROBLEM and not (data.get("description") or "").strip():
            self.add_error("description", _("Describe the problem."))
        return data


class AnswerForm(BootstrapFormMixin, forms.Form):
    answer = forms.CharField(label=_("What your office did"), widget=forms.Textarea(attrs={"rows": 3}))
