from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Region
from swms.forms import BootstrapFormMixin

from .models import PUBLIC_CATEGORIES, Notice, NoticeCategory, NoticeStatus


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": ".pdf,.docx,.xlsx,image/jpeg,image/png"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data if d]
        return [single(data, initial)] if data else []


class NoticeForm(BootstrapFormMixin, forms.ModelForm):
    target_regions = forms.ModelMultipleChoiceField(
        label=_("Regions"), queryset=Region.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_("Leave all unticked to reach your whole region."),
    )
    new_attachments = MultipleFileField(
        label=_("Attachments"), required=False,
        help_text=_("PDF, Word (.docx), Excel (.xlsx) or images; several allowed, at most 10 MB each."),
    )

    class Meta:
        model = Notice
        fields = ["title", "category", "content_source", "to_officials", "to_stations", "to_organizations",
                  "to_workers", "is_public"]
        widgets = {
            "content_source": forms.Textarea(attrs={"rows": 12, "data-markdown": ""}),
            "category": forms.Select(attrs={"data-public-categories": " ".join(c.value for c in PUBLIC_CATEGORIES)}),
        }
        help_texts = {
            "content_source": _("Markdown: **bold**, lines starting with “- ” or “1. ” for lists, [text](https://…) "
                                "for links, tables with |. Line breaks are kept. Check the result under Preview."),
            "is_public": _("Anyone can read it on the public portal without signing in. For policies, notices, "
                           "announcements and government-purchased service projects."),
        }

    def __init__(self, *args, region=None, **kwargs):
        super().__init__(*args, **kwargs)
        if region is not None:
            self.fields["target_regions"].queryset = Region.objects.filter(parent=region).order_by("code")
            if region.level == "county" or not self.fields["target_regions"].queryset.exists():
                self.fields["to_officials"].help_text = _("Officials of the towns below you, if any.")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_public") and cleaned.get("category") not in PUBLIC_CATEGORIES:
            self.add_error("is_public", _("Only policies, notices, announcements and government-purchased service "
                                          "projects can be made public."))
        return cleaned

    def clean_new_attachments(self):
        from swms.uploads import check_document_upload

        return [check_document_upload(f) for f in self.cleaned_data.get("new_attachments") or []]


class NoticeFilter(BootstrapFormMixin, forms.Form):
    q = forms.CharField(label=_("Title"), required=False)
    category = forms.ChoiceField(label=_("category"), required=False,
                                 choices=[("", _("All categories")), *NoticeCategory.choices])
    status = forms.ChoiceField(label=_("status"), required=False,
                               choices=[("", _("All")), *NoticeStatus.choices])
    read = forms.ChoiceField(label=_("Read"), required=False,
                             choices=[("", _("All")), ("unread", _("Unread")), ("read", _("Read"))])


class WithdrawForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(label=_("Reason for withdrawal"), max_length=300)
