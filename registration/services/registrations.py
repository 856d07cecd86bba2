"""After registration: restore after freezing, certificate replacement."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from swms.workflow import review_submit

from ..models import (
    Registration,
    SocialWorker,
)
from .common import RegistrationError


def restore_submit(*, worker: SocialWorker, registration: Registration, reason: str):
    """A frozen worker applies to restore the registration (county then city review)."""
    from ..models import RestoreApplication

    if registration.worker_id != worker.pk or registration.status != Registration.Status.FROZEN:
        raise RegistrationError(_("Only a frozen registration of yours can be restored."))
    if not reason.strip():
        raise RegistrationError(_("Please explain why the registration should be restored."))
    if worker.work_region is None:
        raise RegistrationError(_("Please set your work region in your profile first."))
    existing = RestoreApplication.objects.filter(registration=registration).exclude(status="approved").first()
    if existing is not None and not existing.is_editable:
        raise RegistrationError(_("A restore application for this registration is already open."))
    try:
        with transaction.atomic():
            if existing is not None:  # returned or rejected: fix the reason and send it again
                existing.reason, existing.region = reason.strip(), worker.work_region
                existing.save(update_fields=["reason", "region"])
                return review_submit(existing, actor=worker.user)
            application = RestoreApplication.objects.create(
                applicant=worker.user, worker=worker, registration=registration, region=worker.work_region,
                reason=reason.strip(),
            )
            return review_submit(application, actor=worker.user)
    except IntegrityError:
        raise RegistrationError(_("A restore application for this registration is already open.")) from None


def replacement_submit(*, worker: SocialWorker, registration: Registration, reason: str, details: str = ""):
    """Ask the county for a new certificate (补换); the registration number is filled in for the worker."""
    from ..models import ReplacementRequest

    if registration.worker_id != worker.pk or registration.status != Registration.Status.VALID:
        raise RegistrationError(_("Only a valid registration of yours can get a replacement certificate."))
    if not registration.certificates.filter(revoked_at__isnull=True).exists():
        raise RegistrationError(_("This registration has no certificate yet."))
    if ReplacementRequest.objects.filter(registration=registration, status="submitted").exists():
        raise RegistrationError(_("A replacement request for this certificate is already waiting for review."))
    if reason not in ReplacementRequest.Reason.values:
        raise RegistrationError(_("Please choose a reason."))
    with transaction.atomic():
        request = ReplacementRequest.objects.create(
            applicant=worker.user, worker=worker, registration=registration,
            region=worker.work_region or registration.region, reason=reason, details=details.strip(),
        )
        return review_submit(request, actor=worker.user)
