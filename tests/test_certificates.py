"""Electronic certificates: issued once by a task, read back as PDF, verified publicly."""

import datetime
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone

from registration import review
from registration.certificates import (
    certificate_revoke,
    qr_data_uri,
    render_certificate_html,
    verification_url,
)
from registration.models import Certificate, CertificateLookup, Registration, RegistrationWindow
from registration.tasks import issue_certificate, issue_due_certificates
from tests.registration_fixtures import submitted_application


@pytest.fixture
def approved(worker_in, alice, city_official, django_capture_on_commit_callbacks):
    worker = worker_in()
    application = submitted_application(worker)
    with django_capture_on_commit_callbacks(execute=True):
        review.application_approve(application=application, actor=alice)
        review.application_approve(application=application, actor=city_official)
    return Registration.objects.get(application=application)


def pdf_text(certificate) -> str:
    with certificate.file.open("rb") as fh:
        result = subprocess.run(["pdftotext", "-", "-"], input=fh.read(), capture_output=True, check=True)
    return result.stdout.decode()


def test_final_approval_without_window_issues_the_certificate_at_once(approved):
    certificate = Certificate.objects.get(registration=approved)
    text = pdf_text(certificate)
    assert "社会工作者登记证书" in text
    assert approved.worker.name in text and approved.registration_no in text and "助理社会工作师" in text
    assert approved.worker.id_number not in text  # masked on the document (P1)
    assert certificate.issued_by == "广州市民政局"


def test_task_run_twice_yields_one_certificate(approved, media):
    first = issue_certificate.apply(args=(approved.pk,)).get()
    second = issue_certificate.apply(args=(approved.pk,)).get()
    assert first == second
    assert Certificate.objects.filter(registration=approved).count() == 1
    assert len(list((media / "certificates").iterdir())) == 1


def test_qr_code_on_the_pdf_decodes_to_the_verification_url(approved, tmp_path):
    """Rasterize the real PDF (pdftoppm) and read the QR code back with a barcode decoder."""
    import zxingcpp
    from PIL import Image

    certificate = Certificate.objects.get(registration=approved)
    pdf = tmp_path / "c.pdf"
    with certificate.file.open("rb") as fh:
        pdf.write_bytes(fh.read())
    subprocess.run(["pdftoppm", "-png", "-r", "150", "-singlefile", str(pdf), str(tmp_path / "page")], check=True)
    decoded = [b.text for b in zxingcpp.read_barcodes(Image.open(tmp_path / "page.png"))]
    assert decoded == [verification_url(certificate.token)]


def test_qr_code_encodes_the_verification_url(approved):
    certificate = Certificate.objects.get(registration=approved)
    html = render_certificate_html(certificate)
    url = verification_url(certificate.token)
    assert url.endswith(f"/verify/{certificate.token}/")
    assert qr_data_uri(url) in html


def test_certificate_waits_for_the_window_issue_date(worker_in, alice, city_official, regions, province_official,
                                                       django_capture_on_commit_callbacks):
    today = timezone.localdate()
    RegistrationWindow.objects.create(province=regions["广东省"], name="now", opens_on=today - datetime.timedelta(days=3),
                                      closes_on=today + datetime.timedelta(days=3), created_by=province_official)
    application = submitted_application(worker_in())
    with django_capture_on_commit_callbacks(execute=True):
        review.application_approve(application=application, actor=alice)
        review.application_approve(application=application, actor=city_official)
    registration = Registration.objects.get(application=application)
    assert registration.certificate_due_on == today + datetime.timedelta(days=17)
    assert not Certificate.objects.exists()
    assert issue_due_certificates.apply().get() == 0
    Registration.objects.filter(pk=registration.pk).update(certificate_due_on=today)
    assert issue_due_certificates.apply().get() == 1
    assert Certificate.objects.filter(registration=registration).count() == 1
    assert issue_due_certificates.apply().get() == 0


def test_verification_page_shows_masked_facts_and_status(client, approved):
    certificate = Certificate.objects.get(registration=approved)
    url = reverse("verify", kwargs={"token": certificate.token})
    page = client.get(url)
    assert page.status_code == 200 and page.context["status"] == "valid"
    body = page.content.decode()
    assert approved.registration_no in body and approved.worker.id_number not in body
    certificate_revoke(certificate=certificate, reason="lost")
    assert client.get(url).context["status"] == "revoked"
    assert client.get(reverse("verify", kwargs={"token": "not-a-real-token"})).status_code == 404
    assert CertificateLookup.objects.count() == 3
    assert CertificateLookup.objects.filter(found=False).count() == 1


def test_verification_is_rate_limited(client, approved, settings):
    settings.SWMS_VERIFY_RATE_PER_MINUTE = 3
    from django.core.cache import cache

    cache.clear()
    url = reverse("verify", kwargs={"token": "whatever"})
    codes = [client.get(url).status_code for _ in range(5)]
    assert codes == [404, 404, 404, 429, 429]


def test_download_for_owner_and_officials_in_scope_only(client, approved, alice, charlie):
    certificate = Certificate.objects.get(registration=approved)
    url = reverse("registration:certificate-file", kwargs={"pk": certificate.pk})
    client.force_login(approved.worker.user)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    client.force_login(alice)
    assert client.get(url).status_code == 200
    client.force_login(charlie)
    assert client.get(url).status_code == 404
    history = None
    client.force_login(approved.worker.user)
    history = client.get(reverse("registration:history")).content.decode()
    assert url in history


def test_printable_application_form(client, worker_in, alice, charlie):
    worker = worker_in()
    application = submitted_application(worker)
    review.application_approve(application=application, actor=alice, comment="材料齐全")
    url = reverse("registration:application-form", kwargs={"pk": application.pk})
    client.force_login(worker.user)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = subprocess.run(["pdftotext", "-", "-"], input=response.content, capture_output=True, check=True).stdout
    text = text.decode()
    assert "社会工作者登记申请表" in text and worker.name in text and "材料齐全" in text
    client.force_login(charlie)
    assert client.get(url).status_code == 404


def test_replacement_revokes_the_old_certificate_and_issues_a_new_one(
    client, approved, alice, django_capture_on_commit_callbacks
):
    from registration.models import ReplacementRequest
    from registration.services import RegistrationError, replacement_submit

    old = Certificate.objects.get(registration=approved)
    worker = approved.worker
    client.force_login(worker.user)
    client.post(reverse("registration:replacement-new", kwargs={"pk": approved.pk}), {"reason": "lost"})
    replacement = ReplacementRequest.objects.get(registration=approved)
    assert replacement.final_region.name == "越秀区"
    with django_capture_on_commit_callbacks(execute=True):
        review.replacement_decide(replacement=replacement, actor=alice, action="approve")
    old.refresh_from_db()
    new = Certificate.objects.get(registration=approved, revoked_at__isnull=True)
    assert old.revoked_at is not None and new.pk != old.pk
    assert client.get(reverse("verify", kwargs={"token": old.token})).context["status"] == "revoked"
    assert client.get(reverse("verify", kwargs={"token": new.token})).context["status"] == "valid"
    with pytest.raises(RegistrationError):
        replacement_submit(worker=worker, registration=approved, reason="bogus")
