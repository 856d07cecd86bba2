"""Oversight actions on a registered worker (registration/services/oversight.py): freeze, unfreeze, cancel
with its certificate revoked, and re-issue of a failed certificate. Only the city or province above acts;
each action is logged on the worker's profile and told to the worker."""

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from notices.models import Message
from registration import review
from registration.models import Certificate, Registration, SocialWorker
from registration.services import oversight
from swms.models import Action, ReviewLog
from swms.workflow import CommentRequired, ReviewNotPermitted, TransitionNotAllowed
from tests.registration_fixtures import submitted_application


@pytest.fixture
def registration(worker_in, alice, city_official, django_capture_on_commit_callbacks):
    """A 洪桥街道 (越秀区) worker registered through county and city approval, with the certificate issued."""
    application = submitted_application(worker_in("洪桥街道"))
    with django_capture_on_commit_callbacks(execute=True):
        review.application_approve(application=application, actor=alice)
        review.application_approve(application=application, actor=city_official)
    return Registration.objects.get(application=application)


def oversight_log(worker) -> list[ReviewLog]:
    return list(ReviewLog.objects.filter(
        content_type=ContentType.objects.get_for_model(SocialWorker), object_id=worker.pk,
        action__in=[Action.FREEZE, Action.UNFREEZE, Action.CANCEL],
    ).order_by("created_at", "id"))


def test_city_freezes_with_a_reason_logged_and_told_to_the_worker(registration, city_official, english,
                                                                  django_capture_on_commit_callbacks):
    worker = registration.worker
    with django_capture_on_commit_callbacks(execute=True):
        oversight.registration_freeze(registration=registration, actor=city_official, reason="未按时续期")
    registration.refresh_from_db()
    assert registration.status == Registration.Status.FROZEN
    [row] = oversight_log(worker)
    assert row.action == Action.FREEZE and row.actor == city_official and row.actor_region == city_official.region
    assert registration.registration_no in row.comment and "未按时续期" in row.comment
    message = Message.objects.filter(user=worker.user).latest("created_at")
    assert message.title == f"Your registration {registration.registration_no} was frozen"
    assert "未按时续期" in message.body and message.want_sms and message.sms_sent_at is not None
    last = registration.history.latest("history_date")
    assert last.status == "frozen" and last.history_user == city_official and "未按时续期" in last.history_change_reason


def test_a_reason_is_required(registration, city_official):
    with pytest.raises(CommentRequired):
        oversight.registration_freeze(registration=registration, actor=city_official, reason="  ")
    registration.refresh_from_db()
    assert registration.status == Registration.Status.VALID and oversight_log(registration.worker) == []


def test_the_county_sees_but_cannot_act_and_the_sibling_county_gets_404(client, registration, alice, charlie):
    with pytest.raises(ReviewNotPermitted):
        oversight.registration_freeze(registration=registration, actor=alice, reason="x")
    url = reverse("registration:registry-freeze", args=[registration.pk])
    client.force_login(alice)
    assert client.post(url, {"reason": "伪造的请求"}).status_code == 403
    client.force_login(charlie)
    assert client.post(url, {"reason": "伪造的请求"}).status_code == 404
    assert client.get(reverse("registration:registry-worker", args=[registration.worker_id])).status_code == 404
    registration.refresh_from_db()
    assert registration.status == Registration.Status.VALID and oversight_log(registration.worker) == []


def test_a_city_cannot_act_on_another_citys_worker(registration, regions):
    from tests.conftest import make_user

    shenzhen = make_user("sz_city", "official", regions["深圳市"])
    with pytest.raises(ReviewNotPermitted):
        oversight.registration_cancel(registration=registration, actor=shenzhen, reason="x")


def test_province_unfreezes_a_frozen_registration_only(registration, city_official, province_official):
    with pytest.raises(TransitionNotAllowed):
        oversight.registration_unfreeze(registration=registration, actor=province_official, reason="误操作")
    oversight.registration_freeze(registration=registration, actor=city_official, reason="未按时续期")
    with pytest.raises(TransitionNotAllowed):
        oversight.registration_freeze(registration=registration, actor=city_official, reason="again")
    oversight.registration_unfreeze(registration=registration, actor=province_official, reason="已完成继续教育")
    registration.refresh_from_db()
    assert registration.status == Registration.Status.VALID
    assert [r.action for r in oversight_log(registration.worker)] == [Action.FREEZE, Action.UNFREEZE]


