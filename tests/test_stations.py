"""Stations: codes, operators and their access, station accounts, station workers, staffing rules."""

import datetime
import io
import threading

import pytest
from django.db import connection
from django.urls import reverse
from guardian.shortcuts import get_objects_for_user
from openpyxl import load_workbook

from accounts.models import Region, UserKind
from registration.models import Organization
from stations import services
from stations.models import Station, StationCodeSequence, StationOperator, StationWorker, Tier, WorkerLevel
from swms.pii import mask_name, mask_phone
from tests.conftest import make_user
from tests.factories import RegistrationFactory, SocialWorkerFactory, make_id_number
from tests.today import TODAY


@pytest.fixture
def village(regions):
    return Region.objects.create(code="440104001001", name="华侨新村社区", level="village", parent=regions["洪桥街道"])


def make_org(regions, name="阳光社工中心", uscc="91440104MA5CXXXX0X", status="approved", region="越秀区"):
    account = make_user(f"org_{uscc[-6:]}", UserKind.ORGANIZATION, regions[region])
    org = Organization.objects.create(
        account=account, name=name, uscc=uscc, legal_representative="李四", region=regions[region],
        address="广州", contact_person="王五", contact_phone="13800000000", registration_authority="越秀区民政局",
    )
    Organization.objects.filter(pk=org.pk).update(status=status)
    org.refresh_from_db()
    return org


def station_data(regions, **kw):
    data = dict(name="洪桥街道社工站", tier=Tier.STATION, region=regions["洪桥街道"], address="洪桥街1号",
                contact_person="陈站长", contact_phone="020-12345678", founded_on=datetime.date(2021, 3, 1),
                floor_area=200, service_domains=["elderly_care", "child_welfare"], service_scope="辖区居民")
    data.update(kw)
    return data


def create_station(actor, regions, operators=(), funding=(), **kw):
    return services.station_create(actor=actor, data=station_data(regions, **kw), funding=list(funding),
                                   operators=list(operators))


def station_login(client, station):
    """Sign in as the station, its first-login password change done."""
    type(station.account).objects.filter(pk=station.account_id).update(must_change_password=False)
    station.account.refresh_from_db()
    client.force_login(station.account)


# --- Codes ---------------------------------------------------------------------------------------


def test_code_from_region_and_sequence_never_reused(alice, regions):
    first, _pw = create_station(alice, regions)
    second, _pw = create_station(alice, regions, name="第二站")
    assert first.code == "440104001000001" and second.code == "440104001000002"
    services.station_delete(actor=alice, station=second, reason="合并")
    third, _pw = create_station(alice, regions, name="第三站")
    assert third.code == "440104001000003"  # the deleted station's number is not given out again
    assert StationCodeSequence.objects.get(region=regions["洪桥街道"]).last == 3


@pytest.mark.django_db(transaction=True)
def test_two_stations_created_at_once_get_different_codes(regions, alice):
    barrier = threading.Barrier(2)
    codes, errors = [], []

    def create(name):
        try:
            barrier.wait(timeout=10)
            station, _pw = create_station(alice, regions, name=name)
            codes.append(station.code)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in ("甲站", "乙站")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(codes) == ["440104001000001", "440104001000002"]


def test_tier_must_match_region_level(alice, regions, village):
    with pytest.raises(services.StationError):
        create_station(alice, regions, tier=Tier.ROOM)  # a room in a town
    room, _pw = create_station(alice, regions, tier=Tier.ROOM, region=village, name="华侨新村社工室")
    assert room.code.startswith("440104001001")
    hub, _pw = create_station(alice, regions, tier=Tier.HUB, region=regions["越秀区"], name="越秀区社工总站")
    assert hub.region == regions["越秀区"]


def test_officials_create_only_in_their_subtree(charlie, regions):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        create_station(charlie, regions)


# --- Station account -------------------------------------------------------------------------------


def test_station_account_created_must_change_password_and_official_resets(alice, regions, client):
    station, password = create_station(alice, regions)
    account = station.account
    assert account.kind == UserKind.STATION and account.username == station.code and account.must_change_password
    assert account.check_password(password)
    new = services.station_password_set(actor=alice, station=station, password="Hq#Station2026")
    account.refresh_from_db()
    assert new == "Hq#Station2026" and account.check_password(new) and account.must_change_password
    generated = services.station_password_set(actor=alice, station=station)
    account.refresh_from_db()
    assert account.check_password(generated) and generated != new


