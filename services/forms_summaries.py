from django import forms
from django.utils.translation import gettext_lazy as _

from swms.forms import BootstrapFormMixin
from swms.uploads import check_document_upload


class SummaryForm(BootstrapFormMixin, forms.Form):
    text = forms.CharField(label=_("Summary of the month"), required=False, widget=forms.Textarea(attrs={"rows": 8}))
    document = forms.FileField(
        label=_("Summary document"), required=False,
        help_text=_("Optional: PDF, Word (.docx) or Excel (.xlsx), at most 10 MB."),
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf,.docx,.xlsx,image/jpeg,image/png"}),
    )
    remove_document = forms.BooleanField(label=_("Remove the attached document"), required=False)

    def clean_document(self):
        upload = self.cleaned_data.get("document")
        return check_document_upload(upload) if upload else None


class MonthForm(BootstrapFormMixin, forms.Form):
    month = forms.DateField(label=_("month"), input_formats=["%Y-%m"],
                            widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))
