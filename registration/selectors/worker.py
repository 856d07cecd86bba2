"""The social worker's home: registration state, CE tally, open application and the next step."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Prefetch
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from swms.workflow import Action, State, review_log_for

from ..eligibility import ce_hours_between, current_window, worker_eligibility
from ..models import (
    CE_HOURS_REQUIRED,
    Certificate,
    Qualification,
    Registration,
    RegistrationApplication,
    RegistrationKind,
    RestoreApplication,
    RosterCorrectionRequest,
    SocialWorker,
)

# A registration this close to its end is shown as expiring (即将到期), so the worker plans the renewal.
EXPIRY_WARNING_DAYS = 90

# Review states in which the item waits for officials.
_WAITING = (State.SUBMITTED, State.COUNTY_APPROVED)


def registration_state(registration: Registration, *, on_date: datetime.date) -> tuple[str, str]:
    """(code, label) of a registration on a date: valid, expiring, expired, frozen or revoked."""
    if registration.status == Registration.Status.REVOKED:
        return "revoked", pgettext("registration state", "Revoked")
    if registration.status == Registration.Status.FROZEN:
        return "frozen", pgettext("registration state", "Frozen")
    if registration.valid_to < on_date:
        return "expired", pgettext("registration state", "Expired")
    if (registration.valid_to - on_date).days <= EXPIRY_WARNING_DAYS:
        return "expiring", pgettext("registration state", "Expiring soon")
    return "valid", pgettext("registration state", "Valid")


def ce_tally(*, worker: SocialWorker, registration: Registration | None, on_date: datetime.date) -> dict | None:
    """Hours counted since the registration began against what its renewal needs (Beijing manual 2.4:
    72 h for assistants, 90 h for social workers and senior social workers); None when not registered.

    "Counted since the registration began": every counted (accepted) record completed on or after
    valid_from. No path books a completion date after today (a claim must be finished, an import row may
    not be dated in the future, a course is finished today), so this is the same as "up to `on_date`"
    for everything the application records, and it does not change from one day to the next: the
    registry stores it on the registration (`Registration.ce_hours`, registration/services/registry.py)
    and must equal this. `on_date` is kept for the callers."""
    if registration is None:
        return None
    need = CE_HOURS_REQUIRED[registration.level]
    have = ce_hours_between(worker, registration.valid_from, datetime.date.max)
    return {"have": have, "need": need, "missing": max(need - have, Decimal(0)), "since": registration.valid_from,
            "registration": registration,
            "percent": min(100, int(have * 100 / need)) if need else 100}


@dataclass(frozen=True)
class NextStep:
    """The one thing the worker should do now, as a call to action."""

    code: str
    title: str
    detail: str = ""
    url: str = ""
    action: str = ""
    comment: str = ""
    note: str = ""
    since: datetime.datetime | None = None
    tone: str = "primary"  # Bootstrap colour of the card: primary (act), warning (fix), info (wait)


def _last_comment(obj) -> str:
    """The reviewer's comment of the latest return or rejection of `obj` (one query)."""
    row = (
        review_log_for(obj).filter(action__in=[Action.RETURN, Action.REJECT]).exclude(comment="")
        .order_by("-created_at", "-id").values_list("comment", flat=True).first()
    )
    return row or ""


def _office(region) -> str:
    return region.name if region is not None else _("the civil-affairs office")


def _application_step(application: RegistrationApplication) -> NextStep:
    url = reverse("registration:application-detail", args=[application.pk])
    kind = application.get_kind_display()
    if application.status in (State.RETURNED, State.REJECTED):
        return NextStep(
            "fix_application", _("Fix what was returned in your application (%(kind)s)") % {"kind": kind},
            _("The reviewer's comment is below; correct the application and submit it again."),
            url, _("Open the application"), comment=_last_comment(application), tone="warning",
        )
    if application.status in _WAITING:
        return NextStep(
            "wait_application", _("Wait for the review of your application (%(kind)s)") % {"kind": kind},
            _("It is with %(office)s. You will be told the result by SMS and in your inbox.")
            % {"office": _office(application.awaiting_region)},
            url, _("View the application"), since=application.submitted_at, tone="info",
        )
    return NextStep(
        "continue_application", _("Finish and submit your application (%(kind)s)") % {"kind": kind},
        _("Upload the materials, tick the pledge and submit it while registration is open."),
        url, _("Continue the application"),
    )


