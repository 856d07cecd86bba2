"""Issue #16: a station's registry lookup (add-worker page) answers only for workers linked to the station
(work region in the station's area, or employer = its operating organization), with the masked name,
registration number and status only; the same "not found" for an unknown number and for a worker not
linked; rate-limited per station account and per address (429); every lookup in the security event log."""

import datetime

import pytest
from django.urls import reverse

from accounts.models import SecurityEvent
from stations import services
from swms import ratelimit
from swms.pii import mask_id_number, mask_name
from tests.factories import RegistrationFactory, SocialWorkerFactory, make_id_number
from tests.test_stations import create_station, make_org, station_login
from tests.today import TODAY

URL = "stations:worker-add"


@pytest.fixture(autouse=True)
def _fresh_counters():
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def worker_in(region, employer="某社工机构", name="欧阳明华", mobile="13812345678"):
    worker = SocialWorkerFactory(work_region=region, gender="female", mobile=mobile, employer=employer, name=name,
                                 work_start_date=TODAY - datetime.timedelta(days=1000))
    RegistrationFactory(worker=worker, qualification__level="intermediate",
                        valid_from=TODAY - datetime.timedelta(days=30))
    return worker


def lookup(client, id_number, **extra):
    return client.post(reverse(URL), {"mode": "lookup", "id_number": id_number}, **extra)


def assert_no_personal_data(page, worker):
    assert worker.name not in page
    assert worker.id_number not in page
    assert worker.mobile not in page
    assert worker.employer not in page


def test_cross_region_lookup_answers_not_found_without_data(alice, regions, client):
    station, _pw = create_station(alice, regions)  # 洪桥街道, 越秀区
    outsider = worker_in(regions["沙面街道"])  # another district, another employer
    station_login(client, station)
    response = lookup(client, outsider.id_number)
    page = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="not-found"' in page and 'data-testid="found"' not in page
    assert mask_name(outsider.name) not in page
    assert_no_personal_data(page, outsider)
    # The very same answer as for a number nobody has (no oracle).
    unknown = lookup(client, make_id_number()).content.decode()
    assert 'data-testid="not-found"' in unknown
    # And it cannot be added by posting to the add step either.
    client.post(reverse(URL), {"mode": "synced", "joined_on": TODAY.isoformat()})
    assert not station.workers.exists()
    with pytest.raises(services.StationError):
        services.station_worker_add_synced(station=station, social_worker=outsider, actor=station.account)


def test_linked_worker_shows_masked_name_and_status_only(alice, regions, client):
    station, _pw = create_station(alice, regions)
    linked = worker_in(regions["洪桥街道"])
    station_login(client, station)
    response = lookup(client, linked.id_number)
    page = response.content.decode()
    assert response.status_code == 200 and 'data-testid="found"' in page
    assert mask_name(linked.name) in page
    registration = linked.registrations.get()
    assert registration.registration_no in page
    assert_no_personal_data(page, linked)  # the full name, ID number, phone never in the response
    # Adding them syncs the registry's data, as before.
    response = client.post(reverse(URL), {"mode": "synced", "is_head": "on", "joined_on": TODAY.isoformat()})
    assert response.status_code == 302
    post = station.workers.get()
    assert post.source == "synced" and post.social_worker == linked and post.name == linked.name


def test_worker_of_the_operating_organization_is_linked_across_regions(alice, regions, client):
    org = make_org(regions)
    station, _pw = create_station(alice, regions, operators=[
        {"organization": org, "valid_from": TODAY - datetime.timedelta(days=10),
         "valid_to": TODAY + datetime.timedelta(days=300)}])
    employee = worker_in(regions["沙面街道"], employer=org.name)
    stranger = worker_in(regions["沙面街道"], employer="别的机构", name="李四")
    assert services.registered_worker_linked(station, employee.id_number) == employee
    assert services.registered_worker_linked(station, stranger.id_number) is None
    station_login(client, station)
    assert 'data-testid="found"' in lookup(client, employee.id_number).content.decode()


