"""The seven service-activity categories (manual 2.6), each declared once: its own basic fields and
its own summary fields. Forms, detail pages, lists and exports are built from these declarations;
there is one set of views for all seven.

A field is (name, label, kind[, choices]); kinds: "text" (one line), "textarea", "date", "datetime",
"choice", "int". The values live in Activity.details (basic) and Activity.summary (summary record,
required when the activity is ended, absent while it is in progress).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import ActivityCategory


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"
    choices: tuple = ()
    required: bool = True


@dataclass(frozen=True)
class Category:
    key: str
    basic: tuple[Field, ...]
    summary: tuple[Field, ...]
    # Whether at least one client must be chosen (a community activity or volunteer service may serve
    # the public at large).
    clients_required: bool = True

    @property
    def label(self):
        return ActivityCategory(self.key).label


_CASE_SOURCES = (("walk_in", _("Came by themselves")), ("referral", _("Referred")),
                 ("outreach", _("Found through outreach")), ("other", _("Other")))
_INTAKE_FORMS = (("face_to_face", _("Face to face")), ("phone", _("By phone")), ("home_visit", _("Home visit")),
                 ("online", _("Online")))
_CLOSURE = (("goals_met", _("Goals reached: case closed")), ("referred", _("Referred elsewhere")),
            ("client_ended", _("Ended at the client's wish")), ("other", _("Other")))

CATEGORIES: dict[str, Category] = {
    c.key: c
    for c in (
        Category(
            ActivityCategory.CASE,
            basic=(
                # Manual 2.6: 个案过程, 个案来源, 接案形式, 接案时间, 接案地点.
                Field("process", _("Case process"), "textarea"),
                Field("source", _("Case source"), "choice", _CASE_SOURCES),
                Field("intake_form", _("Intake form"), "choice", _INTAKE_FORMS),
                Field("intake_at", _("Intake time"), "datetime"),
                Field("intake_place", _("Intake place")),
            ),
            summary=(
                # Shenmu measures: assessment, goals reached, closure or referral.
                Field("assessment", _("Assessment"), "textarea"),
                Field("goals_reached", _("Goals reached"), "textarea"),
                Field("closure", _("Closure or referral"), "choice", _CLOSURE),
                Field("referred_to", _("Referred to"), required=False),
            ),
        ),
        Category(
            ActivityCategory.GROUP,
            basic=(
                Field("group_type", _("Group type"), "choice", (
                    ("support", _("Support group")), ("education", _("Education group")),
                    ("growth", _("Growth group")), ("therapy", _("Therapy group")), ("other", _("Other")))),
                Field("sessions_planned", _("Sessions planned"), "int"),
                Field("goals", _("Group goals"), "textarea"),
            ),
            summary=(
                Field("sessions_held", _("Sessions held"), "int"),
                Field("evaluation", _("Evaluation"), "textarea"),
                Field("goals_reached", _("Goals reached"), "textarea"),
            ),
        ),
        Category(
            ActivityCategory.COMMUNITY,
            basic=(
                Field("theme", _("Theme")),
                Field("organizer", _("Co-organizer"), required=False),
                Field("plan", _("Activity plan"), "textarea"),
            ),
            summary=(
                Field("participants", _("Participants (person-times)"), "int"),
                Field("outcome", _("Outcome"), "textarea"),
            ),
            clients_required=False,
        ),
        Category(
            ActivityCategory.VISIT,
            basic=(
                Field("visit_type", _("Visit type"), "choice", (
                    ("home", _("Home visit")), ("phone", _("Phone call")), ("hospital", _("Hospital visit")),
                    ("other", _("Other")))),
                Field("purpose", _("Purpose"), "textarea"),
            ),
            summary=(
                Field("situation", _("Situation found"), "textarea"),
                Field("follow_up", _("Follow-up needed"), "textarea", required=False),
            ),
        ),
        Category(
            ActivityCategory.CONSULTATION,
            basic=(
                Field("channel", _("Channel"), "choice", (
                    ("in_person", _("In person")), ("phone", _("By phone")), ("online", _("Online")))),
                Field("question", _("Question"), "textarea"),
            ),
            summary=(
                Field("answer", _("Answer given"), "textarea"),
                Field("further_help", _("Further help arranged"), required=False),
            ),
        ),
        Category(
            ActivityCategory.REFERRAL,
            basic=(
                Field("need", _("Need"), "textarea"),
                Field("resource", _("Resource or agency"), ),
                Field("referral_type", _("Kind"), "choice", (
                    ("linkage", _("Resource linkage")), ("referral", _("Referral")))),
            ),
            summary=(
                Field("result", _("Result"), "textarea"),
                Field("feedback", _("Feedback from the agency"), "textarea", required=False),
            ),
        ),
        Category(
            ActivityCategory.VOLUNTEER,
            basic=(
                Field("project", _("Volunteer project")),
                Field("content", _("Service content"), "textarea"),
            ),
            summary=(
                Field("volunteer_hours", _("Volunteer hours"), "int"),
                Field("outcome", _("Outcome"), "textarea"),
            ),
            clients_required=False,
        ),
    )
}


def get_category(key: str) -> Category:
    return CATEGORIES[key]