def _correction_step(correction: RosterCorrectionRequest | None) -> NextStep:
    """No exam record for the worker's ID number: the roster correction request is the way on."""
    if correction is not None and correction.status == State.RETURNED:
        return NextStep(
            "fix_correction", _("Fix your roster correction request"),
            _("The county returned it; correct it and submit it again."),
            reverse("registration:correction-edit", args=[correction.pk]), _("Open the request"),
            comment=_last_comment(correction), tone="warning",
        )
    if correction is not None and correction.status == State.DRAFT:
        return NextStep(
            "submit_correction", _("Submit your roster correction request"),
            _("It is saved as a draft; the county checks it only once you submit it."),
            reverse("registration:correction-edit", args=[correction.pk]), _("Open the request"),
        )
    if correction is not None and correction.status in _WAITING:
        return NextStep(
            "wait_correction", _("Wait for the county to check your exam record"),
            _("%(office)s checks your roster correction request; you can apply once it is approved.")
            % {"office": _office(correction.awaiting_region)},
            reverse("registration:corrections"), _("View your requests"), since=correction.submitted_at, tone="info",
        )
    detail = _("No exam record was found for your ID number. If you passed the exam, file a roster correction "
               "request with a scan of your certificate.")
    return NextStep(
        "file_correction", _("File a roster correction request"), detail,
        reverse("registration:correction-new"), _("File a request"),
        comment=_last_comment(correction) if correction is not None and correction.status == State.REJECTED else "",
        tone="warning",
    )


def _registration_step(*, worker, latest, tally, decisions, window, restore, today) -> NextStep | None:
    """Steps that follow from the registration record and the eligibility decisions."""
    if latest is not None and latest.status == Registration.Status.FROZEN:
        if restore is not None and restore.status in _WAITING:
            return NextStep(
                "wait_restore", _("Wait for the review of your restore application"),
                _("It is with %(office)s.") % {"office": _office(restore.awaiting_region)},
                reverse("registration:history"), _("View your history"), since=restore.submitted_at, tone="info",
            )
        return NextStep(
            "restore", _("Apply to restore your frozen registration"),
            _("Your registration %(number)s was frozen because it was not renewed in time.")
            % {"number": latest.registration_no},
            reverse("registration:history"), _("Apply to restore"),
            comment=_last_comment(restore) if restore is not None and restore.status in (
                State.RETURNED, State.REJECTED) else "",
            tone="warning",
        )
    # Reissue for a lost certificate of a valid registration is always allowed; it is not a next step.
    actionable = [
        d for d in decisions
        if d.allowed and (d.kind != RegistrationKind.REISSUE or latest is None)
    ]
    if actionable:
        kinds = "、".join(str(d.label) for d in actionable)
        if window.is_open:
            return NextStep(
                "apply", _("Apply now: %(kinds)s") % {"kinds": kinds}, actionable[0].reason,
                reverse("registration:apply"), _("Apply now"),
                note=window.reason or _("Applications are accepted at any time."),
            )
        if window.next_window is not None:
            title = _("No registration window is open now; the next opens on %(date)s") % {
                "date": window.next_window.opens_on.isoformat()}
        else:
            title = _("No registration window is open now")
        return NextStep(
            "window_closed", title, _("You may apply for %(kinds)s once registration opens.") % {"kinds": kinds},
            reverse("registration:apply"), _("See the registration kinds"), note=window.reason, tone="info",
        )
    if latest is None:
        return None
    if latest.status == Registration.Status.REVOKED:
        return NextStep(
            "revoked", _("Your registration was revoked"),
            _("Ask the civil-affairs office of your work region what to do next."),
            reverse("registration:history"), _("View your history"), tone="secondary",
        )
    if latest.valid_to < today:
        return NextStep(
            "late_hours", _("Complete your continuing education for a late registration"),
            _("Your registration expired on %(date)s. Late registration needs %(missing)s more hours from its "
              "period.") % {"date": latest.valid_to.isoformat(), "missing": f"{tally['missing']:g}"},
            reverse("registration:ce"), _("Continuing education"), tone="warning",
        )
    if tally["missing"] > 0:
        return NextStep(
            "renew_hours", _("Renew before %(date)s") % {"date": latest.valid_to.isoformat()},
            _("Your renewal needs %(need)s continuing-education hours; %(missing)s are still missing.")
            % {"need": f"{tally['need']:g}", "missing": f"{tally['missing']:g}"},
            reverse("registration:ce"), _("Log continuing education"),
            tone="warning" if latest.valid_to.year == today.year else "primary",
        )
    return NextStep(
        "renew_later", _("Renew before %(date)s") % {"date": latest.valid_to.isoformat()},
        _("You have the continuing-education hours your renewal needs; renewal opens in %(year)d.")
        % {"year": latest.valid_to.year},
        reverse("registration:ce"), _("Continuing education"), tone="success",
    )