def test_cancel_revokes_the_certificate_and_the_verification_page_says_so_with_the_date(
    client, registration, city_official, english
):
    certificate = registration.certificates.get()
    oversight.registration_cancel(registration=registration, actor=city_official, reason="以欺骗手段取得登记")
    registration.refresh_from_db()
    certificate.refresh_from_db()
    assert registration.status == Registration.Status.REVOKED
    assert certificate.revoked_at is not None and certificate.revoked_reason == "以欺骗手段取得登记"
    assert not Certificate.objects.filter(registration=registration).current().exists()
    [row] = oversight_log(registration.worker)
    assert row.action == Action.CANCEL
    assert Message.objects.filter(user=registration.worker.user,
                                  title=f"Your registration {registration.registration_no} was cancelled").exists()
    page = client.get(reverse("verify", args=[certificate.token])).content.decode()
    day = timezone.localtime(certificate.revoked_at).date().isoformat()
    assert f"This registration has been cancelled (on {day})" in page
    with pytest.raises(TransitionNotAllowed):
        oversight.registration_cancel(registration=registration, actor=city_official, reason="again")


def test_actions_through_the_file_page(client, registration, city_official, english):
    client.force_login(city_official)
    worker_url = reverse("registration:registry-worker", args=[registration.worker_id])
    response = client.post(reverse("registration:registry-freeze", args=[registration.pk]), {"reason": ""})
    assert response.status_code == 302 and response["Location"] == worker_url
    registration.refresh_from_db()
    assert registration.status == Registration.Status.VALID  # refused: no reason
    client.post(reverse("registration:registry-freeze", args=[registration.pk]), {"reason": "未按时续期"})
    registration.refresh_from_db()
    assert registration.status == Registration.Status.FROZEN
    page = client.get(worker_url).content.decode()
    assert 'data-testid="unfreeze-form"' in page and "未按时续期" in page  # the log row on the file
    assert client.get(reverse("registration:registry-freeze", args=[registration.pk])).status_code == 405


def test_worker_sees_the_freeze_in_the_inbox(client, registration, city_official, english):
    oversight.registration_freeze(registration=registration, actor=city_official, reason="未按时续期")
    client.force_login(registration.worker.user)
    page = client.get(reverse("notices:inbox")).content.decode()
    assert f"Your registration {registration.registration_no} was frozen" in page


# --- Re-issue of a failed certificate -------------------------------------------------------------------


def test_reissue_replaces_a_certificate_whose_pdf_is_missing(client, registration, city_official, alice,
                                                             django_capture_on_commit_callbacks):
    broken = registration.certificates.get()
    broken.file.storage.delete(broken.file.name)
    client.force_login(city_official)
    listing = client.get(reverse("registration:certificate-list"))
    assert 'data-testid="file-missing"' in listing.content.decode()
    url = reverse("registration:certificate-reissue", args=[registration.pk])
    client.force_login(alice)
    assert client.post(url).status_code == 403  # the county sees the list, the city re-issues
    client.force_login(city_official)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url).status_code == 302
    broken.refresh_from_db()
    fresh = Certificate.objects.filter(registration=registration).current().get()
    assert broken.revoked_at is not None and fresh.pk != broken.pk and fresh.file.size > 0
    # Idempotent: a second click finds a healthy certificate and queues nothing.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert oversight.certificate_reissue(registration=registration, actor=city_official) is False
    assert callbacks == [] and registration.certificates.count() == 2


def test_reissue_issues_a_due_certificate_that_never_was(registration, city_official, client,
                                                         django_capture_on_commit_callbacks):
    Certificate.objects.filter(registration=registration).delete()  # as if the issue task had failed
    client.force_login(city_official)
    page = client.get(reverse("registration:certificate-list")).content.decode()
    assert 'data-testid="not-issued"' in page and registration.registration_no in page
    with django_capture_on_commit_callbacks(execute=True):
        assert oversight.certificate_reissue(registration=registration, actor=city_official) is True
        # Clicked twice before the task ran: the task itself is idempotent, one certificate results.
        assert oversight.certificate_reissue(registration=registration, actor=city_official) is True
    assert Certificate.objects.filter(registration=registration).count() == 1


def test_review_log_shows_no_state_change_for_an_oversight_row(client, regions):
    from django.template.loader import render_to_string

    from swms.models import ReviewLog

    row = ReviewLog(action="freeze", from_state="approved", to_state="approved", comment="R1：原因")
    html = render_to_string("includes/review_log.html", {"log": [row]})
    assert "→" not in html and "R1：原因" in html
