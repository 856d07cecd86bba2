"""Registration from sign-up to approval: services, review chain, locks, messages, scoping."""

import datetime
from decimal import Decimal

import pytest
from captcha.models import CaptchaStore
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from notices.models import Message
from registration import review, services
from registration.models import (
    ApplicationMaterial,
    Qualification,
    Registration,
    RegistrationApplication,
    RegistrationWindow,
    SocialWorker,
)
from swms import sms
from swms.uploads import check_image_upload
from swms.workflow import (
    CommentRequired,
    ReviewNotPermitted,
    SelfReviewRefused,
    State,
    TransitionNotAllowed,
    review_log_for,
)
from tests.conftest import make_user
from tests.factories import QualificationFactory, SocialWorkerFactory, make_id_number
from tests.registration_fixtures import THIS_YEAR, complete_profile, submitted_application
from tests.test_uploads import png_upload

# --- Sign-up -------------------------------------------------------------------------------------


def signup_post(client, id_number, name="随便", mobile="13911112222"):
    return client.post(reverse("registration:signup"), {
        "id_number": id_number, "name": name, "mobile": mobile, "email": "new@example.com",
        "password1": "Gz#Social2026", "password2": "Gz#Social2026",
        "captcha_0": CaptchaStore.generate_key(), "captcha_1": "PASSED",
    })


def test_signup_with_roster_record_takes_and_locks_the_name(client, db):
    id_number = make_id_number()
    Qualification.objects.create(id_number=id_number, name="王芳", level="assistant", certificate_no="C1",
                                 exam_year=THIS_YEAR - 1)
    response = signup_post(client, id_number.lower(), name="王方")
    assert response.status_code == 302 and response["Location"] == reverse("registration:profile")
    worker = SocialWorker.objects.get(id_number=id_number)
    assert worker.name == "王芳" and worker.roster_locked and worker.user.kind == "social_worker"
    assert worker.birth_date == datetime.date(1990, 1, 1)
    page = client.get(reverse("registration:profile"))
    assert "C1" in page.content.decode()


def test_signup_without_roster_record_is_offered_the_correction_request(client, db):
    response = signup_post(client, make_id_number())
    assert response.status_code == 302
    page = client.get(reverse("registration:profile")).content.decode()
    assert reverse("registration:correction-new") in page


def test_signup_refuses_a_second_account_for_the_same_id(client, db):
    id_number = make_id_number()
    signup_post(client, id_number)
    client.logout()
    response = signup_post(client, id_number, mobile="13933334444")
    assert response.status_code == 200
    assert User.objects.filter(id_number=id_number).count() == 1


# --- Profile ---------------------------------------------------------------------------------------


def test_profile_submit_lists_missing_fields_then_locks(client, regions, media):
    worker = SocialWorkerFactory()
    with pytest.raises(services.RegistrationError):
        services.profile_submit(worker=worker, actor=worker.user)
    complete_profile(worker, regions["洪桥街道"])
    services.profile_submit(worker=worker, actor=worker.user)
    assert worker.status == State.SUBMITTED and worker.initial_region is None
    assert worker.final_region == regions["越秀区"]  # the county checks profiles
    client.force_login(worker.user)
    client.post(reverse("registration:profile"), {"employer": "另一个单位", "status": "approved"})
    worker.refresh_from_db()
    assert worker.employer == "阳光社工中心" and worker.status == State.SUBMITTED
    # Contact information changes at any time, and only contact fields change.
    client.post(reverse("registration:contact"), {
        "address": "新地址", "postcode": "510001", "mobile": "13800000009", "office_phone": "", "email": "n@e.com",
        "qq": "", "employer": "不该改", "status": "draft", "work_region": regions["沙面街道"].pk,
    })
    worker.refresh_from_db()
    assert worker.address == "新地址" and worker.employer == "阳光社工中心"
    assert worker.status == State.SUBMITTED and worker.work_region == regions["洪桥街道"]


# --- Applications ----------------------------------------------------------------------------------