def worker_home(*, user) -> dict:
    """Everything the social worker's home page shows, and the one next step."""
    today = timezone.localdate()
    worker = (
        SocialWorker.objects.owned_by(user).select_related("work_region", "initial_region", "final_region").first()
    )
    if worker is None:
        return {"worker": None, "next_step": NextStep(
            "no_profile", _("Your account has no social worker profile"),
            _("Ask the civil-affairs office that created your account to check it."), tone="secondary",
        )}
    registrations = list(
        Registration.objects.filter(worker=worker).order_by("-valid_to").prefetch_related(
            Prefetch("certificates", queryset=Certificate.objects.current(), to_attr="current_certificates")
        )
    )
    latest = registrations[0] if registrations else None
    registration = None
    if latest is not None:
        code, label = registration_state(latest, on_date=today)
        registration = {"record": latest, "state": code, "state_label": label,
                        "certificate": next(iter(latest.current_certificates), None)}
    tally = ce_tally(worker=worker, registration=latest, on_date=today)
    application = (
        RegistrationApplication.objects.owned_by(user).open().select_related("initial_region", "final_region")
        .order_by("-created_at").first()
    )
    last_application = application or (
        RegistrationApplication.objects.owned_by(user).order_by("-created_at").first()
    )
    context = {"worker": worker, "registration": registration, "tally": tally, "application": application,
               "last_application": last_application, "today": today,
               # Why the latest application was rejected, so a new one avoids the same fault.
               "last_application_comment": _last_comment(last_application)
               if last_application is not None and last_application.status == State.REJECTED else ""}
    context["next_step"] = _next_step(worker=worker, user=user, latest=latest, tally=tally,
                                      application=application, today=today, context=context)
    return context


def _next_step(*, worker, user, latest, tally, application, today, context) -> NextStep:
    if application is not None:
        return _application_step(application)
    profile_url = reverse("registration:profile")
    if worker.status == State.RETURNED:
        return NextStep(
            "fix_profile", _("Fix what was returned in your profile"),
            _("The county returned your profile; correct it and submit it again."),
            profile_url, _("Open my profile"), comment=_last_comment(worker), tone="warning",
        )
    missing = worker.missing_fields()
    if missing and worker.is_editable:
        labels = "、".join(str(SocialWorker._meta.get_field(f).verbose_name) for f in missing)
        return NextStep(
            "complete_profile", _("Complete your profile"),
            _("Still missing: %(fields)s") % {"fields": labels}, profile_url, _("Open my profile"),
        )
    if not Qualification.objects.filter(id_number=worker.id_number).exists():
        correction = (
            RosterCorrectionRequest.objects.owned_by(user).exclude(status=State.APPROVED)
            .select_related("initial_region", "final_region").order_by("-created_at").first()
        )
        return _correction_step(correction)
    window = current_window(worker.work_region, on_date=today)
    context["window"] = window
    restore = None
    if latest is not None and latest.status == Registration.Status.FROZEN:
        restore = (
            RestoreApplication.objects.owned_by(user).filter(registration=latest)
            .select_related("initial_region", "final_region").order_by("-created_at").first()
        )
    decisions = worker_eligibility(worker, on_date=today)
    step = _registration_step(worker=worker, latest=latest, tally=tally, decisions=decisions, window=window,
                              restore=restore, today=today)
    # A registered worker's next step follows from the registration; the profile goes with the next application.
    if step is not None and (step.code in ("apply", "restore", "wait_restore") or latest is not None):
        return step
    # Nothing to apply for now: the profile itself may still wait for (or need) the county's review.
    if worker.status in _WAITING:
        return NextStep(
            "wait_profile", _("Wait for the county to review your profile"),
            _("%(office)s reviews it; you will be told the result in your inbox.")
            % {"office": _office(worker.awaiting_region)},
            profile_url, _("View my profile"), since=worker.submitted_at, tone="info",
        )
    if worker.status == State.DRAFT:
        return NextStep(
            "submit_profile", _("Submit your profile for review"),
            _("Your profile is complete; submit it so the county can check it."), profile_url, _("Open my profile"),
        )
    if step is not None:
        return step
    return NextStep(
        "nothing", _("Nothing to do right now"),
        _("You have no registration to apply for at present."), reverse("registration:apply"),
        _("See the registration kinds"), tone="secondary",
    )