def test_weak_station_password_refused(alice, regions):
    from django.core.exceptions import ValidationError

    station, _pw = create_station(alice, regions)
    with pytest.raises(ValidationError):
        services.station_password_set(actor=alice, station=station, password="12345678")


def test_sibling_county_gets_404_everywhere(alice, charlie, regions, client):
    station, _pw = create_station(alice, regions)
    client.force_login(charlie)
    for name in ("stations:detail", "stations:edit", "stations:delete"):
        assert client.get(reverse(name, args=[station.pk])).status_code == 404, name
    assert client.post(reverse("stations:password", args=[station.pk]), {"password": ""}).status_code == 404
    page = client.get(reverse("stations:list")).content.decode()
    assert station.code not in page


# --- Operators -------------------------------------------------------------------------------------


def test_operator_grant_and_removal(alice, regions):
    org = make_org(regions)
    station, _pw = create_station(alice, regions, operators=[
        {"organization": org, "valid_from": TODAY - datetime.timedelta(days=10),
         "valid_to": TODAY + datetime.timedelta(days=300)},
    ])
    assert list(Station.objects.owned_by(org.account)) == [station]
    assert org.account.has_perm("stations.operate_station", station)
    services.station_update(actor=alice, station=station, data={}, funding=[], operators=[])
    assert StationOperator.objects.get(station=station).status == StationOperator.Status.ENDED
    assert list(Station.objects.owned_by(org.account)) == []


def test_only_approved_organizations_of_the_province_operate(alice, regions):
    pending = make_org(regions, name="待审机构", uscc="91440104MA5CYYYY1Y", status="submitted")
    with pytest.raises(services.StationError):
        create_station(alice, regions, operators=[
            {"organization": pending, "valid_from": TODAY, "valid_to": TODAY + datetime.timedelta(days=30)}])
    beijing = make_org(regions, name="北京机构", uscc="91110101MA5CZZZZ2Z", region="东城区")
    with pytest.raises(services.StationError):
        create_station(alice, regions, operators=[
            {"organization": beijing, "valid_from": TODAY, "valid_to": TODAY + datetime.timedelta(days=30)}])


def test_daily_job_expires_operators_and_starts_future_ones(alice, regions):
    from stations.tasks import sync_operator_permissions

    org = make_org(regions)
    later = make_org(regions, name="后续机构", uscc="91440104MA5CWWWW3W")
    station, _pw = create_station(alice, regions, operators=[
        {"organization": org, "valid_from": TODAY - datetime.timedelta(days=365), "valid_to": TODAY},
        {"organization": later, "valid_from": TODAY + datetime.timedelta(days=1),
         "valid_to": TODAY + datetime.timedelta(days=365)},
    ])
    assert org.account.has_perm("stations.operate_station", station)
    assert not later.account.has_perm("stations.operate_station", station)

    result = services.sync_operator_permissions(today=TODAY + datetime.timedelta(days=1))
    assert result == {"granted": 1, "revoked": 1, "expired": 1}
    assert StationOperator.objects.get(organization=org).status == StationOperator.Status.EXPIRED
    assert not get_objects_for_user(org.account, "stations.operate_station", klass=Station).exists()
    assert get_objects_for_user(later.account, "stations.operate_station", klass=Station).exists()
    # Idempotent: running again on the same day changes nothing.
    assert services.sync_operator_permissions(today=TODAY + datetime.timedelta(days=1)) == {
        "granted": 0, "revoked": 0, "expired": 0}
    # The beat task runs the same for today, when the later period has not started yet.
    assert sync_operator_permissions.delay().get() == {"granted": 0, "revoked": 1, "expired": 0}


