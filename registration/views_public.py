"""The public certificate verification page (no login): masked facts and the status only."""

from django.conf import settings
from django.core.cache import cache
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from swms.http import client_ip
from swms.pii import mask_id_number, mask_name

from .models import Certificate, CertificateLookup, Registration


def _rate_limited(ip: str | None) -> bool:
    """At most SWMS_VERIFY_RATE_PER_MINUTE lookups per address per minute (shared cache, atomic incr)."""
    key = f"verify-rate:{ip or 'unknown'}"
    cache.add(key, 0, timeout=60)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=60)
        count = 1
    return count > settings.SWMS_VERIFY_RATE_PER_MINUTE


@require_GET
@never_cache
def verify(request, token):
    ip = client_ip(request)
    if _rate_limited(ip):
        return render(request, "registration/verify.html", {"limited": True}, status=429)
    certificate = (
        Certificate.objects.select_related("registration__worker", "registration__qualification")
        .filter(token=token)
        .first()
    )
    CertificateLookup.objects.create(
        certificate=certificate, token_prefix=token[:12], ip_address=ip, found=certificate is not None
    )
    context = {"certificate": certificate}
    if certificate is not None:
        worker = certificate.registration.worker
        context.update(
            status=certificate.verification_status(),
            name=mask_name(worker.name),
            id_masked=mask_id_number(worker.id_number),
            registration=certificate.registration,
            # A cancelled registration (注销) is told apart from a certificate replaced by a newer one; both
            # show the day the certificate stopped counting.
            cancelled=certificate.registration.status == Registration.Status.REVOKED,
            revoked_on=certificate.revoked_at,
        )
    return render(request, "registration/verify.html", context, status=200 if certificate else 404)