def test_apply_page_offers_only_allowed_kinds_with_reasons(client, worker_in):
    worker = worker_in()
    client.force_login(worker.user)
    decisions = {d.kind: d for d in client.get(reverse("registration:apply")).context["decisions"]}
    assert decisions["first"].allowed
    assert not decisions["renewal"].allowed and decisions["renewal"].reason


def test_one_open_application_per_person(worker_in):
    worker = worker_in()
    services.application_start(worker=worker, kind="first")
    with pytest.raises(services.RegistrationError):
        services.application_start(worker=worker, kind="first")
    assert RegistrationApplication.objects.filter(worker=worker).count() == 1


def test_submit_needs_pledge_and_materials(worker_in):
    worker = worker_in()
    application = services.application_start(worker=worker, kind="first")
    with pytest.raises(services.RegistrationError, match="pledge|承诺"):
        services.application_submit(application=application, actor=worker.user, pledge=False)
    with pytest.raises(services.RegistrationError):
        services.application_submit(application=application, actor=worker.user, pledge=True)
    application.refresh_from_db()
    assert application.status == State.DRAFT


def test_submit_locks_application_and_profile(client, worker_in):
    worker = worker_in()
    application = submitted_application(worker)
    worker.refresh_from_db()
    assert application.status == State.SUBMITTED and worker.status == State.SUBMITTED
    assert application.pledge and application.pledged_at
    with pytest.raises(services.RegistrationError):
        services.application_material_attach(
            application=application, kind="photo", image=check_image_upload(png_upload(413, 626))
        )
    client.force_login(worker.user)
    client.post(reverse("registration:application-detail", kwargs={"pk": application.pk}),
                {"pickup": "electronic", "mailing_address": ""})
    application.refresh_from_db()
    assert application.pickup == "mail"


def test_submit_refused_while_the_window_is_closed(worker_in, regions, province_official):
    worker = worker_in()
    application = services.application_start(worker=worker, kind="first")
    RegistrationWindow.objects.create(province=regions["广东省"], name="past", opens_on=datetime.date(2020, 1, 1),
                                      closes_on=datetime.date(2020, 1, 31), created_by=province_official)
    for kind in ("photo", "id_front", "id_back", "qualification"):
        services.application_material_attach(application=application, kind=kind,
                                             image=check_image_upload(png_upload(413, 626)))
    with pytest.raises(services.RegistrationError):
        services.application_submit(application=application, actor=worker.user, pledge=True)


# --- Review chain and decisions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("town", "initial", "final"),
    [("洪桥街道", "越秀区", "广州市"), ("东城街道", None, "东莞市"), ("东华门街道", "东城区", "北京市"),
     ("沙嘴街道", "仙桃市", "湖北省")],
)
def test_review_chain_through_to_registration(worker_in, regions, town, initial, final):
    worker = worker_in(town)
    application = submitted_application(worker)
    assert (application.initial_region and application.initial_region.name) == initial
    assert application.final_region.name == final
    outsider = make_user("outsider_x", "official", regions["荔湾区"])
    with pytest.raises(ReviewNotPermitted):
        review.application_approve(application=application, actor=outsider)
    if initial:
        county = make_user("county_x", "official", regions[initial])
        review.application_approve(application=application, actor=county)
        assert application.status == State.COUNTY_APPROVED
    city = make_user("final_x", "official", regions[final])
    review.application_approve(application=application, actor=city)
    assert application.status == State.APPROVED
    registration = Registration.objects.get(application=application)
    assert registration.valid_to == registration.valid_from.replace(year=registration.valid_from.year + 3) - (
        datetime.timedelta(days=1)
    )
    assert registration.registration_no.endswith(f"{registration.pk:07d}")
    assert registration.region.name == town


