"""Oversight of registered workers by the city or province above them (社工登记库): freeze, unfreeze, cancel a
registration (注销, revoking its certificate), and re-issue a certificate whose PDF failed.

Where the actions are logged. A Registration is not a `Reviewable` (it has no review chain of its own), so
its actions cannot go through `swms.workflow.transition`. Rather than a second audit table, each action is
one row of the shared, append-only review log written against the worker's profile (a `Reviewable`): the
officials' pages already show that log on the profile review page and on the worker's file, so whoever
reads "who did what to this worker, and why" finds every decision in one place. The row's action is one of
the oversight actions of the shared vocabulary (Action.FREEZE / UNFREEZE / CANCEL), its states are the
profile's (unchanged: the profile is not what changed), and its comment names the registration number and
the reason. The registration's own history (simple_history) keeps the status change with the same reason.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from notices.services import message_send
from swms.models import Action, ReviewLog, Step
from swms.templatetags.swms import colon
from swms.workflow import CommentRequired, ReviewNotPermitted, TransitionNotAllowed, WorkflowError

from ..certificates import certificate_revoke
from ..freeze import registration_status_set
from ..models import Certificate, Registration, SocialWorker
from ..selectors.registry import certificate_file_ok, oversight_authority

__all__ = [
    "OversightError",
    "certificate_reissue",
    "registration_cancel",
    "registration_freeze",
    "registration_unfreeze",
]


class OversightError(WorkflowError):
    """An oversight action refused for a domain reason; `message` is fit to show the user."""


# action -> (statuses it may start from, status it leaves): the allowed moves, as data.
_MOVES = {
    Action.FREEZE: ((Registration.Status.VALID,), Registration.Status.FROZEN),
    Action.UNFREEZE: ((Registration.Status.FROZEN,), Registration.Status.VALID),
    Action.CANCEL: ((Registration.Status.VALID, Registration.Status.FROZEN), Registration.Status.REVOKED),
}


def _lock(registration: Registration, actor: User) -> tuple[Registration, SocialWorker]:
    """The registration and its worker, locked, after checking the actor's authority (call inside atomic)."""
    locked = Registration.objects.select_for_update(of=("self",)).get(pk=registration.pk)
    worker = SocialWorker.objects.select_for_update(of=("self",)).select_related("work_region", "user").get(
        pk=locked.worker_id
    )
    if not oversight_authority(actor, worker.work_region):
        raise ReviewNotPermitted(_("Only officials of the city or province above the worker's work region may do this."))
    return locked, worker


def _act(*, registration: Registration, actor: User, reason: str, action: str) -> Registration:
    reason = (reason or "").strip()
    if not reason:
        raise CommentRequired()
    starts, target = _MOVES[action]
    with transaction.atomic():
        locked, worker = _lock(registration, actor)
        if locked.status not in starts:
            raise TransitionNotAllowed(
                _("This is not possible while the registration is “%(status)s”.")
                % {"status": locked.get_status_display()}
            )
        registration_status_set(locked, target, reason=reason, actor=actor)
        if action == Action.CANCEL:
            for certificate in Certificate.objects.filter(registration=locked).current():
                certificate_revoke(certificate=certificate, reason=reason)
        ReviewLog.objects.create(
            item=worker, action=action, step=Step.FINAL, actor=actor, actor_region_id=actor.region_id,
            from_state=worker.status, to_state=worker.status,
            comment=f"{locked.registration_no}{colon()}{reason}", created_at=timezone.now(),
        )
        _notify(worker, locked, action, reason)
    registration.status = locked.status
    return locked


def _notify(worker: SocialWorker, registration: Registration, action: str, reason: str) -> None:
    """Inbox, SMS and email (sent after commit by message_send) with the reason and where to look."""
    titles = {
        Action.FREEZE: _("Your registration %(no)s was frozen"),
        Action.UNFREEZE: _("Your registration %(no)s was unfrozen"),
        Action.CANCEL: _("Your registration %(no)s was cancelled"),
    }
    link = reverse("registration:history")
    body = _("Reason: %(reason)s") % {"reason": reason}
    if action == Action.FREEZE:
        body += "\n" + _("You can apply to restore it: %(url)s") % {
            "url": settings.SWMS_PUBLIC_BASE_URL.rstrip("/") + link}
    message_send(user=worker.user, title=titles[action] % {"no": registration.registration_no}, body=body,
                 link=link, sms=True, email=True)


def registration_freeze(*, registration: Registration, actor: User, reason: str) -> Registration:
    """Freeze a valid registration (seed 002: 由系统管理员进行冻结); the worker may apply to restore it."""
    return _act(registration=registration, actor=actor, reason=reason, action=Action.FREEZE)


def registration_unfreeze(*, registration: Registration, actor: User, reason: str) -> Registration:
    """Make a frozen registration valid again without a restore application."""
    return _act(registration=registration, actor=actor, reason=reason, action=Action.UNFREEZE)


def registration_cancel(*, registration: Registration, actor: User, reason: str) -> Registration:
    """Cancel a registration (注销) and revoke its current certificate: the public verification page then
    says it was revoked, with the date."""
    return _act(registration=registration, actor=actor, reason=reason, action=Action.CANCEL)


def certificate_reissue(*, registration: Registration, actor: User) -> bool:
    """Queue the certificate again where it failed: none issued though due, or its PDF missing or empty (that
    one is revoked first, as the replacement flow does). Idempotent: a healthy current certificate, or one
    already queued, leaves nothing to do. Returns True if a task was queued (on commit)."""
    from swms.outbox import enqueue

    from ..tasks import issue_certificate

    with transaction.atomic():
        locked = Registration.objects.select_for_update(of=("self",)).select_related("region").get(
            pk=registration.pk
        )
        if not oversight_authority(actor, locked.region):
            raise ReviewNotPermitted(
                _("Only officials of the city or province above the registration's region may do this.")
            )
        if locked.status != Registration.Status.VALID:
            raise OversightError(_("Only a valid registration gets a certificate."))
        current = Certificate.objects.filter(registration=locked).current().first()
        if current is not None:
            if certificate_file_ok(current):
                return False
            certificate_revoke(certificate=current, reason="reissued: file missing")
        elif locked.certificate_due_on is None or locked.certificate_due_on > timezone.localdate():
            raise OversightError(_("This certificate is not due yet."))
        enqueue(issue_certificate, locked.pk)  # published at commit (swms/outbox.py)
    return True