def test_station_switcher_lists_operated_stations_and_switches(alice, regions, client):
    org = make_org(regions)
    period = {"organization": org, "valid_from": TODAY, "valid_to": TODAY + datetime.timedelta(days=30)}
    first, _pw = create_station(alice, regions, operators=[period])
    second, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"], operators=[period])
    other, _pw = create_station(alice, regions, name="别人的站")
    client.force_login(org.account)
    page = client.get(reverse("stations:workers")).content.decode()
    assert 'data-testid="station-switcher"' in page
    assert first.name in page and second.name in page and other.name not in page
    response = client.post(reverse("stations:switch"), {"station": second.pk, "next": reverse("stations:workers")})
    assert response.status_code == 302
    page = client.get(reverse("stations:workers")).content.decode()
    assert f"· {second.name}" in page
    # A station it does not operate cannot be switched to.
    assert client.post(reverse("stations:switch"), {"station": other.pk}).status_code == 404


def test_organization_without_a_current_station_is_told(regions, client):
    org = make_org(regions)
    client.force_login(org.account)
    response = client.get(reverse("stations:workers"), follow=True)
    assert response.redirect_chain and "stations" not in response.redirect_chain[-1][0]


# --- Delete ------------------------------------------------------------------------------------------


def test_delete_keeps_the_record_and_ends_access(alice, regions, client):
    org = make_org(regions)
    station, _pw = create_station(alice, regions, operators=[
        {"organization": org, "valid_from": TODAY, "valid_to": TODAY + datetime.timedelta(days=30)}])
    client.force_login(alice)
    page = client.get(reverse("stations:delete", args=[station.pk])).content.decode()
    assert 'data-testid="delete-consequences"' in page and station.account.username in page
    # Without the confirmation box nothing happens.
    client.post(reverse("stations:delete", args=[station.pk]), {"reason": "撤并"})
    assert not Station.objects.get(pk=station.pk).is_deleted
    client.post(reverse("stations:delete", args=[station.pk]), {"reason": "撤并", "confirm": "on"})
    station.refresh_from_db()
    assert station.is_deleted and station.deleted_reason == "撤并" and station.deleted_by == alice
    assert not station.account.is_active
    assert not Station.objects.owned_by(org.account).active().exists()
    assert station.code not in client.get(reverse("stations:list")).content.decode()
    assert client.get(reverse("stations:detail", args=[station.pk])).status_code == 200  # history stays
    assert station.history.filter(history_change_reason="deleted").exists()


# --- Workers -----------------------------------------------------------------------------------------


def registered(regions, level="intermediate", years=3):
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"], gender="female", mobile="13812345678",
                                 employer="阳光社工中心",
                                 work_start_date=TODAY - datetime.timedelta(days=int(365.25 * years) + 2))
    RegistrationFactory(worker=worker, qualification__level=level,
                        valid_from=TODAY - datetime.timedelta(days=30))
    return worker


def test_synced_worker_copies_registry_and_stays_read_only(alice, regions, django_capture_on_commit_callbacks):
    station, _pw = create_station(alice, regions)
    sw = registered(regions)
    post = services.station_worker_add_synced(station=station, social_worker=sw, is_head=True, actor=station.account)
    assert post.source == StationWorker.Source.SYNCED
    assert (post.name, post.id_number, post.level, post.mobile) == (sw.name, sw.id_number, "intermediate", "13812345678")
    services.station_worker_update(worker=post, data={"name": "改名", "level": "none", "is_head": False},
                                   actor=station.account)
    post.refresh_from_db()
    assert post.name == sw.name and post.level == "intermediate" and post.is_head is False
    # The registry changes: the post follows.
    with django_capture_on_commit_callbacks(execute=True):
        sw.mobile = "13900001111"
        sw.save()
    post.refresh_from_db()
    assert post.mobile == "13900001111"


def test_only_registered_workers_sync(alice, regions):
    station, _pw = create_station(alice, regions)
    unregistered = SocialWorkerFactory(work_region=regions["洪桥街道"])
    assert services.registered_worker_find(unregistered.id_number) is None
    with pytest.raises(services.StationError):
        services.station_worker_add_synced(station=station, social_worker=unregistered, actor=station.account)


