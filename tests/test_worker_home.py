"""The social worker's home (工作台): registration, certificate, CE tally, application, and the one next step."""

import datetime
import re
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from registration import services
from registration.models import (
    CERecord,
    Certificate,
    Registration,
    RegistrationWindow,
    RosterCorrectionRequest,
)
from registration.selectors import registration_state, worker_home
from swms.uploads import check_image_upload
from swms.workflow import review_approve, review_reject, review_return, review_submit
from tests.factories import RegistrationFactory, SocialWorkerFactory
from tests.registration_fixtures import THIS_YEAR, complete_profile, submitted_application
from tests.test_uploads import png_upload
from tests.today import TODAY


def home(client, worker):
    client.force_login(worker.user)
    response = client.get(reverse("reports:workbench"))
    assert response.status_code == 200
    return response


def step_of(response) -> str:
    match = re.search(r'data-testid="next-step" data-step="([a-z_]+)"', response.content.decode())
    assert match, "the home page shows no next step"
    return match.group(1)


def window(regions, official, *, opens_on, closes_on):
    return RegistrationWindow.objects.create(province=regions["广东省"], name="登记期", opens_on=opens_on,
                                             closes_on=closes_on, created_by=official)


def registered(worker, *, valid_from, level="assistant", hours=0, status=Registration.Status.VALID):
    """A registration of the worker (valid three years from `valid_from`) with CE hours done since."""
    registration = RegistrationFactory(
        worker=worker, qualification__level=level, valid_from=valid_from, status=status,
        valid_to=valid_from.replace(year=valid_from.year + 3) - datetime.timedelta(days=1),
    )
    if hours:
        CERecord.objects.create(worker=worker, source="online", hours=hours, completed_on=valid_from)
    return registration


# --- Each next step ------------------------------------------------------------------------------------


def test_account_without_profile_is_told_to_ask_the_office(client, social_worker):
    client.force_login(social_worker)
    response = client.get(reverse("reports:workbench"))
    assert response.status_code == 200
    assert step_of(response) == "no_profile"


def test_new_worker_is_asked_to_complete_the_profile(client, regions, media):
    worker = SocialWorkerFactory()
    response = home(client, worker)
    assert step_of(response) == "complete_profile"
    assert reverse("registration:profile") in response.content.decode()


def test_returned_profile_shows_the_reviewers_comment(client, regions, worker_in, alice):
    worker = worker_in()
    review_submit(worker, actor=worker.user)
    review_return(worker, actor=alice, comment="照片不清晰，请重新上传")
    response = home(client, worker)
    assert step_of(response) == "fix_profile"
    assert "照片不清晰，请重新上传" in response.content.decode()


def test_no_roster_record_leads_to_a_roster_correction(client, regions, media):
    worker = complete_profile(SocialWorkerFactory(), regions["洪桥街道"])
    response = home(client, worker)
    assert step_of(response) == "file_correction"
    assert reverse("registration:correction-new") in response.content.decode()


def _correction(worker, region):
    correction = RosterCorrectionRequest(applicant=worker.user, worker=worker, region=region, level="assistant",
                                         certificate_no="ZS-1", exam_year=THIS_YEAR - 1)
    correction.scan.save("s.png", check_image_upload(png_upload(800, 600)).content)
    return correction


def test_submitted_roster_correction_waits_for_the_county_since_its_submission(client, regions, media):
    worker = complete_profile(SocialWorkerFactory(), regions["洪桥街道"])
    correction = review_submit(_correction(worker, regions["越秀区"]), actor=worker.user)
    response = home(client, worker)
    assert step_of(response) == "wait_correction"
    assert timezone.localtime(correction.submitted_at).strftime("%Y-%m-%d %H:%M") in response.content.decode()
    assert "越秀区" in response.content.decode()


def test_returned_roster_correction_shows_the_comment(client, regions, media, alice):
    worker = complete_profile(SocialWorkerFactory(), regions["洪桥街道"])
    correction = review_submit(_correction(worker, regions["越秀区"]), actor=worker.user)
    review_return(correction, actor=alice, comment="证书编号有误")
    response = home(client, worker)
    assert step_of(response) == "fix_correction"
    assert "证书编号有误" in response.content.decode()
    assert reverse("registration:correction-edit", args=[correction.pk]) in response.content.decode()


