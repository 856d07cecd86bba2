"""The officials' registry (社工登记库): scoping by sibling counties, each filter, a constant query count, the
Excel export (ID numbers masked), a worker's file, and the certificates issued."""

import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from registration import review
from registration.models import CERecord, Registration
from registration.selectors import ce_tally, registration_state
from registration.selectors.registry import STATUS_CODES, registry_queryset
from registration.services.registry import registry_refresh
from swms import append_only
from swms.pii import mask_id_number
from tests.factories import RegistrationFactory, SocialWorkerFactory
from tests.registration_fixtures import submitted_application
from tests.test_nav import _active
from tests.today import TODAY

REGISTRY = reverse("registration:registry")


def approve(application, county, city, capture):
    """County then city approval; the certificate task runs on commit."""
    with capture(execute=True):
        review.application_approve(application=application, actor=county)
        review.application_approve(application=application, actor=city)
    return Registration.objects.get(application=application)


@pytest.fixture
def two_counties(worker_in, alice, charlie, city_official, django_capture_on_commit_callbacks):
    """One worker registered through the real flow in 越秀区 (洪桥街道) and one in 荔湾区 (沙面街道)."""
    yuexiu = approve(submitted_application(worker_in("洪桥街道")), alice, city_official,
                     django_capture_on_commit_callbacks)
    liwan = approve(submitted_application(worker_in("沙面街道")), charlie, city_official,
                    django_capture_on_commit_callbacks)
    return {"yuexiu": yuexiu, "liwan": liwan}


def registration_ending(regions, days, *, town="洪桥街道", status=Registration.Status.VALID, level="assistant",
                        name=None):
    """A worker of `town` whose registration ends `days` from today (negative: already ended)."""
    worker = SocialWorkerFactory(work_region=regions[town], employer="阳光社工中心",
                                 **({"name": name} if name else {}))
    valid_to = TODAY + datetime.timedelta(days=days)
    registration = RegistrationFactory(worker=worker, qualification__level=level, status=status,
                                       valid_from=valid_to - datetime.timedelta(days=3 * 365 - 1), valid_to=valid_to)
    # Made by a factory, not by the approval service: keep the registry's stored values as the service would.
    registry_refresh([worker.pk])
    return registration


def listed(client, **params) -> set[int]:
    """Worker ids on the registry page for these GET parameters."""
    response = client.get(REGISTRY, params)
    assert response.status_code == 200
    return {row["worker"].pk for row in response.context["rows"]}


# --- Scoping ------------------------------------------------------------------------------------------


def test_each_county_sees_only_its_own_registered_workers(client, two_counties, alice, charlie, city_official):
    yuexiu, liwan = two_counties["yuexiu"].worker_id, two_counties["liwan"].worker_id
    client.force_login(alice)
    assert listed(client) == {yuexiu}
    client.force_login(charlie)
    assert listed(client) == {liwan}
    client.force_login(city_official)
    assert listed(client) == {yuexiu, liwan}


def test_region_parameter_narrows_to_the_subtree_and_out_of_scope_is_404(client, two_counties, regions, alice,
                                                                         city_official):
    client.force_login(city_official)
    assert listed(client, region=regions["越秀区"].pk) == {two_counties["yuexiu"].worker_id}
    assert listed(client, region=regions["沙面街道"].pk) == {two_counties["liwan"].worker_id}
    client.force_login(alice)
    assert client.get(REGISTRY, {"region": regions["荔湾区"].pk}).status_code == 404


def test_workers_without_a_registration_are_not_in_the_registry(client, regions, alice, worker_in):
    worker_in("洪桥街道")  # a complete profile, never registered
    client.force_login(alice)
    assert listed(client) == set()


def test_each_worker_appears_once_with_the_registration_ending_last(client, regions, alice):
    old = registration_ending(regions, -400)
    newer = RegistrationFactory(worker=old.worker, qualification=old.qualification,
                                valid_from=old.valid_to + datetime.timedelta(days=1),
                                valid_to=old.valid_to + datetime.timedelta(days=3 * 365))
    registry_refresh([old.worker_id])
    client.force_login(alice)
    rows = client.get(REGISTRY).context["rows"]
    assert [row["registration"].pk for row in rows] == [newer.pk]


# --- Filters ------------------------------------------------------------------------------------------


@pytest.fixture
def one_of_each_state(regions):
    """{state code: registration} in 洪桥街道, one per registration state."""
    return {
        "valid": registration_ending(regions, 400),
        "expiring": registration_ending(regions, 90),  # the 90th day still counts as expiring
        "expired": registration_ending(regions, -1),
        "frozen": registration_ending(regions, 400, status=Registration.Status.FROZEN),
        "revoked": registration_ending(regions, 400, status=Registration.Status.REVOKED),
    }


def test_status_filter_matches_the_state_the_worker_home_shows(client, alice, one_of_each_state):
    client.force_login(alice)
    for code in STATUS_CODES:
        registration = one_of_each_state[code]
        assert registration_state(registration, on_date=TODAY)[0] == code
        assert listed(client, status=code) == {registration.worker_id}, code