def test_a_room_looks_up_the_workers_of_its_town(alice, regions):
    from accounts.models import Region
    from stations.models import Tier

    village = Region.objects.create(code="440104001001", name="华侨新村社区", level="village",
                                    parent=regions["洪桥街道"])
    room, _pw = create_station(alice, regions, tier=Tier.ROOM, region=village, name="华侨新村社工室")
    town_worker = worker_in(regions["洪桥街道"])
    neighbour = worker_in(regions["北京街道"], name="王五")
    assert services.registered_worker_linked(room, town_worker.id_number) == town_worker
    assert services.registered_worker_linked(room, neighbour.id_number) is None


def test_unlinked_worker_can_still_be_entered_by_hand(alice, regions, client):
    station, _pw = create_station(alice, regions)
    outsider = worker_in(regions["沙面街道"])
    station_login(client, station)
    response = client.post(reverse(URL), {
        "mode": "manual", "name": outsider.name, "gender": "female", "id_number": outsider.id_number,
        "mobile": "13700000000", "employer": "洪桥街道社工站", "level": "none", "joined_on": TODAY.isoformat(),
    })
    assert response.status_code == 302
    post = station.workers.get()
    assert post.source == "manual" and post.social_worker is None and post.mobile == "13700000000"


def test_every_lookup_is_an_event_with_the_id_number_masked(alice, regions, client):
    station, _pw = create_station(alice, regions)
    linked = worker_in(regions["洪桥街道"])
    outsider = worker_in(regions["沙面街道"], name="赵六")
    station_login(client, station)
    lookup(client, linked.id_number)
    lookup(client, outsider.id_number)
    events = list(SecurityEvent.objects.filter(kind=SecurityEvent.Kind.WORKER_LOOKUP).order_by("pk"))
    assert [e.success for e in events] == [True, False]
    assert [e.username for e in events] == [mask_id_number(linked.id_number), mask_id_number(outsider.id_number)]
    assert all(e.actor == station.account and station.code in e.detail for e in events)
    assert not any(linked.id_number in e.detail or outsider.id_number in e.detail for e in events)


def test_lookups_over_the_hourly_limit_answer_429(alice, regions, client, settings):
    settings.SWMS_WORKER_LOOKUP_PER_HOUR = 3
    station, _pw = create_station(alice, regions)
    linked = worker_in(regions["洪桥街道"])
    station_login(client, station)
    for _i in range(3):
        assert lookup(client, make_id_number()).status_code == 200
    response = lookup(client, linked.id_number)
    page = response.content.decode()
    assert response.status_code == 429 and 'data-testid="lookup-limited"' in page
    assert 'data-testid="found"' not in page and mask_name(linked.name) not in page
    limited = SecurityEvent.objects.get(kind=SecurityEvent.Kind.RATE_LIMITED)
    assert not limited.success and limited.actor == station.account
    assert limited.username == mask_id_number(linked.id_number)
    # The over-limit attempt did not look anything up.
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.WORKER_LOOKUP).count() == 3


def test_the_limit_also_counts_per_address_across_station_accounts(alice, regions, client, settings):
    settings.SWMS_WORKER_LOOKUP_PER_HOUR = 2
    first, _pw = create_station(alice, regions)
    second, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    station_login(client, first)
    for _i in range(2):
        assert lookup(client, make_id_number(), REMOTE_ADDR="10.1.2.3").status_code == 200
    station_login(client, second)  # another account, the same address
    assert lookup(client, make_id_number(), REMOTE_ADDR="10.1.2.3").status_code == 429
    assert lookup(client, make_id_number(), REMOTE_ADDR="10.9.9.9").status_code == 200


def test_ratelimit_hit_counts_in_a_window():
    key = "test:ratelimit"
    ratelimit.reset(key)
    assert [ratelimit.hit(key, 2, 60) for _i in range(4)] == [True, True, False, False]
    ratelimit.reset(key)
    assert ratelimit.hit(key, 2, 60)