def test_draft_roster_correction_is_to_be_submitted(client, regions, media):
    worker = complete_profile(SocialWorkerFactory(), regions["洪桥街道"])
    _correction(worker, regions["越秀区"]).save()
    assert step_of(home(client, worker)) == "submit_correction"


def test_eligible_worker_with_an_open_window_is_told_to_apply(client, regions, worker_in, province_official):
    window(regions, province_official, opens_on=TODAY - datetime.timedelta(days=3),
           closes_on=TODAY + datetime.timedelta(days=20))
    worker = worker_in()
    response = home(client, worker)
    assert step_of(response) == "apply"
    body = response.content.decode()
    assert reverse("registration:apply") in body
    assert (TODAY + datetime.timedelta(days=20)).isoformat() in body  # open until


def test_no_window_open_says_when_the_next_opens(client, regions, worker_in, province_official, alice):
    upcoming = window(regions, province_official, opens_on=TODAY + datetime.timedelta(days=10),
                      closes_on=TODAY + datetime.timedelta(days=40))
    worker = worker_in()
    review_submit(worker, actor=worker.user)
    review_approve(worker, actor=alice)
    response = home(client, worker)
    assert step_of(response) == "window_closed"
    assert upcoming.opens_on.isoformat() in response.content.decode()


def test_complete_draft_profile_is_to_be_submitted_while_no_window_is_open(client, regions, worker_in,
                                                                           province_official):
    window(regions, province_official, opens_on=TODAY + datetime.timedelta(days=10),
           closes_on=TODAY + datetime.timedelta(days=40))
    worker = worker_in()
    assert step_of(home(client, worker)) == "submit_profile"


def test_submitted_profile_waits_for_the_county(client, regions, worker_in, province_official):
    window(regions, province_official, opens_on=TODAY + datetime.timedelta(days=10),
           closes_on=TODAY + datetime.timedelta(days=40))
    worker = worker_in()
    worker = review_submit(worker, actor=worker.user)
    response = home(client, worker)
    assert step_of(response) == "wait_profile"
    assert 'data-testid="waiting-since"' in response.content.decode()
    assert "越秀区" in response.content.decode()


def test_draft_application_is_to_be_finished(client, regions, worker_in):
    worker = worker_in()
    application = services.application_start(worker=worker, kind="first")
    response = home(client, worker)
    assert step_of(response) == "continue_application"
    assert reverse("registration:application-detail", args=[application.pk]) in response.content.decode()


def test_submitted_application_waits_for_review_with_the_date(client, regions, worker_in):
    worker = worker_in()
    application = submitted_application(worker)
    response = home(client, worker)
    assert step_of(response) == "wait_application"
    body = response.content.decode()
    assert timezone.localtime(application.submitted_at).strftime("%Y-%m-%d %H:%M") in body
    assert "越秀区" in body  # where it waits


def test_returned_application_shows_the_reviewers_comment(client, regions, worker_in, alice):
    worker = worker_in()
    application = submitted_application(worker)
    review_return(application, actor=alice, comment="身份证反面照片缺失")
    response = home(client, worker)
    assert step_of(response) == "fix_application"
    assert "身份证反面照片缺失" in response.content.decode()


def test_after_a_rejection_the_worker_may_apply_again_and_sees_why(client, regions, worker_in, alice):
    worker = worker_in()
    application = submitted_application(worker)
    review_reject(application, actor=alice, comment="考试年度与证书不符")
    response = home(client, worker)
    assert step_of(response) == "apply"
    assert "考试年度与证书不符" in response.content.decode()


def test_registered_worker_short_of_hours_is_told_to_renew_before_expiry(client, regions, worker_in):
    worker = worker_in()
    registration = registered(worker, valid_from=TODAY - datetime.timedelta(days=400), hours=Decimal("30"))
    response = home(client, worker)
    assert step_of(response) == "renew_hours"
    body = response.content.decode()
    assert registration.valid_to.isoformat() in body
    assert registration.registration_no in body
    context = worker_home(user=worker.user)
    assert context["tally"]["have"] == Decimal("30") and context["tally"]["need"] == Decimal("72")
    assert context["tally"]["missing"] == Decimal("42")


