"""Certificate integrity (SECURITY.md P3): every certificate PDF carries a PAdES signature made with the configured
key, its SHA-256 (of the signed bytes) is stored at issue and shown on /verify/, and anyone can upload a PDF to
/verify/ to learn whether it is an unaltered certificate of this system."""

import datetime
import hashlib
import subprocess
import sys
import time
from io import BytesIO
from pathlib import Path

import pytest
import weasyprint
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from pyhanko.keys import load_cert_from_pemder
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from registration.certificates import certificate_issue, certificate_revoke
from registration.models import CertificateLookup
from swms import signing
from tests.factories import RegistrationFactory

pytestmark = pytest.mark.usefixtures("english")  # messages asserted in their English source

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def issued(regions, media):
    registration = RegistrationFactory(worker__work_region=regions["洪桥街道"],
                                       valid_from=datetime.date.today() - datetime.timedelta(days=30))
    return certificate_issue(registration_id=registration.pk)


def pdf_bytes(certificate) -> bytes:
    with certificate.file.open("rb") as fh:
        return fh.read()


def test_issued_certificate_carries_a_valid_pades_signature(issued, media):
    data = pdf_bytes(issued)
    assert issued.sha256 == hashlib.sha256(data).hexdigest()  # the hash of the final, signed bytes
    key_file, cert_file, _ = signing.key_files()
    root = load_cert_from_pemder(str(cert_file))
    reader = PdfFileReader(BytesIO(data))
    assert len(reader.embedded_signatures) == 1
    embedded = reader.embedded_signatures[0]
    assert "/ETSI.CAdES.detached" in str(embedded.sig_object["/SubFilter"])  # PAdES
    status = validate_pdf_signature(embedded, ValidationContext(trust_roots=[root], allow_fetching=False))
    assert status.intact and status.valid and status.trusted and status.bottom_line
    assert status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    # The signature is made with the configured pair: another self-signed root does not validate it.
    other = load_cert_from_pemder(str(signing.make_dev_key(media / "other-pair") / signing.DEV_CERT))
    assert not validate_pdf_signature(embedded, ValidationContext(trust_roots=[other], allow_fetching=False)).trusted
    # Still a readable Chinese document.
    text = subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True).stdout.decode()
    assert "社会工作者登记证书" in text and issued.registration.registration_no in text


def test_signing_uses_the_configured_key_files(settings, media, regions):
    folder = signing.make_dev_key(media / "configured")
    settings.SWMS_SIGNING_KEY_FILE = str(folder / signing.DEV_KEY)
    settings.SWMS_SIGNING_CERT_FILE = str(folder / signing.DEV_CERT)
    certificate = certificate_issue(registration_id=RegistrationFactory(worker__work_region=regions["洪桥街道"]).pk)
    check = signing.check_signature(pdf_bytes(certificate))
    assert check.valid
    assert signing.signing_certificate().dump() == load_cert_from_pemder(str(folder / signing.DEV_CERT)).dump()


def test_verification_page_shows_the_sha256(client, issued):
    page = client.get(reverse("verify", kwargs={"token": issued.token}))
    assert page.status_code == 200
    assert f'data-testid="certificate-sha256">{issued.sha256}<' in page.content.decode()


def _upload(client, data: bytes, name="certificate.pdf"):
    return client.post(reverse("verify-upload"), {"file": SimpleUploadedFile(name, data, "application/pdf")})


def test_upload_of_the_genuine_pdf_says_genuine(client, issued, media):
    files_before = sorted(p for p in Path(media).rglob("*") if p.is_file())
    page = client.get(reverse("verify-upload"))
    assert page.status_code == 200
    response = _upload(client, pdf_bytes(issued))
    assert response.status_code == 200
    result = response.context["result"]
    assert result["verdict"] == "genuine" and result["certificate"] == issued and result["status"] == "valid"
    assert result["signature"].valid
    body = response.content.decode()
    assert 'data-verdict="genuine"' in body and issued.registration.registration_no in body
    assert issued.registration.worker.id_number not in body
    # Checked in memory: nothing written under the media root; the check is logged like a lookup.
    assert sorted(p for p in Path(media).rglob("*") if p.is_file()) == files_before
    assert CertificateLookup.objects.filter(token_prefix="upload", certificate=issued, found=True).count() == 1
    # A revoked certificate is still recognised as ours, with its status.
    certificate_revoke(certificate=issued, reason="reissued")
    result = _upload(client, pdf_bytes(issued)).context["result"]
    assert result["verdict"] == "genuine" and result["status"] == "revoked" and result["superseded"]


def test_upload_of_a_pdf_with_one_byte_flipped_says_not_genuine(client, issued):
    data = bytearray(pdf_bytes(issued))
    position = data.index(b"/Type /Page") if b"/Type /Page" in data else len(data) // 3
    data[position + 1] ^= 0x01  # inside the signed byte range
    response = _upload(client, bytes(data))
    assert response.status_code == 200
    result = response.context["result"]
    assert result["verdict"] == "altered" and result["certificate"] is None
    assert result["signature"].signed and not result["signature"].valid
    assert 'data-verdict="altered"' in response.content.decode()


def test_upload_of_a_random_pdf_says_unknown(client, issued):
    data = weasyprint.HTML(string="<p>社会工作者登记证书</p>").write_pdf()
    result = _upload(client, data).context["result"]
    assert result["verdict"] == "unknown" and not result["signature"].signed


def test_upload_of_a_non_pdf_is_refused_with_a_clear_message(client, db):
    response = _upload(client, b"PK\x03\x04 not a pdf at all", name="certificate.pdf")
    assert response.status_code == 400
    assert "not a PDF" in str(response.context["error"])
    response = _upload(client, b"%PDF-1.7\n garbage without any structure")
    assert response.status_code == 400 and "could not be read" in str(response.context["error"])


def test_upload_size_cap_csrf_and_rate_limit(client, db, settings):
    settings.SWMS_VERIFY_UPLOAD_MAX_BYTES = 1000
    response = _upload(client, b"%PDF-1.7\n" + b"0" * 5000)
    assert response.status_code == 400 and "larger than" in str(response.context["error"])
    strict = Client(enforce_csrf_checks=True, HTTP_ACCEPT_LANGUAGE="en")
    assert strict.post(reverse("verify-upload"), {"file": SimpleUploadedFile("a.pdf", b"%PDF-")}).status_code == 403
    settings.SWMS_VERIFY_RATE_PER_MINUTE = 2
    codes = [_upload(client, b"%PDF-1.7\n").status_code for _ in range(3)]
    assert codes[-1] == 429


def test_signing_time_is_small(issued):
    """Signing adds tens of milliseconds to a certificate (WeasyPrint's rendering dominates)."""
    data = weasyprint.HTML(string="<p>社会工作者登记证书</p>").write_pdf()
    signing.sign_pdf(data)
    start = time.perf_counter()
    for _ in range(5):
        signing.sign_pdf(data)
    per_pdf = (time.perf_counter() - start) / 5
    print(f"PAdES signing: {per_pdf * 1000:.1f} ms per certificate")
    assert per_pdf < 1.0


def test_production_requires_the_signing_key():
    from tests.test_security_headers import _prod_env

    env = _prod_env()
    env.pop("SWMS_SIGNING_KEY_FILE")
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "SWMS_SIGNING_KEY_FILE" in result.stderr
