"""Electronic registration certificates: rendered with WeasyPrint, verified by a public token."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

import segno
import weasyprint
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import RegionLevel
from swms.pii import mask_id_number
from swms.signing import sign_pdf

from .models import Certificate, Registration, RegistrationKind


def issuing_authority(registration: Registration) -> str:
    """The civil-affairs office that took the final decision (named by `Region.civil_affairs_office`); for a
    registration imported from the legacy register, the office the register names."""
    if registration.issuing_office:
        return registration.issuing_office
    application = registration.application
    if application is not None and application.final_region is not None:
        region = application.final_region
    else:  # imported or legacy records: the city (or province) above the registration's region
        region = registration.region.ancestor_at(RegionLevel.CITY) or registration.region.ancestor_at(
            RegionLevel.PROVINCE
        ) or registration.region
    return region.civil_affairs_office


def verification_url(token: str) -> str:
    return settings.SWMS_PUBLIC_BASE_URL.rstrip("/") + reverse("verify", kwargs={"token": token})


def qr_data_uri(url: str) -> str:
    """The QR code as an SVG data URI. A fixed mask pattern is as readable to scanners and spares
    segno from scoring all eight masks (about 3 ms of each certificate)."""
    return segno.make(url, error="m", mask=0, boost_error=False).svg_data_uri(scale=3, border=1)


def render_certificate_html(certificate: Certificate) -> str:
    """The certificate page as HTML (A4, Chinese, the CJK font named in the stylesheet)."""
    registration = certificate.registration
    worker = registration.worker
    url = verification_url(certificate.token)
    with translation.override("zh-hans"):
        return render_to_string("registration/certificate.html", {
            "certificate": certificate,
            "registration": registration,
            "worker": worker,
            # Masked on the document too (P1): the verification page is the place to check a number.
            "id_masked": mask_id_number(worker.id_number),
            "history": worker.registrations.order_by("valid_from"),
            "qr": qr_data_uri(url),
            "verify_url": url,
        })


PDF_STYLESHEETS = Path(__file__).resolve().parent / "pdf"


@cache
def _font_config():
    """One font configuration per process: WeasyPrint then finds and loads the CJK font once, not on
    every document (about 11 ms of each certificate)."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@cache
def _stylesheet(name: str):
    """A document's stylesheet (registration/pdf/<name>.css), parsed once per process."""
    return weasyprint.CSS(filename=str(PDF_STYLESHEETS / f"{name}.css"), font_config=_font_config())


def render_pdf(html: str, stylesheet: str = "certificate") -> bytes:
    """HTML to PDF with the document's stylesheet and the process's font configuration."""
    return weasyprint.HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(
        stylesheets=[_stylesheet(stylesheet)], font_config=_font_config()
    )


def certificate_issue(*, registration_id: int) -> Certificate:
    """Issue the current certificate of a registration; a second call returns the same one."""
    with transaction.atomic():
        registration = (
            Registration.objects.select_for_update(of=("self",)).select_related(
                "worker", "application__final_region", "region"
            )
            .get(pk=registration_id)
        )
        existing = Certificate.objects.filter(registration=registration).current().first()
        if existing is not None:
            return existing
        certificate = Certificate(registration=registration, issued_by=issuing_authority(registration))
        # Signed (PAdES, swms/signing.py) before hashing: the stored SHA-256 is that of the very bytes handed out,
        # which the upload check of /verify/ compares.
        pdf = sign_pdf(render_pdf(render_certificate_html(certificate)), reason="电子登记证书")
        certificate.sha256 = hashlib.sha256(pdf).hexdigest()
        certificate.file.save(f"{registration.registration_no}-{certificate.token[:8]}.pdf", ContentFile(pdf), save=False)
        try:
            with transaction.atomic():
                certificate.save()
        except IntegrityError:
            # Another worker issued it between our check and insert: theirs stands.
            certificate.file.delete(save=False)
            return Certificate.objects.filter(registration=registration).current().get()
        if registration.kind == RegistrationKind.REISSUE:
            # A reissued certificate revokes the worker's earlier ones (lost or damaged copies).
            Certificate.objects.filter(registration__worker=registration.worker).current().exclude(
                pk=certificate.pk
            ).update(revoked_at=timezone.now(), revoked_reason="reissued")
    return certificate


def certificate_revoke(*, certificate: Certificate, reason: str) -> Certificate:
    with transaction.atomic():
        certificate = Certificate.objects.select_for_update().get(pk=certificate.pk)
        if certificate.revoked_at is None:
            certificate.revoked_at = timezone.now()
            certificate.revoked_reason = reason[:200]
            certificate.save(update_fields=["revoked_at", "revoked_reason"])
    return certificate


def application_form_pdf(application) -> bytes:
    """The printable 社会工作者登记申请表 of an application, with its review decisions so far."""
    import base64
    import mimetypes

    from swms.workflow import review_log_for

    from .models import PracticeDomain

    worker = application.worker
    photo = ""
    if worker.photo:
        with worker.photo.open("rb") as fh:
            mime = mimetypes.guess_type(worker.photo.name)[0] or "image/jpeg"
            photo = f"data:{mime};base64," + base64.b64encode(fh.read()).decode()
    decisions = {}
    for row in review_log_for(application).select_related("actor_region"):
        if row.action in ("approve", "reject", "return"):
            region = row.actor_region.name if row.actor_region else ""
            decisions[row.step] = f"{row.get_action_display()} {row.comment} {region} {row.created_at:%Y-%m-%d}"
    with translation.override("zh-hans"):
        html = render_to_string("registration/application_form.html", {
            "application": application,
            "worker": worker,
            "photo": photo,
            "region_name": application.region.full_name(),
            "domains": [PracticeDomain(d).label for d in worker.practice_domains if d in PracticeDomain.values],
            "initial": decisions.get("initial", ""),
            "final": decisions.get("final", ""),
        })
    return render_pdf(html, "application_form")