def test_expiring_within_n_days(client, regions, alice):
    soon, later, far = (registration_ending(regions, d) for d in (10, 60, 200))
    registration_ending(regions, 5, status=Registration.Status.FROZEN)  # frozen: not "expiring"
    registration_ending(regions, -3)  # already expired
    client.force_login(alice)
    assert listed(client, expiring_days=30) == {soon.worker_id}
    assert listed(client, expiring_days=100) == {soon.worker_id, later.worker_id}
    assert far.worker_id in listed(client)


def test_level_filter(client, regions, alice):
    assistant = registration_ending(regions, 400, level="assistant")
    senior = registration_ending(regions, 400, level="senior")
    client.force_login(alice)
    assert listed(client, level="senior") == {senior.worker_id}
    assert listed(client, level="assistant") == {assistant.worker_id}


def test_ce_shortfall_filter_and_tally_count_as_the_worker_home_does(client, regions, alice):
    done = registration_ending(regions, 400)  # assistant: 72 h needed
    short = registration_ending(regions, 400)
    CERecord.objects.create(worker=done.worker, source="online", hours=Decimal(72), completed_on=done.valid_from)
    CERecord.objects.create(worker=short.worker, source="online", hours=Decimal(30), completed_on=short.valid_from)
    # Neither a pending record nor one from before the registration began counts.
    CERecord.objects.create(worker=short.worker, source="offline", hours=Decimal(50), completed_on=TODAY,
                            status=CERecord.Status.PENDING)
    CERecord.objects.create(worker=short.worker, source="online", hours=Decimal(50),
                            completed_on=short.valid_from - datetime.timedelta(days=1))
    registry_refresh([done.worker_id, short.worker_id])  # records made directly, not by a booking service
    client.force_login(alice)
    assert listed(client, ce_short=1) == {short.worker_id}
    rows = {row["worker"].pk: row for row in client.get(REGISTRY).context["rows"]}
    for registration in (done, short):
        tally = ce_tally(worker=registration.worker, registration=registration, on_date=TODAY)
        row = rows[registration.worker_id]
        assert (row["ce_have"], row["ce_need"], row["ce_missing"]) == (tally["have"], tally["need"], tally["missing"])
    assert rows[short.worker_id]["ce_missing"] == Decimal(42)


def test_name_search(client, regions, alice):
    wang = registration_ending(regions, 400, name="王小明")
    registration_ending(regions, 400, name="李四")
    client.force_login(alice)
    assert listed(client, q="小明") == {wang.worker_id}


def test_exact_id_number_is_searched_by_post_and_never_echoed(client, regions, alice, charlie):
    target = registration_ending(regions, 400)
    registration_ending(regions, 400)
    number = target.worker.id_number
    typed = " ".join([number[:6], number[6:14], number[14:].lower()])  # spaces and a lowercase x are fine
    client.force_login(alice)
    response = client.post(REGISTRY, {"id_number": typed})
    assert response.status_code == 302 and number not in response["Location"]  # the keyed hash instead
    response = client.get(response["Location"])
    assert {row["worker"].pk for row in response.context["rows"]} == {target.worker_id}
    page = response.content.decode()
    assert number not in page and mask_id_number(number) in page
    # A number typed into the name box matches exactly too, but the page writes it back nowhere of its own
    # (not in the search box, the export link or the paging links).
    response = client.get(REGISTRY, {"q": number}, follow=True)
    assert number not in response.redirect_chain[0][0]
    assert {row["worker"].pk for row in response.context["rows"]} == {target.worker_id}
    main = response.content.decode().split('<main', 1)[-1]
    assert number not in main and 'data-testid="export"' not in main
    # Nor is a number taken from the address's id_number parameter.
    assert len(client.get(REGISTRY, {"id_number": number}).context["rows"]) == 2
    # The sibling county finds nobody by the same number.
    client.force_login(charlie)
    assert client.post(REGISTRY, {"id_number": number}, follow=True).context["rows"] == []


def test_registry_query_count_does_not_grow_with_the_rows(client, regions, alice, django_assert_max_num_queries):
    client.force_login(alice)
    registration_ending(regions, 400)
    with django_assert_max_num_queries(12) as one:
        assert len(client.get(REGISTRY).context["rows"]) == 1
    for days in range(19):
        registration = registration_ending(regions, 30 + days)
        CERecord.objects.create(worker=registration.worker, source="online", hours=5,
                                completed_on=registration.valid_from)
        registry_refresh([registration.worker_id])
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(client.get(REGISTRY).context["rows"]) == 20


def test_registry_queryset_costs_one_query_for_a_page(regions, django_assert_num_queries):
    from registration.models import SocialWorker

    for days in (10, 100, 1000):
        registration_ending(regions, days)
    with django_assert_num_queries(1):
        rows = list(registry_queryset(workers=SocialWorker.objects.all(), on_date=TODAY)[:25])
        # Rows are the registered workers, each with its current registration.
        assert all(w.work_region.name == "洪桥街道" and w.current_registration.worker_id == w.pk for w in rows)
        assert len(rows) == 3