def test_manual_worker_duplicate_and_leave(alice, regions):
    station, _pw = create_station(alice, regions)
    data = dict(name="手工录入", gender="male", id_number=make_id_number(), mobile="13700000000",
                employer="站点", level=WorkerLevel.NONE, certificate_no="", is_head=False, practice_since=None,
                joined_on=datetime.date(2024, 1, 1))
    post = services.station_worker_add_manual(station=station, data=data, actor=station.account)
    assert post.source == StationWorker.Source.MANUAL
    with pytest.raises(services.StationError):
        services.station_worker_add_manual(station=station, data=data, actor=station.account)
    services.station_worker_leave(worker=post, left_on=datetime.date(2025, 6, 30), reason="辞职", actor=station.account)
    post.refresh_from_db()
    assert post.left_on == datetime.date(2025, 6, 30) and StationWorker.objects.filter(pk=post.pk).exists()
    assert not station.workers.current().exists()
    # After leaving, the same person can be taken on again.
    again = services.station_worker_add_manual(station=station, data=data, actor=station.account)
    assert again.pk != post.pk


def test_station_adds_synced_and_manual_workers_through_pages(alice, regions, client):
    station, _pw = create_station(alice, regions)
    sw = registered(regions)
    station_login(client, station)
    page = client.post(reverse("stations:worker-add"), {"mode": "lookup", "id_number": sw.id_number}).content.decode()
    assert 'data-testid="found"' in page and mask_name(sw.name) in page and sw.name not in page
    client.post(reverse("stations:worker-add"), {"mode": "synced", "is_head": "on", "joined_on": "2026-01-05"})
    client.post(reverse("stations:worker-add"), {
        "mode": "manual", "name": "王手工", "gender": "male", "id_number": make_id_number(), "mobile": "13700000000",
        "employer": "洪桥街道社工站", "level": "assistant", "certificate_no": "ZS2022001", "joined_on": "2026-01-05",
    })
    page = client.get(reverse("stations:workers")).content.decode()
    assert 'data-testid="source-synced"' in page and 'data-testid="source-manual"' in page
    assert list(station.workers.order_by("source").values_list("source", flat=True)) == ["manual", "synced"]
    page = client.post(reverse("stations:worker-add"), {"mode": "lookup", "id_number": make_id_number()}).content.decode()
    assert 'data-testid="not-found"' in page and 'data-testid="found"' not in page
    # A bad check digit is refused with a message, not looked up.
    page = client.post(reverse("stations:worker-add"), {"mode": "lookup", "id_number": "440104199001011234"}).content.decode()
    assert "invalid-feedback" in page and 'data-testid="not-found"' not in page


def test_synced_add_goes_by_id_number_only(alice, regions, client):
    """The registry is reached by the ID number the worker gives (a lookup first), never by a database id or an
    ID number posted straight to the add."""
    station, _pw = create_station(alice, regions)
    unregistered = SocialWorkerFactory(work_region=regions["洪桥街道"])
    station_login(client, station)
    client.post(reverse("stations:worker-add"), {"mode": "synced", "social_worker": registered(regions).pk,
                                                 "joined_on": "2026-01-05"})
    client.post(reverse("stations:worker-add"), {"mode": "synced", "id_number": unregistered.id_number,
                                                 "joined_on": "2026-01-05"})
    assert not station.workers.exists()


def test_station_cannot_open_another_stations_worker(alice, regions, client):
    station, _pw = create_station(alice, regions)
    other, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    sw = registered(regions)
    type(sw).objects.filter(pk=sw.pk).update(work_region=regions["北京街道"])  # linked to the other station
    post = services.station_worker_add_synced(station=other, social_worker=sw, actor=other.account)
    station_login(client, station)
    assert client.get(reverse("stations:worker-edit", args=[post.pk])).status_code == 404
    assert client.post(reverse("stations:worker-leave", args=[post.pk]), {"left_on": "2026-01-01"}).status_code == 404


def test_official_worker_overview_scoped_and_searchable(alice, charlie, regions, client):
    station, _pw = create_station(alice, regions)
    sw = registered(regions)
    services.station_worker_add_synced(station=station, social_worker=sw, actor=station.account)
    client.force_login(alice)
    assert sw.name in client.get(reverse("stations:worker-overview"), {"q": sw.id_number},
                                 follow=True).content.decode()
    assert sw.name in client.get(reverse("stations:worker-overview"), {"station": station.code[:12]}).content.decode()
    assert sw.name not in client.get(reverse("stations:worker-overview"), {"station": "不存在"}).content.decode()
    client.force_login(charlie)
    assert sw.name not in client.get(reverse("stations:worker-overview")).content.decode()


