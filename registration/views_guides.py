"""The registration guide (登记指南) and FAQ (常见问题): readable by anyone, written by the province."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Region, RegionLevel
from notices.notice_services import sanitize_content

from .models import GuideKind, GuidePage
from .selectors import guide_page, guide_province
from .services.guides import default_guide_content, guide_editor_province, guide_save

_PAGE_URL = {GuideKind.GUIDE: "registration:guide", GuideKind.FAQ: "registration:faq"}


class GuideForm(forms.Form):
    content = forms.CharField(
        label=gettext_lazy("content"), required=False,
        widget=forms.Textarea(attrs={"rows": 22, "class": "form-control font-monospace"}),
        help_text=gettext_lazy(
            "Plain text (a blank line starts a paragraph) or HTML: paragraphs, headings (h3, h4), bold, "
            "lists, tables and links. Anything else is removed. Leave it empty to show the built-in text."),
    )


def guide(request, kind):
    """Public on purpose: the sign-up page links here, before the worker has an account."""
    province = guide_province(user=request.user, requested=request.GET.get("province", ""))
    context = guide_page(kind=kind, province=province)
    editor_province = guide_editor_province(request.user)
    context.update({
        "kind": kind, "title": GuideKind(kind).label,
        "base_template": "base.html" if request.user.is_authenticated else "base_plain.html",
        "other_kind": GuideKind.FAQ if kind == GuideKind.GUIDE else GuideKind.GUIDE,
        "can_edit": editor_province is not None and editor_province == province,
        # Readers the site cannot place (not logged in, operators) choose the province.
        "provinces": Region.objects.filter(level=RegionLevel.PROVINCE).order_by("code")
        if not request.user.is_authenticated or (request.user.region_id is None and request.user.kind != "social_worker")
        else None,
    })
    return render(request, "registration/guides/page.html", context)


@login_required
def guide_edit(request, kind):
    province = guide_editor_province(request.user)
    if province is None:
        raise PermissionDenied
    page = GuidePage.objects.filter(province=province, kind=kind).first()
    form = GuideForm(request.POST or None,
                     initial={"content": page.content if page is not None else default_guide_content(kind)})
    preview = None
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "preview":
            preview = sanitize_content(form.cleaned_data["content"])
        else:
            saved = guide_save(actor=request.user, kind=kind, content=form.cleaned_data["content"])
            messages.success(request, _("Saved.") if saved is not None else _(
                "The page was emptied; the built-in text is shown again."))
            return redirect(_PAGE_URL[kind])
    return render(request, "registration/guides/edit.html", {
        "form": form, "kind": kind, "title": GuideKind(kind).label, "page": page, "province": province,
        "preview": preview,
    })