def test_city_cannot_approve_before_the_county(worker_in, city_official, alice, client):
    application = submitted_application(worker_in())
    with pytest.raises(ReviewNotPermitted):
        review.application_approve(application=application, actor=city_official)
    client.force_login(city_official)
    mine = client.get(reverse("registration:review-queue"))
    assert list(mine.context["page"]) == []
    everything = client.get(reverse("registration:review-queue"), {"scope": "all"})
    rows = list(everything.context["page"])
    assert rows == [application] and "越秀区" in rows[0].why
    detail = client.get(reverse("registration:review-detail", kwargs={"pk": application.pk}))
    assert detail.context["actions"] == []


def test_decisions_reach_the_worker_by_inbox_sms_and_email(
    worker_in, alice, city_official, mailoutbox, django_capture_on_commit_callbacks
):
    sms.outbox.clear()
    worker = worker_in()
    application = submitted_application(worker)
    with django_capture_on_commit_callbacks(execute=True):
        review.application_return(application=application, actor=alice, comment="照片不清晰")
    worker.refresh_from_db()
    assert application.status == State.RETURNED and worker.status == State.RETURNED  # profile goes back too
    message = Message.objects.get(user=worker.user)
    assert "照片不清晰" in message.body and message.link.endswith(f"/{application.pk}/")
    assert len(sms.outbox) == 1 and sms.outbox[0].to == worker.mobile
    assert len(mailoutbox) == 1
    # Fix and resubmit; county then city approve; the registration is created exactly once.
    services.application_submit(application=application, actor=worker.user, pledge=True)
    with django_capture_on_commit_callbacks(execute=True):
        review.application_approve(application=application, actor=alice)
        review.application_approve(application=application, actor=city_official)
    worker.refresh_from_db()
    assert worker.status == State.APPROVED  # approved with the county's first approval
    assert Registration.objects.filter(worker=worker).count() == 1
    with pytest.raises(TransitionNotAllowed):
        review.application_approve(application=application, actor=city_official)
    assert Registration.objects.filter(worker=worker).count() == 1
    assert Message.objects.filter(user=worker.user).count() == 3
    assert [row.action for row in review_log_for(application)] == ["submit", "return", "submit", "approve", "approve"]


def test_reject_needs_a_reason(worker_in, alice):
    application = submitted_application(worker_in())
    with pytest.raises(CommentRequired):
        review.application_reject(application=application, actor=alice, comment="")
    application.refresh_from_db()
    assert application.status == State.SUBMITTED


def test_nobody_reviews_their_own_application(worker_in, regions, media):
    # An official of 越秀区 who is also a social worker there.
    worker = worker_in()
    official = make_user("also_worker", "official", regions["越秀区"])
    application = submitted_application(worker)
    RegistrationApplication.objects.filter(pk=application.pk).update(applicant=official, submitted_by=official)
    application.refresh_from_db()
    with pytest.raises(SelfReviewRefused):
        review.application_approve(application=application, actor=official)


# --- Scoping ------------------------------------------------------------------------------------------


def test_sibling_county_gets_404_on_application_materials_and_uploads(client, worker_in, charlie, alice):
    worker = worker_in()
    application = submitted_application(worker)
    material = ApplicationMaterial.objects.filter(application=application).first()
    urls = [
        reverse("registration:review-detail", kwargs={"pk": application.pk}),
        reverse("registration:material-file", kwargs={"pk": material.pk}),
        reverse("registration:profile-photo", kwargs={"pk": worker.pk}),
    ]
    client.force_login(charlie)
    assert [client.get(u).status_code for u in urls] == [404, 404, 404]
    assert client.post(reverse("registration:review-decide", kwargs={"pk": application.pk}),
                       {"action": "approve"}).status_code == 404
    client.force_login(alice)
    assert [client.get(u).status_code for u in urls] == [200, 200, 200]
    other = SocialWorkerFactory()
    client.force_login(other.user)
    assert client.get(urls[1]).status_code == 404


def test_review_queue_has_constant_queries(client, worker_in, alice, django_assert_max_num_queries):
    for _ in range(30):
        submitted_application(worker_in())
    client.force_login(alice)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("registration:review-queue"))
    assert response.context["page"].paginator.count == 30