# --- Export ---------------------------------------------------------------------------------------------


def test_export_holds_the_filtered_list_with_masked_id_numbers(client, regions, alice, english):
    expiring = registration_ending(regions, 30, name="王小明")
    registration_ending(regions, 400, name="李四")
    client.force_login(alice)
    response = client.get(REGISTRY, {"status": "expiring", "export": "xlsx"})
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    header, body = rows[0], rows[1:]
    assert len(body) == 1
    line = dict(zip(header, body[0], strict=True))
    number = expiring.worker.id_number
    assert line["full name"] == "王小明" and line["registration number"] == expiring.registration_no
    assert line["ID number"] == mask_id_number(number) and number not in str(body)
    assert line["Status"] == "Expiring soon" and line["work region"] == "洪桥街道"
    assert line["CE hours missing"] == 72


def test_large_export_becomes_a_background_job_of_the_same_rows(client, regions, alice, settings, media,
                                                                  django_capture_on_commit_callbacks):
    from swms.models import ExportJob

    settings.SWMS_EXPORT_SYNC_ROWS = 1
    for days in (10, 20, 400):
        registration_ending(regions, days)
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(REGISTRY, {"expiring_days": 30, "export": "xlsx"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and job.status == "done" and job.total == 2
    assert job.builder == "registration.views_registry.registry_table"


# --- A worker's file ------------------------------------------------------------------------------------


def test_worker_file_shows_registration_certificate_ce_applications_and_history(client, two_counties, alice,
                                                                               charlie, city_official):
    registration = two_counties["yuexiu"]
    worker = registration.worker
    certificate = registration.certificates.get()
    url = reverse("registration:registry-worker", args=[worker.pk])
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200
    page = response.content.decode()
    assert registration.registration_no in page
    assert reverse("verify", args=[certificate.token]) in page
    assert 'data-testid="application-' in page and 'data-testid="review-log"' in page
    assert response.context["applications"][0].log  # submit and both approvals
    assert response.context["history"] and 'data-testid="history"' in page
    assert worker.id_number not in page and mask_id_number(worker.id_number) in page
    # The county sees the file but is offered no action.
    assert 'data-testid="freeze-form"' not in page and 'data-testid="no-actions"' in page
    # The file lights the registry's sidebar item, alone.
    assert _active(client, url) == [REGISTRY]
    client.force_login(city_official)
    page = client.get(url).content.decode()
    assert 'data-testid="freeze-form"' in page and 'data-testid="cancel-form"' in page and "data-confirm" in page
    client.force_login(charlie)
    assert client.get(url).status_code == 404


# --- Certificates issued --------------------------------------------------------------------------------


def test_certificate_list_by_period_kind_and_region(client, two_counties, regions, alice, city_official):
    client.force_login(city_official)
    url = reverse("registration:certificate-list")

    def shown(**params):
        response = client.get(url, params)
        assert response.status_code == 200
        return {row["certificate"].registration_id for row in response.context["rows"]}

    both = {two_counties["yuexiu"].pk, two_counties["liwan"].pk}
    assert shown() == both
    assert shown(region=regions["越秀区"].pk) == {two_counties["yuexiu"].pk}
    assert shown(issued_from=TODAY.isoformat(), issued_to=TODAY.isoformat()) == both
    assert shown(issued_to=(TODAY - datetime.timedelta(days=1)).isoformat()) == set()
    assert shown(kind="first") == both and shown(kind="renewal") == set()
    client.force_login(alice)
    assert shown() == {two_counties["yuexiu"].pk}
    assert client.get(url, {"region": regions["荔湾区"].pk}).status_code == 404


def test_certificate_list_query_count_does_not_grow_with_the_rows(
    client, two_counties, worker_in, alice, city_official, django_capture_on_commit_callbacks,
    django_assert_max_num_queries,
):
    client.force_login(city_official)
    url = reverse("registration:certificate-list")
    with django_assert_max_num_queries(25) as two:
        assert client.get(url).status_code == 200
    for _ in range(3):
        approve(submitted_application(worker_in("洪桥街道")), alice, city_official, django_capture_on_commit_callbacks)
    with django_assert_max_num_queries(len(two.captured_queries)):
        response = client.get(url)
    assert len(response.context["rows"]) == 5


def test_worker_file_opens_for_a_worker_without_history(client, regions, alice):
    """Workers brought in by a bulk import (COPY, no simple_history rows) still have a file page."""
    registration = registration_ending(regions, 300)
    with append_only.rewrite():  # the history is append-only (L2): lifted to stage a bulk import's state
        registration.worker.history.all().delete()
        registration.history.all().delete()
    client.force_login(alice)
    response = client.get(reverse("registration:registry-worker", args=[registration.worker.pk]))
    assert response.status_code == 200 and registration.registration_no in response.content.decode()