# --- Staffing rules ----------------------------------------------------------------------------------


def test_staffing_warnings(alice, regions, village):
    station, _pw = create_station(alice, regions)
    assert services.staffing_warnings(station)  # no head at all
    junior = services.station_worker_add_synced(station=station, social_worker=registered(regions, years=1),
                                                is_head=True, actor=station.account)
    assert len(services.staffing_warnings(station)) == 1  # a head, but one year of practice
    services.station_worker_update(worker=junior, data={"is_head": False}, actor=station.account)
    services.station_worker_add_synced(station=station, social_worker=registered(regions, level="assistant"),
                                       is_head=True, actor=station.account)
    assert services.staffing_warnings(station)  # assistant level is not enough
    services.station_worker_add_synced(station=station, social_worker=registered(regions, years=2),
                                       is_head=True, actor=station.account)
    assert services.staffing_warnings(station) == []

    room, _pw = create_station(alice, regions, tier=Tier.ROOM, region=village, name="华侨新村社工室")
    assert services.staffing_warnings(room)
    services.station_worker_add_synced(station=room, social_worker=registered(regions, level="assistant"),
                                       actor=room.account)
    assert services.staffing_warnings(room) == []


def test_warning_shown_on_the_station_page(alice, regions, client):
    station, _pw = create_station(alice, regions)
    client.force_login(alice)
    assert 'data-testid="staffing-warnings"' in client.get(reverse("stations:detail", args=[station.pk])).content.decode()


# --- Lists ------------------------------------------------------------------------------------------


def test_list_search_tree_and_export(alice, regions, client):
    org = make_org(regions)
    a, _pw = create_station(alice, regions, funding=[{"year": 2025, "amount": 30}], operators=[
        {"organization": org, "valid_from": TODAY, "valid_to": TODAY + datetime.timedelta(days=30)}])
    b, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    client.force_login(alice)
    page = client.get(reverse("stations:list"), {"q": "北京"}).content.decode()
    assert b.code in page and a.code not in page
    page = client.get(reverse("stations:list"), {"region": regions["洪桥街道"].pk}).content.decode()
    assert a.code in page and b.code not in page
    response = client.get(reverse("stations:list"), {"q": "洪桥", "export": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.values)
    assert len(rows) == 2 and rows[1][0] == a.code and rows[1][-1] == org.name
    # Phones are masked in files, as everywhere PII leaves the page (the contact person's mobile).
    assert rows[1][6] == mask_phone(a.contact_phone) != a.contact_phone


def test_list_query_count_does_not_grow(alice, regions, client, django_assert_max_num_queries):
    org = make_org(regions)
    for i in range(3):
        create_station(alice, regions, name=f"站{i}", operators=[
            {"organization": org, "valid_from": TODAY, "valid_to": TODAY + datetime.timedelta(days=30)}])
    client.force_login(alice)
    with django_assert_max_num_queries(12) as first:
        client.get(reverse("stations:list"))
    for i in range(10):
        create_station(alice, regions, name=f"更多{i}")
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(reverse("stations:list"))


def test_worker_overview_query_count_does_not_grow(alice, regions, client, django_assert_max_num_queries):
    station, _pw = create_station(alice, regions)
    services.station_worker_add_synced(station=station, social_worker=registered(regions), actor=station.account)
    client.force_login(alice)
    with django_assert_max_num_queries(12) as first:
        client.get(reverse("stations:worker-overview"))
    for _ in range(8):
        services.station_worker_add_synced(station=station, social_worker=registered(regions), actor=station.account)
    with django_assert_max_num_queries(len(first.captured_queries)):
        page = client.get(reverse("stations:worker-overview")).content.decode()
    assert page.count('<tr><td>') >= 9


def test_station_workers_list_query_count_does_not_grow(alice, regions, client, django_assert_max_num_queries):
    station, _pw = create_station(alice, regions)
    services.station_worker_add_synced(station=station, social_worker=registered(regions), actor=station.account)
    station_login(client, station)
    with django_assert_max_num_queries(15) as first:
        client.get(reverse("stations:workers"))
    for _ in range(8):
        services.station_worker_add_synced(station=station, social_worker=registered(regions), actor=station.account)
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(reverse("stations:workers"))
    assert len(response.context["page"]) == 9
