"""A registration application's life as the worker lives it: rejected and withdrawn applications are
closed (a new one may start), withdrawing, the one-form materials with the profile photo reused, the
submit that names everything still missing, and the approval message that leads to the certificate."""

import datetime
import hashlib

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from notices.models import Message
from registration import review, services
from registration.models import ApplicationMaterial, MaterialKind, RegistrationApplication
from swms.uploads import check_image_upload
from swms.workflow import ReviewNotPermitted, State, review_log_for
from tests.factories import CERecordFactory, RegistrationFactory, SocialWorkerFactory
from tests.registration_fixtures import THIS_YEAR, submitted_application
from tests.test_uploads import png_upload


def _messages(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def _returned(worker, alice):
    application = submitted_application(worker)
    return review.application_return(application=application, actor=alice, comment="身份证照片不清晰")


# --- Rejected applications are closed ----------------------------------------------------------------


def test_after_a_rejection_the_worker_can_start_a_new_application(worker_in, alice):
    worker = worker_in()
    rejected = submitted_application(worker)
    review.application_reject(application=rejected, actor=alice, comment="材料不符")
    assert not RegistrationApplication.objects.filter(worker=worker).open().exists()

    fresh = services.application_start(worker=worker, kind="first")

    rejected.refresh_from_db()
    assert rejected.status == State.REJECTED  # stays rejected, now merely closed
    assert fresh.status == State.DRAFT and fresh.pk != rejected.pk
    assert list(RegistrationApplication.objects.filter(worker=worker).open()) == [fresh]


def test_a_rejected_application_is_final(worker_in, alice):
    worker = worker_in()
    application = submitted_application(worker)
    review.application_reject(application=application, actor=alice, comment="材料不符")
    assert not application.is_editable
    with pytest.raises(services.RegistrationError):
        services.application_submit(application=application, actor=worker.user, pledge=True)
    with pytest.raises(services.RegistrationError):
        services.application_withdraw(application=application, actor=worker.user)
    application.refresh_from_db()
    assert application.status == State.REJECTED


def test_the_rejected_page_shows_the_reason_and_the_way_to_a_new_application(client, worker_in, alice):
    worker = worker_in()
    application = submitted_application(worker)
    review.application_reject(application=application, actor=alice, comment="材料不符")
    client.force_login(worker.user)
    page = client.get(reverse("registration:application-detail", kwargs={"pk": application.pk})).content.decode()
    assert "材料不符" in page and reverse("registration:apply") in page
    assert reverse("registration:application-submit", kwargs={"pk": application.pk}) not in page
    apply_page = client.get(reverse("registration:apply"))
    assert apply_page.context["open_application"] is None


# --- Withdrawing ----------------------------------------------------------------------------------------


def test_worker_withdraws_a_draft_and_starts_again(client, worker_in):
    worker = worker_in()
    draft = services.application_start(worker=worker, kind="first")
    client.force_login(worker.user)
    response = client.post(reverse("registration:application-withdraw", kwargs={"pk": draft.pk}))
    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == State.WITHDRAWN and not draft.is_editable
    row = review_log_for(draft).get()
    assert (row.action, row.from_state, row.to_state, row.actor) == ("withdraw", "draft", "withdrawn", worker.user)
    assert services.application_start(worker=worker, kind="first").status == State.DRAFT


def test_worker_withdraws_a_returned_application(worker_in, alice):
    worker = worker_in()
    application = _returned(worker, alice)
    services.application_withdraw(application=application, actor=worker.user)
    application.refresh_from_db()
    assert application.status == State.WITHDRAWN
    assert [r.action for r in review_log_for(application)] == ["submit", "return", "withdraw"]
    assert not RegistrationApplication.objects.filter(worker=worker).open().exists()


@pytest.mark.parametrize("county_approved", [False, True])
def test_a_submitted_application_cannot_be_withdrawn(client, worker_in, alice, county_approved):
    worker = worker_in()
    application = submitted_application(worker)
    if county_approved:
        review.application_approve(application=application, actor=alice)
    with pytest.raises(services.RegistrationError):
        services.application_withdraw(application=application, actor=worker.user)
    client.force_login(worker.user)
    client.post(reverse("registration:application-withdraw", kwargs={"pk": application.pk}))
    application.refresh_from_db()
    assert application.status == (State.COUNTY_APPROVED if county_approved else State.SUBMITTED)
    page = client.get(reverse("registration:application-detail", kwargs={"pk": application.pk})).content.decode()
    assert reverse("registration:application-withdraw", kwargs={"pk": application.pk}) not in page


def test_only_the_applicant_withdraws(client, worker_in):
    worker = worker_in()
    draft = services.application_start(worker=worker, kind="first")
    other = SocialWorkerFactory()
    with pytest.raises(ReviewNotPermitted):
        services.application_withdraw(application=draft, actor=other.user)
    client.force_login(other.user)
    assert client.post(reverse("registration:application-withdraw", kwargs={"pk": draft.pk})).status_code == 404
    draft.refresh_from_db()
    assert draft.status == State.DRAFT


def test_withdraw_asks_for_confirmation_and_the_pages_show_the_withdrawn_state(client, worker_in):
    worker = worker_in()
    draft = services.application_start(worker=worker, kind="first")
    client.force_login(worker.user)
    url = reverse("registration:application-withdraw", kwargs={"pk": draft.pk})
    page = client.get(reverse("registration:application-detail", kwargs={"pk": draft.pk})).content.decode()
    form_tag = page[page.rindex("<form", 0, page.index(f'action="{url}"')):].split(">", 1)[0]
    assert "data-confirm=" in form_tag  # on the <form>, where swms.js looks
    client.post(url)
    withdrawn = str(State.WITHDRAWN.label)
    detail = client.get(reverse("registration:application-detail", kwargs={"pk": draft.pk})).content.decode()
    assert withdrawn in detail and url not in detail
    assert reverse("registration:application-material", kwargs={"pk": draft.pk}) not in detail
    history = client.get(reverse("registration:history")).content.decode()
    assert withdrawn in history


# --- The database keeps one open application per worker -----------------------------------------------


def test_database_allows_one_open_application_besides_closed_ones(worker_in, alice):
    worker = worker_in()
    application = submitted_application(worker)

    def another():
        with transaction.atomic():
            return RegistrationApplication.objects.create(
                applicant=worker.user, worker=worker, kind="first", qualification=application.qualification,
                region=worker.work_region, pickup="mail",
            )

    with pytest.raises(IntegrityError):
        another()  # beside a submitted one
    review.application_reject(application=application, actor=alice, comment="材料不符")
    draft = another()  # a rejected one does not count
    with pytest.raises(IntegrityError):
        another()  # but two drafts do
    services.application_withdraw(application=draft, actor=worker.user)
    another()  # nor does a withdrawn one
    assert RegistrationApplication.objects.filter(worker=worker).count() == 3


# --- Materials: one form, the profile photo reused --------------------------------------------------


def test_the_profile_photo_is_the_application_photo(client, worker_in):
    worker = worker_in()
    application = services.application_start(worker=worker, kind="first")
    photo = application.materials.get(kind=MaterialKind.PHOTO)
    profile_bytes = worker.photo.open("rb").read()
    assert photo.attached_by_system and photo.sha256 == hashlib.sha256(profile_bytes).hexdigest()
    assert photo.file.name != worker.photo.name  # a copy: a later profile change leaves it alone
    client.force_login(worker.user)
    response = client.get(reverse("registration:application-detail", kwargs={"pk": application.pk}))
    slots = {slot.kind: (slot, field) for slot, field in response.context["slots"]}
    assert slots["photo"][0].state == "from_profile" and slots["photo"][1] is None
    assert 'name="photo"' not in response.content.decode()
    assert {"id_front", "id_back", "qualification"} <= {k for k, (_s, field) in slots.items() if field is not None}


def test_submit_takes_the_profile_photo_as_it_is_then(worker_in):
    worker = worker_in()
    application = services.application_start(worker=worker, kind="first")
    newer = check_image_upload(png_upload(826, 1252))
    services.profile_save(worker=worker, data={}, photo=newer)
    for kind in ("id_front", "id_back", "qualification"):
        services.application_material_attach(application=application, kind=kind,
                                             image=check_image_upload(png_upload(800, 500)))
    services.application_submit(application=application, actor=worker.user, pledge=True)
    photo = application.materials.get(kind=MaterialKind.PHOTO)
    assert photo.sha256 == newer.sha256 and photo.width == 826


def test_all_materials_upload_in_one_post(client, worker_in):
    worker = worker_in()
    application = services.application_start(worker=worker, kind="first")
    client.force_login(worker.user)
    response = client.post(reverse("registration:application-material", kwargs={"pk": application.pk}), {
        "id_front": png_upload(856, 540, name="front.png"),
        "id_back": png_upload(856, 540, name="back.png"),
        "qualification": png_upload(800, 600, name="cert.png"),
    })
    assert response.status_code == 302
    kinds = set(application.materials.values_list("kind", flat=True))
    assert kinds == {"photo", "id_front", "id_back", "qualification"}
    detail = client.get(reverse("registration:application-detail", kwargs={"pk": application.pk}))
    states = {slot.kind: slot.state for slot, _field in detail.context["slots"]}
    assert states == {"photo": "from_profile", "id_front": "uploaded", "id_back": "uploaded",
                      "qualification": "uploaded"}
    page = detail.content.decode()
    for material in application.materials.exclude(kind="photo"):
        assert reverse("registration:material-file", kwargs={"pk": material.pk}) in page


def test_a_bad_file_in_the_batch_keeps_the_good_ones_and_what_was_saved(client, worker_in):
    worker = worker_in()
    application = services.application_start(worker=worker, kind="first")
    services.application_material_attach(application=application, kind="qualification",
                                         image=check_image_upload(png_upload(800, 600)))
    saved = application.materials.get(kind="qualification")
    client.force_login(worker.user)
    response = client.post(reverse("registration:application-material", kwargs={"pk": application.pk}), {
        "id_front": png_upload(856, 540, name="front.png"),
        "qualification": SimpleUploadedFile("cert.jpg", b"<html>not an image</html>", content_type="image/jpeg"),
    })
    assert application.materials.get(kind="qualification").pk == saved.pk  # not replaced by the bad one
    assert saved.file.storage.exists(saved.file.name)
    assert application.materials.filter(kind="id_front").exists()
    errors = [m for m in _messages(response) if str(MaterialKind.QUALIFICATION.label) in m]
    assert len(errors) == 1
    assert gettext(
        "This file is not a readable JPEG or PNG image (it is checked by its content, not its name)."
    ) in errors[0]


def test_replacing_a_material_removes_the_old_file_after_commit(worker_in, django_capture_on_commit_callbacks):
    worker = worker_in()
    application = services.application_start(worker=worker, kind="first")
    first = services.application_material_attach(application=application, kind="id_front",
                                                 image=check_image_upload(png_upload(856, 540)))
    with django_capture_on_commit_callbacks(execute=True):
        second = services.application_material_attach(application=application, kind="id_front",
                                                      image=check_image_upload(png_upload(800, 500)))
    assert not first.file.storage.exists(first.file.name)
    assert second.file.storage.exists(second.file.name)
    assert ApplicationMaterial.objects.filter(application=application, kind="id_front").get().pk == second.pk


def test_submit_with_nothing_uploaded_names_every_missing_item(client, worker_in):
    worker = worker_in()
    application = services.application_start(worker=worker, kind="first")
    client.force_login(worker.user)
    response = client.post(reverse("registration:application-submit", kwargs={"pk": application.pk}), {})
    errors = _messages(response)
    assert len(errors) == 1
    for label in (MaterialKind.ID_FRONT.label, MaterialKind.ID_BACK.label, MaterialKind.QUALIFICATION.label):
        assert str(label) in errors[0]
    assert gettext("confirm the pledge that the information is true and valid") in errors[0]
    assert str(MaterialKind.PHOTO.label) not in errors[0]  # the profile photo is already there
    application.refresh_from_db()
    assert application.status == State.DRAFT


def test_renewal_materials_the_system_already_has_are_not_needed(client, worker_in):
    worker = worker_in()
    RegistrationFactory(worker=worker, valid_from=datetime.date(THIS_YEAR - 3, 12, 31))  # expires this year
    CERecordFactory(worker=worker, hours=90, completed_on=timezone.localdate() - datetime.timedelta(days=1))
    application = services.application_start(worker=worker, kind="renewal")
    client.force_login(worker.user)
    detail = client.get(reverse("registration:application-detail", kwargs={"pk": application.pk}))
    slots = {slot.kind: (slot.state, field) for slot, field in detail.context["slots"]}
    assert slots["last_registration"] == ("not_needed", None)
    assert slots["ce_proof"] == ("not_needed", None)
    assert slots["id_front"][0] == "missing" and slots["id_front"][1] is not None


# --- The approval message leads to the certificate -------------------------------------------------


def test_the_approval_message_links_to_the_certificate(client, worker_in, alice, city_official, settings,
                                                        mailoutbox, django_capture_on_commit_callbacks):
    settings.SWMS_PUBLIC_BASE_URL = "https://swms.example.gov.cn"
    worker = worker_in()
    application = submitted_application(worker)
    review.application_approve(application=application, actor=alice)
    with django_capture_on_commit_callbacks(execute=True):
        review.application_approve(application=application, actor=city_official)
    message = Message.objects.filter(user=worker.user).latest("created_at")
    certificates = reverse("registration:history") + "#certificates"
    assert message.link == certificates
    assert "https://swms.example.gov.cn" + certificates in message.body
    assert "https://swms.example.gov.cn" + certificates in mailoutbox[-1].body
    client.force_login(worker.user)
    assert client.get(reverse("notices:message", kwargs={"pk": message.pk})).context["safe_link"] == certificates
    history = client.get(reverse("registration:history")).content.decode()
    assert 'id="certificates"' in history
    certificate = application.registration.certificates.get()
    assert reverse("registration:certificate-file", kwargs={"pk": certificate.pk}) in history
