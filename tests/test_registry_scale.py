"""The registry at province scale (issue #14): what the registry stores instead of computing per view — each
worker's current registration (`SocialWorker.current_registration`) and each registration's counted CE hours
(`Registration.ce_hours`) — follows every path that changes them and equals its definition (the registration
ending last; `ce_tally`); the page's query count stays constant; the n-gram search finds two-character names;
the certificates page counts the ones due but not issued with a bound."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registration import review, services
from registration.ce_import import ce_hours_import
from registration.models import CERecord, Registration, SocialWorker
from registration.selectors import ce_tally
from registration.services import oversight
from registration.services.registry import ce_record_void, registry_refresh, registry_refresh_all
from swms.uploads import check_image_upload
from tests.factories import RegistrationFactory
from tests.registration_fixtures import submitted_application
from tests.test_ce_import import write_xlsx
from tests.test_registry import REGISTRY, approve, listed, registration_ending
from tests.test_uploads import png_upload
from tests.today import THIS_YEAR, TODAY


def assert_stored_as_defined(*workers):
    """Each worker's stored current registration is the one ending last, and every registration's stored
    hours equal `ce_tally` today."""
    for worker in workers:
        worker = SocialWorker.objects.get(pk=worker.pk)
        registrations = list(Registration.objects.filter(worker=worker).order_by("-valid_to", "-pk"))
        assert worker.current_registration_id == (registrations[0].pk if registrations else None)
        for registration in registrations:
            tally = ce_tally(worker=worker, registration=registration, on_date=TODAY)
            assert registration.ce_hours == tally["have"], registration


def registry_row_of(client, worker, **params):
    rows = {row["worker"].pk: row for row in client.get(REGISTRY, params).context["rows"]}
    return rows.get(worker.pk)


@pytest.fixture
def registered(worker_in, alice, city_official, django_capture_on_commit_callbacks):
    """A worker registered today through the real flow (county, then city), certificate issued."""
    return approve(submitted_application(worker_in("洪桥街道")), alice, city_official,
                   django_capture_on_commit_callbacks)


def courseware_open(alice, city_official, province_official, hours=6):
    courseware = review.courseware_submit(actor=alice, data={"title": "小组工作技巧", "provider": "广东社工学院",
                                                             "hours": hours, "link": "https://example.org/c"})
    review.courseware_decide(courseware=courseware, actor=city_official, action="approve")
    review.courseware_decide(courseware=courseware, actor=province_official, action="approve")
    return courseware


# --- Registrations: new, renewal, replacement, freeze and revoke ------------------------------------


def test_a_new_registration_becomes_current_with_the_hours_of_its_period(worker_in, alice, city_official, tmp_path,
                                                                          django_capture_on_commit_callbacks,
                                                                          client):
    worker = worker_in("洪桥街道")
    # Hours imported before the registration: today's count for it (it starts today), earlier ones not.
    write_xlsx(tmp_path / "ce.xlsx", [
        [worker.id_number, worker.name, "广东社工学院", "伦理", 8, TODAY, "P-1"],
        [worker.id_number, worker.name, "广东社工学院", "督导", 5, TODAY - datetime.timedelta(days=1), "P-2"],
    ])
    assert ce_hours_import(path=tmp_path / "ce.xlsx").created == 2
    assert SocialWorker.objects.get(pk=worker.pk).current_registration_id is None
    registration = approve(submitted_application(worker), alice, city_official, django_capture_on_commit_callbacks)
    worker.refresh_from_db()
    registration.refresh_from_db()
    assert worker.current_registration == registration and registration.ce_hours == Decimal(8)
    assert_stored_as_defined(worker)
    client.force_login(alice)
    row = registry_row_of(client, worker)
    assert row["registration"].pk == registration.pk
    assert (row["ce_have"], row["ce_need"], row["ce_missing"]) == (Decimal(8), Decimal(72), Decimal(64))


def _renewal(worker):
    application = services.application_start(worker=worker, kind="renewal")
    for kind in services.required_materials(application):
        if kind != "photo":
            services.application_material_attach(application=application, kind=kind,
                                                 image=check_image_upload(png_upload(800, 600)))
    return services.application_submit(application=application, actor=worker.user, pledge=True)


def test_a_renewal_becomes_the_current_registration(worker_in, alice, city_official, client,
                                                    django_capture_on_commit_callbacks):
    worker = worker_in("洪桥街道")
    # A registration brought in from before (made here by a factory, so refreshed as the import would be).
    old = RegistrationFactory(worker=worker, valid_from=datetime.date(THIS_YEAR - 3, 12, 31))  # ends this year
    CERecord.objects.create(worker=worker, source="imported", hours=90, completed_on=TODAY - datetime.timedelta(1))
    registry_refresh([worker.pk])
    assert SocialWorker.objects.get(pk=worker.pk).current_registration == old
    renewal = approve(_renewal(worker), alice, city_official, django_capture_on_commit_callbacks)
    assert renewal.kind == "renewal" and renewal.valid_from == old.valid_to + datetime.timedelta(days=1)
    worker.refresh_from_db()
    assert worker.current_registration == renewal
    old.refresh_from_db()
    renewal.refresh_from_db()
    # The 90 hours belong to the old period; the renewal's own starts when it does.
    assert (old.ce_hours, renewal.ce_hours) == (Decimal(90), Decimal(0))
    assert_stored_as_defined(worker)
    client.force_login(alice)
    assert registry_row_of(client, worker)["registration"].pk == renewal.pk


def test_replacement_freeze_unfreeze_and_cancel_keep_the_stored_values(registered, alice, city_official, client,
                                                                        django_capture_on_commit_callbacks):
    from registration.models import ReplacementRequest

    worker = registered.worker
    CERecord.objects.create(worker=worker, source="online", hours=20, completed_on=TODAY)
    registry_refresh([worker.pk])
    client.force_login(worker.user)
    client.post(reverse("registration:replacement-new", kwargs={"pk": registered.pk}), {"reason": "lost"})
    with django_capture_on_commit_callbacks(execute=True):
        review.replacement_decide(replacement=ReplacementRequest.objects.get(registration=registered), actor=alice,
                                  action="approve")
    assert_stored_as_defined(worker)
    client.force_login(city_official)
    for service, state in ((oversight.registration_freeze, "frozen"), (oversight.registration_unfreeze, "valid"),
                           (oversight.registration_cancel, "revoked")):
        service(registration=registered, actor=city_official, reason="核查")
        assert_stored_as_defined(worker)
        row = registry_row_of(client, worker)
        assert row["registration"].pk == registered.pk and row["ce_have"] == Decimal(20)
        assert row["state"] == state
        assert listed(client, status=state) == {worker.pk}


def test_the_overdue_freeze_keeps_the_stored_values(worker_in, client, alice):
    from registration.freeze import registrations_freeze_overdue

    worker = worker_in("洪桥街道")
    old = RegistrationFactory(worker=worker, valid_from=datetime.date(THIS_YEAR - 6, 1, 1))
    registry_refresh([worker.pk])
    assert registrations_freeze_overdue() == 1
    old.refresh_from_db()
    assert old.status == "frozen"
    assert_stored_as_defined(worker)
    client.force_login(alice)
    assert listed(client, status="frozen") == {worker.pk}


# --- Continuing education: booked, approved, voided, imported --------------------------------------------


def test_ce_hours_follow_booking_approval_voiding_and_import(registered, alice, city_official, province_official,
                                                              client, tmp_path):
    from registration.models import CEClaim

    worker = registered.worker
    client.force_login(alice)

    def have():
        assert_stored_as_defined(worker)
        return Registration.objects.get(pk=registered.pk).ce_hours

    assert have() == 0
    # Booked: a finished course of the library.
    courseware = courseware_open(alice, city_official, province_official, hours=6)
    review.courseware_finish(courseware=courseware, worker=worker)
    assert have() == 6
    # Approved: offline hours claimed and checked by the county (finished today: inside the period).
    claim = services.ce_claim_submit(worker=worker, data={"provider": "广州社工协会", "course": "督导",
                                                          "started_on": TODAY, "finished_on": TODAY, "hours": 16},
                                     proof=check_image_upload(png_upload(800, 600)))
    review.ce_claim_decide(claim=claim, actor=alice, action="approve")
    assert have() == 22
    # Voided: the claim's record no longer counts.
    ce_record_void(record=CEClaim.objects.get(pk=claim.pk).record, reason="证明材料不实")
    assert have() == 6
    # Imported: a provider's file (a row from before the registration began does not count).
    write_xlsx(tmp_path / "ce.xlsx", [
        [worker.id_number, worker.name, "广东社工学院", "个案管理", "66.5", TODAY, "X-1"],
        [worker.id_number, worker.name, "广东社工学院", "旧课", 40, registered.valid_from - datetime.timedelta(1),
         "X-2"],
    ])
    assert ce_hours_import(path=tmp_path / "ce.xlsx").created == 2
    assert have() == Decimal("72.5")
    row = registry_row_of(client, worker)
    assert (row["ce_have"], row["ce_missing"]) == (Decimal("72.5"), Decimal(0))
    assert listed(client, ce_short=1) == set() and listed(client, ce_short=0) == {worker.pk}


def test_the_tally_counts_every_hour_since_the_registration_began(registered):
    """The definition the stored value equals: no path books a future date, and a record dated after today
    (entered by hand) counts like any other, so the stored sum never goes stale with the calendar."""
    worker = registered.worker
    CERecord.objects.create(worker=worker, source="online", hours=3, completed_on=TODAY + datetime.timedelta(5))
    registry_refresh([worker.pk])
    assert ce_tally(worker=worker, registration=registered, on_date=TODAY)["have"] == 3
    assert_stored_as_defined(worker)


def test_refreshing_everything_repairs_any_drift(regions, registered):
    """registry_refresh_all (migration 0015's fill, the scale generator's) recomputes every row."""
    workers = [registration_ending(regions, days).worker for days in (-400, 30, 400)]
    for worker in workers:
        CERecord.objects.create(worker=worker, source="online", hours=7, completed_on=TODAY)
    extra = RegistrationFactory(worker=workers[0], valid_from=TODAY, valid_to=TODAY + datetime.timedelta(1000))
    SocialWorker.objects.update(current_registration=None)
    Registration.objects.update(ce_hours=99)
    registry_refresh_all()
    assert SocialWorker.objects.get(pk=workers[0].pk).current_registration == extra
    assert_stored_as_defined(registered.worker, *workers)
    # The same by the per-worker refresh (the path of the non-PostgreSQL fill).
    Registration.objects.update(ce_hours=0)
    SocialWorker.objects.update(current_registration=None)
    registry_refresh(SocialWorker.objects.values_list("pk", flat=True))
    assert_stored_as_defined(registered.worker, *workers)


# --- The page: filters on the stored values, constant queries, search ------------------------------------------


def test_ce_short_filter_matches_the_tally_for_every_level(regions, client, alice):
    cases = {}
    for level, hours in (("assistant", 71), ("assistant", 72), ("intermediate", 89), ("senior", 90)):
        registration = registration_ending(regions, 400, level=level)
        CERecord.objects.create(worker=registration.worker, source="online", hours=hours,
                                completed_on=registration.valid_from)
        registry_refresh([registration.worker_id])
        cases[registration.worker_id] = ce_tally(worker=registration.worker, registration=registration,
                                                 on_date=TODAY)["missing"] > 0
    client.force_login(alice)
    assert listed(client, ce_short=1) == {pk for pk, short in cases.items() if short}
    assert listed(client, ce_short=0) == {pk for pk, short in cases.items() if not short}


@pytest.mark.parametrize("params", [{}, {"ce_short": 1}, {"status": "valid"}, {"q": "张"}, {"level": "assistant"},
                                    {"kind": "first"}])
def test_registry_query_count_is_constant(regions, client, province_official, params):
    client.force_login(province_official)
    registration_ending(regions, 400, name="张一")
    with CaptureQueriesContext(connection) as one:
        assert len(client.get(REGISTRY, params).context["rows"]) == 1
    for i in range(24):
        registration = registration_ending(regions, 300 + i, name=f"张{i}号", town="沙面街道" if i % 2 else "洪桥街道")
        CERecord.objects.create(worker=registration.worker, source="online", hours=1 + i,
                                completed_on=registration.valid_from)
        registry_refresh([registration.worker_id])
    with CaptureQueriesContext(connection) as many:
        assert len(client.get(REGISTRY, params).context["rows"]) == 25
    assert len(many.captured_queries) == len(one.captured_queries) <= 15


def test_search_finds_two_character_names_through_the_ngram_index(regions, client, alice):
    zhang_wei = registration_ending(regions, 400, name="张伟").worker_id
    zhang_weiming = registration_ending(regions, 400, name="张伟明").worker_id
    registration_ending(regions, 400, name="张小伟")
    registration_ending(regions, 400, name="李伟")
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        assert listed(client, q="张伟") == {zhang_wei, zhang_weiming}
    if connection.vendor == "postgresql":
        assert any('"name_ngrams"' in q["sql"] for q in queries.captured_queries)  # the stored n-grams
    assert listed(client, q="伟明") == {zhang_weiming}
    assert len(listed(client, q="伟")) == 4


def test_not_issued_certificates_are_counted_with_a_bound(regions, client, city_official, settings, english):
    settings.SWMS_LIST_COUNT_FLOOR = 2
    for days in (400, 401, 402):
        registration = registration_ending(regions, days)
        Registration.objects.filter(pk=registration.pk).update(certificate_due_on=TODAY)
    client.force_login(city_official)
    response = client.get(reverse("registration:certificate-list"))
    page = response.content.decode()
    assert response.context["not_issued_capped"] and response.context["not_issued_count"] == 2
    assert "More than 2 certificates due but not issued" in page
    assert len(response.context["not_issued"]) == 3


def test_saving_a_stale_instance_keeps_the_stored_values(registered):
    """An instance loaded before the stored values changed, saved whole afterwards (a profile form, an
    admin), does not write its stale copy of them back."""
    worker = registered.worker
    stale_worker = SocialWorker.objects.get(pk=worker.pk)
    stale_registration = Registration.objects.get(pk=registered.pk)
    newer = RegistrationFactory(worker=worker, valid_from=TODAY, valid_to=TODAY + datetime.timedelta(2000))
    CERecord.objects.create(worker=worker, source="online", hours=12, completed_on=TODAY)
    registry_refresh([worker.pk])
    stale_worker.employer = "新机构"
    stale_worker.save()
    stale_registration.certificate_due_on = TODAY
    stale_registration.save()
    worker.refresh_from_db()
    assert worker.employer == "新机构" and worker.current_registration == newer
    assert Registration.objects.get(pk=registered.pk).ce_hours == 12
    assert_stored_as_defined(worker)
