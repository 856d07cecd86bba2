"""Officials' review services for registration: every decision goes through the shared workflow."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import RegionLevel, User
from accounts.operator_roles import OPERATE_SYSTEM, can
from notices.services import message_send
from reports import aggregates
from swms.workflow import (
    State,
    WorkflowError,
    review_approve,
    review_reject,
    review_reopen,
    review_return,
    review_submit,
)

from .models import (
    REGISTRATION_YEARS,
    Qualification,
    Registration,
    RegistrationApplication,
    RegistrationKind,
    RegistrationWindow,
    RosterCorrectionRequest,
    SocialWorker,
)
from .services.registry import registry_refresh


class ReviewError(WorkflowError):
    """A review decision refused for a domain reason (not the workflow's)."""


def _notify(worker: SocialWorker, title: str, body: str, link: str) -> None:
    message_send(user=worker.user, title=title, body=body, link=link, sms=True, email=True)


def _add_years(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def _registration_create(application: RegistrationApplication) -> Registration:
    """The registration record of a finally approved application: valid three years."""
    today = timezone.localdate()
    start = today
    if application.kind == RegistrationKind.RENEWAL:
        previous = application.worker.registrations.order_by("-valid_to").first()
        if previous is not None and previous.valid_to >= today:
            # A renewal continues the running registration without a gap or an overlap.
            start = previous.valid_to + datetime.timedelta(days=1)
    window = application.window
    registration = Registration.objects.create(
        worker=application.worker,
        application=application,
        # Unique placeholder until the primary key is known (the number embeds it, so it cannot collide).
        registration_no=f"tmp-{application.pk}",
        kind=application.kind,
        level=application.qualification.level,
        qualification=application.qualification,
        region=application.region,
        valid_from=start,
        valid_to=_add_years(start, REGISTRATION_YEARS) - datetime.timedelta(days=1),
        certificate_due_on=window.certificate_issue_on if window else today,
    )
    # 2026 + 440104 + 0000123: year, the county-level division code, then the record's id.
    registration.registration_no = f"{start.year}{application.region.code[:6]}{registration.pk:07d}"
    registration.save(update_fields=["registration_no"])
    # The registry's stored current registration and CE hours (services/registry.py).
    registry_refresh([registration.worker_id])
    aggregates.registration_changed(registration)
    if registration.certificate_due_on <= today:
        # With no window (or a past issue date) the certificate follows at once; otherwise the daily
        # beat job `issue_due_certificates` picks it up on its date.
        from swms.outbox import enqueue

        from .tasks import issue_certificate

        enqueue(issue_certificate, registration.pk)  # published at commit; kept if the broker is down
    return registration


def _application_link(application) -> str:
    return reverse("registration:application-detail", kwargs={"pk": application.pk})


def _certificate_link() -> str:
    """Where a worker finds their certificate: the history page's registrations section."""
    return reverse("registration:history") + "#certificates"


def _cascade_profile(application: RegistrationApplication, action: str, actor: User, comment: str) -> None:
    """The profile submitted with the application is decided with it, when the actor is its reviewer."""
    worker = SocialWorker.objects.get(pk=application.worker_id)
    if worker.status != State.SUBMITTED or action not in worker.available_actions(actor):
        return
    {"approve": review_approve, "return": review_return}[action](worker, actor=actor, comment=comment)


def application_approve(*, application: RegistrationApplication, actor: User, comment: str = "") -> RegistrationApplication:
    """Initial or final approval; the final one creates the registration."""
    with transaction.atomic():
        application = review_approve(application, actor=actor, comment=comment)
        _cascade_profile(application, "approve", actor, comment)
        if application.status == State.APPROVED:
            registration = _registration_create(application)
            # The certificate may follow later (the window's issue date), so the message points to the
            # history page's certificate section, where its download appears once issued.
            link = _certificate_link()
            _notify(
                application.worker,
                _("Your registration application was approved"),
                _("Registration number %(no)s, valid from %(start)s to %(end)s.")
                % {"no": registration.registration_no, "start": registration.valid_from, "end": registration.valid_to}
                + "\n"
                + _("Download your electronic certificate (available from %(day)s) after logging in: %(url)s")
                % {"day": registration.certificate_due_on,
                   "url": settings.SWMS_PUBLIC_BASE_URL.rstrip("/") + link},
                link,
            )
        else:
            _notify(
                application.worker,
                _("Your registration application passed the initial review"),
                _("It now waits for the final review by %(region)s.") % {"region": application.final_region.name},
                _application_link(application),
            )
    return application


def application_reject(*, application: RegistrationApplication, actor: User, comment: str) -> RegistrationApplication:
    """Not approved, with the reason; the application is closed and the worker may start a new one."""
    with transaction.atomic():
        application = review_reject(application, actor=actor, comment=comment)
        _cascade_profile(application, "return", actor, comment)
        _notify(
            application.worker,
            _("Your registration application was not approved"),
            _("Reason: %(reason)s") % {"reason": comment},
            _application_link(application),
        )
    return application


def application_return(*, application: RegistrationApplication, actor: User, comment: str) -> RegistrationApplication:
    """Sent back for changes, with the reason."""
    with transaction.atomic():
        application = review_return(application, actor=actor, comment=comment)
        _cascade_profile(application, "return", actor, comment)
        _notify(
            application.worker,
            _("Your registration application was returned for changes"),
            _("Reason: %(reason)s") % {"reason": comment},
            _application_link(application),
        )
    return application


def profile_decide(*, worker: SocialWorker, actor: User, action: str, comment: str = "") -> SocialWorker:
    """The county's decision on a standalone profile submission (approve or return)."""
    with transaction.atomic():
        if action == "approve":
            worker = review_approve(worker, actor=actor, comment=comment)
            title = _("Your profile was approved")
        else:
            worker = review_return(worker, actor=actor, comment=comment)
            title = _("Your profile was returned for changes")
        _notify(worker, title, comment, reverse("registration:profile"))
    return worker


def profile_change_decide(*, change, actor: User, action: str, comment: str = ""):
    """Granting a change request reopens the approved profile for one edit, which is reviewed again."""
    with transaction.atomic():
        if action == "approve":
            change = review_approve(change, actor=actor, comment=comment)
            worker = SocialWorker.objects.select_for_update().get(pk=change.worker_id)
            if worker.status == State.APPROVED:
                review_reopen(worker, actor=actor, comment=change.reason)
            title = _("Your change request was granted: you may now edit your profile and submit it again")
        elif action == "reject":
            change = review_reject(change, actor=actor, comment=comment)
            title = _("Your change request was not granted")
        else:
            change = review_return(change, actor=actor, comment=comment)
            title = _("Your change request was returned for changes")
        _notify(change.worker, title, comment, reverse("registration:profile"))
    return change


def correction_decide(
    *, correction: RosterCorrectionRequest, actor: User, action: str, comment: str = ""
) -> RosterCorrectionRequest:
    """Approve (adds the certificate to the roster), reject or return a roster correction request."""
    with transaction.atomic():
        if action == "approve":
            clash = Qualification.objects.filter(certificate_no=correction.certificate_no).first()
            if clash is not None and clash.id_number != correction.worker.id_number:
                raise ReviewError(_("This certificate number is already on the roster for another person."))
            correction = review_approve(correction, actor=actor, comment=comment)
            qualification = clash or Qualification.objects.create(
                id_number=correction.worker.id_number, name=correction.worker.name, level=correction.level,
                certificate_no=correction.certificate_no, exam_year=correction.exam_year,
                issuing_province=correction.issuing_province, source=Qualification.Source.CORRECTION,
            )
            correction.qualification = qualification
            correction.save(update_fields=["qualification"])
            title = _("Your exam record was added to the roster")
        elif action == "reject":
            correction = review_reject(correction, actor=actor, comment=comment)
            title = _("Your roster correction request was not approved")
        else:
            correction = review_return(correction, actor=actor, comment=comment)
            title = _("Your roster correction request was returned for changes")
        _notify(correction.worker, title, comment, reverse("registration:corrections"))
    return correction


def window_save(
    *, actor: User, window: RegistrationWindow | None, name: str, opens_on: datetime.date,
    closes_on: datetime.date, certificate_delay_days: int,
) -> RegistrationWindow:
    """Create or change a registration window of the actor's province (province officials only)."""
    province = actor.region if actor.is_official else None
    if window is not None:
        province = window.province
    if not can(actor, OPERATE_SYSTEM) and not (
        actor.is_official and actor.region.level == RegionLevel.PROVINCE and actor.region_id == province.pk
    ):
        raise ReviewError(_("Only officials of the province set registration windows."))
    if closes_on < opens_on:
        raise ReviewError(_("The window must close on or after the day it opens."))
    overlapping = RegistrationWindow.objects.filter(province=province, opens_on__lte=closes_on, closes_on__gte=opens_on)
    if window is not None:
        overlapping = overlapping.exclude(pk=window.pk)
    if overlapping.exists():
        raise ReviewError(_("This period overlaps another registration window of the province."))
    if window is None:
        window = RegistrationWindow(province=province, created_by=actor)
    window.name, window.opens_on, window.closes_on = name, opens_on, closes_on
    window.certificate_delay_days = certificate_delay_days
    window.save()
    return window


def ce_claim_decide(*, claim, actor: User, action: str, comment: str = ""):
    """The county's decision on offline CE hours: approval books them in the ledger, once."""
    from .models import CERecord

    with transaction.atomic():
        if action == "approve":
            claim = review_approve(claim, actor=actor, comment=comment)
            claim.record = CERecord.objects.create(
                worker=claim.worker, source=CERecord.Source.OFFLINE, hours=claim.hours,
                completed_on=claim.finished_on, provider=claim.provider, course=claim.course,
                status=CERecord.Status.ACCEPTED,
            )
            claim.save(update_fields=["record"])
            registry_refresh([claim.worker_id])
            aggregates.ce_changed([claim.worker_id])
            title = _("Your offline continuing-education hours were accepted")
        else:
            claim = review_return(claim, actor=actor, comment=comment)
            title = _("Your offline continuing-education hours were returned")
        _notify(claim.worker, title, comment, reverse("registration:ce"))
    return claim


# --- Courseware library (课件资源库) ---------------------------------------------------------------


def courseware_submit(*, actor: User, courseware=None, data: dict):
    """A county official collects courseware and sends it to the city."""
    from .models import Courseware

    if not (actor.is_official and actor.region.level == RegionLevel.COUNTY):
        raise ReviewError(_("Courseware is collected by county officials."))
    if courseware is None:
        courseware = Courseware(applicant=actor, region=actor.region)
    elif not courseware.is_editable:
        raise ReviewError(_("This has been submitted and cannot be changed until it is reviewed."))
    for field in ("title", "provider", "hours", "link", "description"):
        setattr(courseware, field, data.get(field, ""))
    if not courseware.link:
        raise ReviewError(_("Please give the address where the course can be taken."))
    with transaction.atomic():
        courseware.save()
        return review_submit(courseware, actor=actor)


def courseware_decide(*, courseware, actor: User, action: str, comment: str = ""):
    """The city passes courseware up (or returns it); the province opens it (or returns it)."""
    with transaction.atomic():
        if action == "approve":
            return review_approve(courseware, actor=actor, comment=comment)
        return review_return(courseware, actor=actor, comment=comment)


def courseware_finish(*, courseware, worker: SocialWorker):
    """A worker finished an opened course: its hours are recorded once, however often they click."""
    from .models import CERecord

    if courseware.status != State.APPROVED:
        raise ReviewError(_("This courseware is not open."))
    record, created = CERecord.objects.get_or_create(
        provider=courseware.provider,
        external_ref=f"courseware:{courseware.pk}:worker:{worker.pk}",
        defaults={"worker": worker, "source": CERecord.Source.ONLINE, "hours": courseware.hours,
                  "completed_on": timezone.localdate(), "course": courseware.title,
                  "status": CERecord.Status.ACCEPTED},
    )
    if created:
        registry_refresh([worker.pk])
        aggregates.ce_changed([worker.pk])
    return record, created


def restore_decide(*, restore, actor: User, action: str, comment: str = ""):
    """Decide a restore application; the final approval makes the registration valid again."""
    with transaction.atomic():
        if action == "approve":
            restore = review_approve(restore, actor=actor, comment=comment)
            if restore.status == State.APPROVED:
                registration = Registration.objects.select_for_update().get(pk=restore.registration_id)
                registration.status = Registration.Status.VALID
                registration.save(update_fields=["status"])
                aggregates.registration_changed(registration)
                title = _("Your registration was restored")
            else:
                title = _("Your restore application passed the initial review")
        elif action == "reject":
            restore = review_reject(restore, actor=actor, comment=comment)
            title = _("Your restore application was not approved")
        else:
            restore = review_return(restore, actor=actor, comment=comment)
            title = _("Your restore application was returned for changes")
        _notify(restore.worker, title, comment, reverse("registration:history"))
    return restore


def replacement_decide(*, replacement, actor: User, action: str, comment: str = ""):
    """Approval revokes the current certificate and queues a new one (on commit)."""
    from swms.outbox import enqueue

    from .certificates import certificate_revoke
    from .models import Certificate
    from .tasks import issue_certificate

    with transaction.atomic():
        if action == "approve":
            replacement = review_approve(replacement, actor=actor, comment=comment)
            for certificate in Certificate.objects.filter(registration=replacement.registration).current():
                certificate_revoke(certificate=certificate, reason=f"replaced ({replacement.reason})")
            enqueue(issue_certificate, replacement.registration_id)
            title = _("Your replacement certificate is being issued")
        else:
            replacement = review_return(replacement, actor=actor, comment=comment)
            title = _("Your certificate replacement request was returned")
        _notify(replacement.worker, title, comment, reverse("registration:history"))
    return replacement


def region_change_decide(*, change, actor: User, action: str, comment: str = ""):
    """On final approval the worker's work region and employer become the new ones."""
    with transaction.atomic():
        if action == "approve":
            change = review_approve(change, actor=actor, comment=comment)
            if change.status == State.APPROVED:
                worker = SocialWorker.objects.select_for_update().get(pk=change.worker_id)
                aggregates.worker_moved(worker.work_region_id, change.new_region_id)
                worker.work_region_id = change.new_region_id
                worker.employer = change.new_employer
                worker._change_reason = "region change approved"
                worker.save(update_fields=["work_region", "employer", "updated_at"])
                title = _("Your change of work region or employer was approved")
            else:
                title = _("Your change request passed the initial review")
        elif action == "reject":
            change = review_reject(change, actor=actor, comment=comment)
            title = _("Your change request was not approved")
        else:
            change = review_return(change, actor=actor, comment=comment)
            title = _("Your change request was returned for changes")
        _notify(change.worker, title, comment, reverse("registration:profile"))
    return change
