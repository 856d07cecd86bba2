from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import pgettext

from swms import pii
from swms.middleware import password_change_due

register = template.Library()


@register.filter
def password_expired(user) -> bool:
    return password_change_due(user)


register.filter("mask_id", pii.mask_id_number)
register.filter("mask_phone", pii.mask_phone)
register.filter("mask_name", pii.mask_name)


@register.simple_tag
def colon() -> str:
    """The separator after a label: "：" in Chinese sentences, ": " in English."""
    return pgettext("label separator", ": ")


@register.filter
def parens(value) -> str:
    """A value in brackets after what it explains: （…） in Chinese, " (…)" in English."""
    if value in (None, ""):
        return ""
    return format_html(pgettext("in brackets", " ({})"), value)


@register.inclusion_tag("includes/export_buttons.html", takes_context=True)
def export_buttons(context, testid: str = "export"):
    """"Export to Excel" and "CSV" links for the list on this page: its query string without the page."""
    request = context["request"]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("export", None)
    links = {}
    for fmt in ("xlsx", "csv"):
        query["export"] = fmt
        links[fmt] = "?" + query.urlencode()
    return {"links": links, "testid": testid}


@register.inclusion_tag("includes/reveal_field.html", takes_context=True)
def reveal_field(context, obj, kind: str, field: str):
    """A masked number with its 显示完整号码 button (swms/reveal.py)."""
    from swms.reveal import REVEALABLE

    spec = REVEALABLE[kind]
    label, mask = spec.fields[field]
    value = getattr(obj, field) or ""
    request = context.get("request")
    return {
        "masked": mask(value), "has_value": bool(value), "label": label, "csrf_token": context.get("csrf_token"),
        "dom_id": f"reveal-{kind}-{obj.pk}-{field}",
        "url": reverse("reveal", args=[kind, obj.pk, field]),
        "next": request.get_full_path() if request is not None else "",
    }
