"""Offline continuing-education hours claimed by the worker."""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from swms.uploads import CheckedImage
from swms.workflow import review_submit

from ..models import (
    SocialWorker,
)
from .common import RegistrationError, _ensure_editable


def ce_claim_submit(*, worker: SocialWorker, claim=None, data: dict, proof: CheckedImage | None):
    """Save and submit an offline CE claim to the county of the worker's region."""
    from ..models import CEClaim

    if worker.work_region is None:
        raise RegistrationError(_("Please set your work region in your profile first."))
    if claim is None:
        claim = CEClaim(applicant=worker.user, worker=worker)
    else:
        _ensure_editable(claim)
    for field in ("provider", "course", "started_on", "finished_on", "hours"):
        setattr(claim, field, data[field])
    if claim.finished_on < claim.started_on:
        raise RegistrationError(_("The course cannot end before it starts."))
    if claim.finished_on > timezone.localdate():
        raise RegistrationError(_("Hours can be claimed only for courses already finished."))
    claim.region = worker.work_region
    if proof is not None:
        claim.proof.save(proof.content.name, proof.content, save=False)
    if not claim.proof:
        raise RegistrationError(_("Please upload the proof of attendance."))
    with transaction.atomic():
        claim.save()
        return review_submit(claim, actor=worker.user)
