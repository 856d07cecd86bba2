"""Form helpers shared by every app."""

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

# django-simple-captcha's own zh_Hans catalog says 认证码; our catalog (LOCALE_PATHS comes first)
# gives its strings the word the rest of the interface uses, 验证码.
CAPTCHA_MESSAGES = (gettext_noop("Invalid CAPTCHA"), gettext_noop("Play CAPTCHA as audio file"))


class BootstrapFormMixin:
    """Give every widget its Bootstrap 5 class, so templates render fields with one include."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            widgets = getattr(widget, "widgets", [widget])
            for w in widgets:
                if isinstance(w, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
                    css = "form-check-input"
                elif isinstance(w, forms.Select):
                    css = "form-select"
                elif isinstance(w, forms.HiddenInput):
                    continue
                else:
                    css = "form-control"
                existing = w.attrs.get("class", "")
                if css not in existing.split():
                    w.attrs["class"] = f"{existing} {css}".strip()


class DecisionForm(BootstrapFormMixin, forms.Form):
    """A reviewer's decision on any reviewable: the action and the comment (required for some)."""

    action = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject"), ("return", "return")])
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
