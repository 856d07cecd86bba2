"""Changes after registration: region/employer change and profile change requests."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from swms.workflow import State, review_submit

from ..models import (
    SocialWorker,
)
from .common import RegistrationError


def region_change_submit(*, worker: SocialWorker, new_region, new_employer: str, reason: str):
    """Ask to move to another work region or employer; the new region's county and city review it."""
    from accounts.models import RegionLevel

    from ..models import RegionChangeRequest

    if new_region is None or new_region.level not in (RegionLevel.TOWN, RegionLevel.VILLAGE):
        raise RegistrationError(_("Choose the town or street where you will work."))
    if new_region.pk == worker.work_region_id and new_employer.strip() == worker.employer:
        raise RegistrationError(_("Nothing would change."))
    if not reason.strip() or not new_employer.strip():
        raise RegistrationError(_("Please give the new employer and the reason."))
    pending = RegionChangeRequest.objects.filter(worker=worker).exclude(status__in=["approved", "rejected"]).first()
    if pending is not None and not pending.is_editable:
        raise RegistrationError(_("A change request is already open."))
    with transaction.atomic():
        if pending is not None:  # returned for changes: correct it and send it again
            pending.new_region, pending.new_employer, pending.reason = new_region, new_employer.strip(), reason.strip()
            pending.save(update_fields=["new_region", "new_employer", "reason"])
            return review_submit(pending, actor=worker.user)
        request = RegionChangeRequest.objects.create(
            applicant=worker.user, worker=worker, old_region=worker.work_region, new_region=new_region,
            old_employer=worker.employer, new_employer=new_employer.strip(), reason=reason.strip(),
        )
        return review_submit(request, actor=worker.user)


def profile_change_submit(*, worker: SocialWorker, reason: str):
    """Ask the county to unlock the approved profile for one edit (信息修改申请); a returned request is
    corrected and sent again."""
    from ..models import ProfileChangeRequest

    reason = (reason or "").strip()
    if worker.status != State.APPROVED:
        raise RegistrationError(_("Only an approved profile needs a change request; edit it directly."))
    if not reason:
        raise RegistrationError(_("Please say what you want to change and why."))
    if worker.work_region_id is None:
        raise RegistrationError(_("Your profile has no work region, so no county can review the request."))
    open_request = ProfileChangeRequest.objects.filter(worker=worker, status__in=["submitted", "returned", "draft"]).first()
    if open_request is not None and not open_request.is_editable:
        raise RegistrationError(_("A change request is already waiting for the county."))
    with transaction.atomic():
        if open_request is not None:
            open_request.reason, open_request.region = reason, worker.work_region
            open_request.save(update_fields=["reason", "region"])
            return review_submit(open_request, actor=worker.user)
        request = ProfileChangeRequest.objects.create(
            applicant=worker.user, worker=worker, region=worker.work_region, reason=reason
        )
        return review_submit(request, actor=worker.user)
