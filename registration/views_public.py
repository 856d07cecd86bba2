"""The public certificate verification page (no login): masked facts and the status only."""

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.core.files.uploadhandler import MemoryFileUploadHandler
from django.http import HttpResponseNotAllowed
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
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
            sha256=certificate.sha256,
        )
    return render(request, "registration/verify.html", context, status=200 if certificate else 404)


class VerifyUploadForm(forms.Form):
    file = forms.FileField(label=_("Certificate PDF"))


def _check_upload(data: bytes) -> dict:
    """What the public upload check says about a file: a certificate of ours (by SHA-256), and its signature."""
    import hashlib

    from swms.signing import check_signature

    digest = hashlib.sha256(data).hexdigest()
    certificate = (
        Certificate.objects.select_related("registration__worker").filter(sha256=digest).first()
    )
    try:
        signature = check_signature(data)
    except ValueError:
        return {"error": _("The file could not be read as a PDF.")}
    result = {"sha256": digest, "signature": signature, "certificate": certificate}
    if certificate is not None:
        result.update(
            verdict="genuine",
            status=certificate.verification_status(),
            superseded=certificate.revoked_reason == "reissued",
            name=mask_name(certificate.registration.worker.name),
            registration=certificate.registration,
        )
    elif signature.signed and not (signature.intact and signature.covers_whole_file):
        result["verdict"] = "altered"
    else:
        result["verdict"] = "unknown"
    return result


@csrf_exempt  # checked below, after the upload handlers are set to memory only
def verify_upload(request):
    """Upload-to-verify (P3): anyone uploads a PDF; the page says whether it is a certificate this system issued,
    unaltered (its SHA-256 is on record), with its status, and whether its PAdES signature validates. The file is
    read in memory, never stored; the verification page's per-address rate limit applies."""
    if request.method not in ("GET", "POST"):
        return HttpResponseNotAllowed(["GET", "POST"])
    request.upload_handlers = [MemoryFileUploadHandler(request)]
    return _verify_upload(request)


@csrf_protect
@never_cache
def _verify_upload(request):
    limit = settings.SWMS_VERIFY_UPLOAD_MAX_BYTES
    context = {"form": VerifyUploadForm(), "max_mb": f"{limit / 2**20:g}"}
    if request.method == "GET":
        return render(request, "registration/verify_upload.html", context)
    ip = client_ip(request)
    if _rate_limited(ip):
        context["limited"] = True
        return render(request, "registration/verify_upload.html", context, status=429)
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit + 64 * 1024:
        context["error"] = _("The file is larger than %(size)s MB: a certificate is much smaller.") % {
            "size": context["max_mb"]}
        return render(request, "registration/verify_upload.html", context, status=400)
    form = VerifyUploadForm(request.POST, request.FILES)
    context["form"] = form
    if not form.is_valid():
        return render(request, "registration/verify_upload.html", context, status=400)
    upload = form.cleaned_data["file"]
    if upload.size > limit:
        context["error"] = _("The file is larger than %(size)s MB: a certificate is much smaller.") % {
            "size": context["max_mb"]}
        return render(request, "registration/verify_upload.html", context, status=400)
    data = upload.read()
    if not data.startswith(b"%PDF-"):
        context["error"] = _("The file is not a PDF. Upload the certificate's PDF file as it was downloaded.")
        return render(request, "registration/verify_upload.html", context, status=400)
    result = _check_upload(data)
    if "error" in result:
        context["error"] = result["error"]
        return render(request, "registration/verify_upload.html", context, status=400)
    CertificateLookup.objects.create(
        certificate=result["certificate"], token_prefix="upload", ip_address=ip,
        found=result["verdict"] == "genuine",
    )
    context["result"] = result
    return render(request, "registration/verify_upload.html", context)