def test_review_queue_filters(client, worker_in, alice):
    first = submitted_application(worker_in())
    other_worker = worker_in("北京街道")
    second = submitted_application(other_worker)
    RegistrationApplication.objects.filter(pk=first.pk).update(
        submitted_at=timezone.now() - datetime.timedelta(days=20)
    )
    client.force_login(alice)
    url = reverse("registration:review-queue")
    assert list(client.get(url, {"waiting": "14"}).context["page"]) == [first]
    assert list(client.get(url, {"q": other_worker.id_number}, follow=True).context["page"]) == [second]
    assert list(client.get(url, {"q": other_worker.name}).context["page"]) == [second]
    town = other_worker.work_region
    assert list(client.get(url, {"region": town.pk}).context["page"]) == [second]
    assert list(client.get(url, {"kind": "renewal"}).context["page"]) == []


def test_history_page_lists_registrations_with_constant_queries(client, worker_in, alice, city_official,
                                                                  django_assert_max_num_queries):
    worker = worker_in()
    application = submitted_application(worker)
    review.application_approve(application=application, actor=alice)
    review.application_approve(application=application, actor=city_official)
    client.force_login(worker.user)
    with django_assert_max_num_queries(16):
        response = client.get(reverse("registration:history"))
    page = response.content.decode()
    assert Registration.objects.get(worker=worker).registration_no in page
    # More registrations do not mean more queries.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("registration:history"))
    from tests.factories import RegistrationFactory

    for year in (2015, 2018):
        RegistrationFactory(worker=worker, valid_from=datetime.date(year, 1, 1))
    with CaptureQueriesContext(connection) as three:
        client.get(reverse("registration:history"))
    assert len(three) == len(one)


# --- Roster corrections and windows ------------------------------------------------------------------


def test_correction_approval_adds_the_certificate_to_the_roster(regions, alice, media):
    worker = SocialWorkerFactory()
    correction = services.roster_correction_save(
        worker=worker, request=None,
        data={"region": regions["越秀区"], "level": "intermediate", "certificate_no": "ZS-NEW-1",
              "exam_year": THIS_YEAR - 1, "issuing_province": "广东省", "note": ""},
        scan=check_image_upload(png_upload(800, 600)),
    )
    services.roster_correction_submit(request=correction, actor=worker.user)
    review.correction_decide(correction=correction, actor=alice, action="approve")
    q = Qualification.objects.get(certificate_no="ZS-NEW-1")
    assert q.id_number == worker.id_number and q.source == "correction"


def test_correction_with_someone_elses_certificate_is_refused(regions, alice, media):
    QualificationFactory(certificate_no="TAKEN")
    worker = SocialWorkerFactory()
    correction = services.roster_correction_save(
        worker=worker, request=None,
        data={"region": regions["越秀区"], "level": "assistant", "certificate_no": "TAKEN", "exam_year": 2020},
        scan=check_image_upload(png_upload(800, 600)),
    )
    services.roster_correction_submit(request=correction, actor=worker.user)
    with pytest.raises(review.ReviewError):
        review.correction_decide(correction=correction, actor=alice, action="approve")
    correction.refresh_from_db()
    assert correction.status == State.SUBMITTED


def test_windows_are_set_by_the_province_without_overlap(regions, province_official, alice):
    day = datetime.date(2027, 3, 1)
    window = review.window_save(actor=province_official, window=None, name="2027", opens_on=day,
                                closes_on=day + datetime.timedelta(days=30), certificate_delay_days=14)
    assert window.certificate_issue_on == day + datetime.timedelta(days=44)
    with pytest.raises(review.ReviewError):
        review.window_save(actor=province_official, window=None, name="overlap", opens_on=day + datetime.timedelta(days=10),
                           closes_on=day + datetime.timedelta(days=40), certificate_delay_days=14)
    with pytest.raises(review.ReviewError):
        review.window_save(actor=alice, window=None, name="county", opens_on=datetime.date(2028, 1, 1),
                           closes_on=datetime.date(2028, 1, 31), certificate_delay_days=14)