def test_intermediate_level_needs_ninety_hours(regions, worker_in):
    worker = worker_in()
    registered(worker, valid_from=TODAY - datetime.timedelta(days=400), level="intermediate", hours=Decimal("80"))
    tally = worker_home(user=worker.user)["tally"]
    assert tally["need"] == Decimal("90") and tally["missing"] == Decimal("10")


def test_registered_worker_with_the_hours_renews_later(client, regions, worker_in):
    worker = worker_in()
    registration = registered(worker, valid_from=TODAY - datetime.timedelta(days=200), hours=Decimal("72"))
    assert registration.valid_to.year > TODAY.year
    response = home(client, worker)
    assert step_of(response) == "renew_later"
    assert registration.valid_to.isoformat() in response.content.decode()


def test_frozen_registration_leads_to_restore(client, regions, worker_in):
    worker = worker_in()
    registered(worker, valid_from=TODAY.replace(year=TODAY.year - 5), status=Registration.Status.FROZEN)
    response = home(client, worker)
    assert step_of(response) == "restore"
    assert 'data-testid="registration-state"' in response.content.decode()
    assert worker_home(user=worker.user)["registration"]["state"] == "frozen"


def test_expired_registration_short_of_hours_asks_for_hours_for_late_registration(client, regions, worker_in):
    worker = worker_in()
    registered(worker, valid_from=TODAY.replace(year=TODAY.year - 5), hours=Decimal("10"))
    context = worker_home(user=worker.user)
    assert context["registration"]["state"] == "expired"
    assert context["next_step"].code == "late_hours"


# --- Registration card ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("days_left", "status", "state"), [
    (400, "valid", "valid"),
    (90, "valid", "expiring"),
    (10, "valid", "expiring"),
    (-1, "valid", "expired"),
    (400, "frozen", "frozen"),
    (400, "revoked", "revoked"),
])
def test_registration_state(days_left, status, state):
    registration = Registration(valid_from=TODAY - datetime.timedelta(days=700),
                                valid_to=TODAY + datetime.timedelta(days=days_left), status=status)
    assert registration_state(registration, on_date=TODAY)[0] == state


def test_home_offers_the_current_certificate_for_download(client, regions, worker_in):
    worker = worker_in()
    registration = registered(worker, valid_from=TODAY - datetime.timedelta(days=30))
    old = Certificate(registration=registration, issued_by="广州市民政局", sha256="0", revoked_at=timezone.now())
    old.file.save("old.pdf", ContentFile(b"%PDF-1.4 old"))
    current = Certificate(registration=registration, issued_by="广州市民政局", sha256="0")
    current.file.save("c.pdf", ContentFile(b"%PDF-1.4 current"))
    body = home(client, worker).content.decode()
    url = reverse("registration:certificate-file", args=[current.pk])
    assert url in body
    assert reverse("registration:certificate-file", args=[old.pk]) not in body
    assert client.get(url).status_code == 200


def test_home_says_when_the_certificate_will_be_issued(client, regions, worker_in):
    worker = worker_in()
    registration = registered(worker, valid_from=TODAY - datetime.timedelta(days=3))
    registration.certificate_due_on = TODAY + datetime.timedelta(days=14)
    registration.save()
    body = home(client, worker).content.decode()
    assert 'data-testid="certificate-due"' in body
    assert registration.certificate_due_on.isoformat() in body


def test_home_links_the_guide_and_the_faq(client, regions, worker_in):
    body = home(client, worker_in()).content.decode()
    assert reverse("registration:guide") in body and reverse("registration:faq") in body


def test_home_reads_a_bounded_number_of_queries(client, regions, worker_in, alice, django_assert_max_num_queries):
    worker = worker_in()
    registration = registered(worker, valid_from=TODAY - datetime.timedelta(days=400), hours=Decimal("30"))
    certificate = Certificate(registration=registration, issued_by="广州市民政局", sha256="0")
    certificate.file.save("c.pdf", ContentFile(b"%PDF-1.4"))
    for day in range(5):
        CERecord.objects.create(worker=worker, source="online", hours=2, completed_on=TODAY - datetime.timedelta(days=day))
    client.force_login(worker.user)
    with django_assert_max_num_queries(24):
        response = client.get(reverse("reports:workbench"))
    assert response.status_code == 200
