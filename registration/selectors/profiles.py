"""Reads for the officials' profile review page: every profile field, grouped as in the worker's form,
and what changed since the last approval (django-simple-history)."""

from __future__ import annotations

import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Region
from swms.workflow import Action, review_log_for

from ..models import PracticeDomain, SocialWorker

# The sections and field order of the worker's own form (templates/registration/worker/profile.html).
PROFILE_SECTIONS = (
    (gettext_lazy("Basic information"), (
        "id_number", "name", "gender", "birth_date", "ethnicity", "hukou", "native_place", "marital_status",
        "political_status", "education", "school", "major", "graduation_date", "work_start_date", "photo",
    )),
    (gettext_lazy("Contact information"), ("address", "postcode", "mobile", "office_phone", "email", "qq")),
    (gettext_lazy("Practice information"), (
        "full_time", "years_in_social_work", "position", "employer", "work_region", "practice_domains",
        "experience",
    )),
)
PROFILE_FIELDS = tuple(name for _title, names in PROFILE_SECTIONS for name in names)


def profile_changes_since_approval(worker: SocialWorker) -> dict[str, tuple]:
    """{field: (old, new)} of the profile fields changed since its last approval, while the edit is
    under review or returned (the one edit a granted change request allows); {} otherwise."""
    if worker.status not in ("submitted", "returned"):
        return {}
    approved = review_log_for(worker).filter(action=Action.APPROVE).order_by("-created_at", "-id").first()
    if approved is None:
        return {}
    before = worker.history.filter(history_date__lte=approved.created_at).order_by("-history_date").first()
    now = worker.history.order_by("-history_date").first()
    if before is None or now is None:
        return {}
    return {c.field: (c.old, c.new) for c in now.diff_against(before, included_fields=PROFILE_FIELDS).changes}


def profile_value(name: str, value) -> str:
    """One profile value as the reviewer reads it: choice labels, dates, the region's full name."""
    if value in (None, "", []):
        return ""
    field = SocialWorker._meta.get_field(name)
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if name == "full_time":
        return _("Yes") if value else _("No")
    if name == "practice_domains":
        labels = dict(PracticeDomain.choices)
        return "、".join(str(labels.get(v, v)) for v in value)
    if name == "work_region":
        region = value if isinstance(value, Region) else Region.objects.filter(pk=value).first()
        return region.full_name() if region else ""
    if name == "photo":
        return _("Uploaded")
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def profile_review_context(worker: SocialWorker) -> dict:
    """Every field of the profile in the form's sections, each marked if it changed since the last
    approval, and the list of those changes with their old and new values."""
    changes = profile_changes_since_approval(worker)
    sections = []
    for title, names in PROFILE_SECTIONS:
        rows = []
        for name in names:
            value = worker.work_region if name == "work_region" else getattr(worker, name)
            rows.append({
                "name": name,
                "label": SocialWorker._meta.get_field(name).verbose_name,
                "value": profile_value(name, value),
                "changed": name in changes,
            })
        sections.append({"title": title, "fields": rows})
    profile_changes = [
        {"name": name, "field": SocialWorker._meta.get_field(name).verbose_name,
         "old": profile_value(name, old), "new": profile_value(name, new)}
        for name, (old, new) in changes.items()
    ]
    return {"profile_sections": sections, "profile_changes": profile_changes}