def test_profile_form_shows_the_saved_full_time_choice(client, worker_in):
    worker = worker_in()
    client.force_login(worker.user)
    form = client.get(reverse("registration:profile")).context["form"]
    assert form["full_time"].value() == "1"
    assert 'value="1" selected' in str(form["full_time"])


# --- Offline continuing-education hours ---------------------------------------------------------


def test_offline_ce_claim_is_checked_by_the_county_and_counted_once(client, worker_in, alice, charlie, regions):
    from registration.eligibility import ce_hours_between
    from registration.models import CEClaim, CERecord

    worker = worker_in()
    claim = services.ce_claim_submit(
        worker=worker, data={"provider": "广州社工协会", "course": "督导", "started_on": datetime.date(2025, 3, 1),
                             "finished_on": datetime.date(2025, 3, 2), "hours": 16},
        proof=check_image_upload(png_upload(800, 600)),
    )
    assert claim.status == State.SUBMITTED and claim.final_region == regions["越秀区"]
    assert CEClaim.objects.review_queue(alice).get() == claim
    assert not CEClaim.objects.review_queue(charlie).exists()
    review.ce_claim_decide(claim=claim, actor=alice, action="approve")
    assert CERecord.objects.get(claim=claim).source == CERecord.Source.OFFLINE
    with pytest.raises(TransitionNotAllowed):
        review.ce_claim_decide(claim=claim, actor=alice, action="approve")
    assert ce_hours_between(worker, datetime.date(2025, 1, 1), datetime.date(2025, 12, 31)) == 16
    client.force_login(worker.user)
    page = client.get(reverse("registration:ce")).content.decode()
    assert "督导" in page


def test_ce_tally_shows_what_is_missing(client, worker_in, regions):
    from tests.factories import CERecordFactory, RegistrationFactory

    worker = worker_in()
    registration = RegistrationFactory(worker=worker, valid_from=datetime.date(2024, 1, 1))
    CERecordFactory(worker=worker, hours="71.5", completed_on=datetime.date(2024, 6, 1))
    CERecordFactory(worker=worker, hours=30, completed_on=datetime.date(2023, 6, 1))  # before the period
    client.force_login(worker.user)
    tally = client.get(reverse("registration:ce")).context["tally"]
    assert tally["have"] == Decimal("71.5") and tally["missing"] == Decimal("0.5")
    assert tally["registration"] == registration


# --- Courseware library ----------------------------------------------------------------------------


def test_courseware_goes_county_city_province_and_counts_once(client, worker_in, regions, alice, city_official,
                                                                province_official, charlie):
    from registration.models import CERecord, Courseware

    data = {"title": "小组工作技巧", "provider": "广东社工学院", "hours": 6, "link": "https://example.org/c", "description": ""}
    with pytest.raises(review.ReviewError):
        review.courseware_submit(actor=city_official, data=data)  # counties collect, cities review
    courseware = review.courseware_submit(actor=alice, data=data)
    assert (courseware.initial_region, courseware.final_region) == (regions["广州市"], regions["广东省"])
    assert Courseware.objects.review_queue(city_official).get() == courseware
    assert not Courseware.objects.visible_to(charlie).exists()
    with pytest.raises(ReviewNotPermitted):
        review.courseware_decide(courseware=courseware, actor=province_official, action="approve")
    review.courseware_decide(courseware=courseware, actor=city_official, action="approve")
    worker = worker_in()
    assert not Courseware.objects.visible_to(worker.user).exists()  # not open yet
    review.courseware_decide(courseware=courseware, actor=province_official, action="approve")
    assert courseware.status == State.APPROVED
    client.force_login(worker.user)
    url = reverse("registration:courseware-finish", kwargs={"pk": courseware.pk})
    client.post(url)
    client.post(url)  # a second click records nothing more
    records = CERecord.objects.filter(worker=worker, source=CERecord.Source.ONLINE)
    assert records.count() == 1 and records.get().hours == 6
    assert client.get(reverse("registration:courseware-library")).context["rows"][0].finished


