"""Roster corrections: a worker whose exam record is missing asks the county to add it."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.models import User
from swms.uploads import CheckedImage
from swms.workflow import review_submit

from ..models import (
    RosterCorrectionRequest,
    SocialWorker,
)
from .common import RegistrationError, _ensure_editable


def roster_correction_save(
    *, worker: SocialWorker, request: RosterCorrectionRequest | None, data: dict, scan: CheckedImage | None
) -> RosterCorrectionRequest:
    """Create or update a draft "my exam record is missing" request."""
    if request is None:
        request = RosterCorrectionRequest(applicant=worker.user, worker=worker)
    else:
        _ensure_editable(request)
    for field in ("region", "level", "certificate_no", "exam_year", "issuing_province", "note"):
        if field in data:
            setattr(request, field, data[field])
    if scan is not None:
        request.scan.save(scan.content.name, scan.content, save=False)
    if not request.scan:
        raise RegistrationError(_("Please upload a scan of your certificate."))
    request.save()
    return request


def roster_correction_submit(*, request: RosterCorrectionRequest, actor: User) -> RosterCorrectionRequest:
    return review_submit(request, actor=actor)