# --- Freeze and restore ----------------------------------------------------------------------------


def test_overdue_registrations_are_frozen_and_can_be_restored(client, worker_in, regions, alice, city_official):
    from django.core.management import call_command

    from notices.models import Message
    from registration.freeze import registrations_freeze_overdue
    from registration.models import RegistrationPolicy
    from tests.factories import RegistrationFactory

    worker = worker_in()
    old = RegistrationFactory(worker=worker, valid_from=datetime.date(2018, 1, 1))  # valid to 2020-12-31
    recent = RegistrationFactory(worker=worker_in(), valid_from=datetime.date(2023, 1, 1))  # to 2025-12-31
    today = datetime.date(2026, 6, 1)
    assert registrations_freeze_overdue(today=today, dry_run=True) == 1
    RegistrationPolicy.objects.create(province=regions["广东省"], freeze_grace_days=100)
    call_command("freeze_overdue_registrations", "--date", "2026-06-01")
    old.refresh_from_db()
    recent.refresh_from_db()
    assert old.status == "frozen" and recent.status == "frozen"  # 2025-12-31 + 100 days < 2026-06-01
    assert Message.objects.filter(user=worker.user, title__contains=old.registration_no).exists()
    # Renewal and late registration now point to the restore application.
    client.force_login(worker.user)
    history = client.get(reverse("registration:history")).content.decode()
    assert reverse("registration:restore-new", kwargs={"pk": old.pk}) in history
    client.post(reverse("registration:restore-new", kwargs={"pk": old.pk}), {"reason": "已补修继续教育学时"})
    restore = old.restore_applications.get()
    assert restore.status == State.SUBMITTED and restore.initial_region == regions["越秀区"]
    review.restore_decide(restore=restore, actor=alice, action="approve")
    review.restore_decide(restore=restore, actor=city_official, action="approve")
    old.refresh_from_db()
    assert old.status == "valid"


def test_valid_and_superseded_registrations_are_not_frozen(worker_in):
    from registration.freeze import overdue_registrations
    from tests.factories import RegistrationFactory

    worker = worker_in()
    RegistrationFactory(worker=worker, valid_from=datetime.date(2017, 1, 1))  # superseded by the renewal
    RegistrationFactory(worker=worker, valid_from=datetime.date(2025, 1, 1))
    assert not overdue_registrations(today=datetime.date(2026, 6, 1)).exists()


# --- Region / employer change ----------------------------------------------------------------------


def test_region_change_is_reviewed_by_the_new_region_and_moves_scope(worker_in, regions, alice, charlie,
                                                                      city_official):
    worker = worker_in()  # 洪桥街道, 越秀区
    change = services.region_change_submit(worker=worker, new_region=regions["沙面街道"], new_employer="荔湾社工站",
                                           reason="工作调动")
    assert (change.initial_region, change.final_region) == (regions["荔湾区"], regions["广州市"])
    assert SocialWorker.objects.visible_to(alice).filter(pk=worker.pk).exists()
    assert not type(change).objects.visible_to(alice).exists()  # the old county does not decide
    with pytest.raises(ReviewNotPermitted):
        review.region_change_decide(change=change, actor=alice, action="approve")
    review.region_change_decide(change=change, actor=charlie, action="approve")
    worker.refresh_from_db()
    assert worker.work_region == regions["洪桥街道"]  # nothing moves before the final approval
    review.region_change_decide(change=change, actor=city_official, action="approve")
    worker.refresh_from_db()
    assert worker.work_region == regions["沙面街道"] and worker.employer == "荔湾社工站"
    assert not SocialWorker.objects.visible_to(alice).filter(pk=worker.pk).exists()
    assert SocialWorker.objects.visible_to(charlie).filter(pk=worker.pk).exists()
    assert worker.history.first().work_region_id == regions["沙面街道"].pk
