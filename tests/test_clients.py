"""Clients (服务对象, manual 2.5): the station's pages and rules, and officials' read-only view."""

import datetime
import io

import pytest
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from openpyxl import load_workbook
from stdnum.cn import ric

from services import clients as client_services
from services.clients import ClientError, client_delete, client_save
from services.models import Activity, Client
from stations.models import StationWorker
from swms.pii import mask_id_number
from tests.factories import make_id_number
from tests.test_stations import create_station, make_org, station_login
from tests.today import TODAY

pytestmark = pytest.mark.usefixtures("english")  # messages asserted in their English source



def id_number(birth=datetime.date(1950, 3, 4), seq=123, area="440104"):
    """A valid ID number; an odd sequence code is a man, an even one a woman."""
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")


def data(**kw):
    values = dict(name="王伟", gender="male", id_number="", birth_date=datetime.date(1950, 3, 4), age=None,
                  person_types=["elderly"], phone="13800000001", address="洪桥街2号", notes="", filed=True)
    values.update(kw)
    return values


@pytest.fixture
def station(alice, regions):
    station, _pw = create_station(alice, regions)
    return station


@pytest.fixture
def beijing_station(alice, regions):
    station, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    return station


@pytest.fixture
def shamian_station(charlie, regions):
    station, _pw = create_station(charlie, regions, name="沙面街道社工站", region=regions["沙面街道"])
    return station


def add(station, **kw):
    return client_save(station=station, data=data(**kw), actor=station.account)


def make_activity(station, clients, code, **kw):
    worker = StationWorker.objects.filter(station=station).first() or StationWorker.objects.create(
        station=station, source="manual", name="陈社工", gender="female", id_number=make_id_number())
    values = dict(station=station, category="visit", code=code, name="探访独居长者", lead_worker=worker,
                  contact_phone="020-1", service_domains=["elderly_care"], started_at=timezone.now())
    values.update(kw)
    activity = Activity.objects.create(**values)
    activity.clients.add(*clients)
    return activity


# --- Service rules ----------------------------------------------------------------------------------


def test_add_and_edit_keep_history_and_manual_source(station):
    client = add(station, person_types=["dibao", "elderly", "dibao"])
    assert client.source == Client.Source.MANUAL and client.created_by == station.account
    assert client.person_types == ["elderly", "dibao"]  # deduplicated, in the declared order
    client_save(station=station, client=client, data=data(name="王伟强", filed=False), actor=station.account)
    client.refresh_from_db()
    assert client.name == "王伟强" and client.filed is False
    history = list(client.history.order_by("history_date"))
    assert [h.history_type for h in history] == ["+", "~"]
    assert history[-1].history_user == station.account


def test_id_number_gives_birth_date_and_gender_and_is_stored_normalized(station):
    number = next(n for n in (id_number(datetime.date(1948, 12, 1), seq=s) for s in range(0, 1000, 2))
                  if n.endswith("X"))
    entered = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９x"))
    client = add(station, id_number=f" {entered} ", gender="", birth_date=None)
    assert client.id_number == number
    assert client.birth_date == datetime.date(1948, 12, 1)
    assert client.gender == "female"  # an even sequence code


@pytest.mark.parametrize("bad, message", [
    ("44010419500304123", "18 characters"),
    ("440104195013041230", "not a real date"),
])
def test_invalid_id_number_refused(station, bad, message):
    with pytest.raises(ClientError, match=message) as e:
        add(station, id_number=bad)
    assert e.value.field == "id_number"
    good = id_number()
    wrong_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(ClientError, match="check digit"):
        add(station, id_number=wrong_check)
    assert not Client.objects.exists()


def test_birth_date_or_gender_contradicting_the_id_number_refused(station):
    number = id_number(datetime.date(1950, 3, 4), seq=123)
    with pytest.raises(ClientError, match="1950-03-04") as e:
        add(station, id_number=number, birth_date=datetime.date(1950, 3, 5))
    assert e.value.field == "birth_date"
    with pytest.raises(ClientError) as e:
        add(station, id_number=number, gender="female")
    assert e.value.field == "gender"
    assert add(station, id_number=number).birth_date == datetime.date(1950, 3, 4)


def test_birth_date_or_age_required_and_birth_date_wins(station):
    with pytest.raises(ClientError) as e:
        add(station, birth_date=None, age=None)
    assert e.value.field == "birth_date"
    with pytest.raises(ClientError, match="future"):
        add(station, birth_date=TODAY + datetime.timedelta(days=1))
    by_age = add(station, birth_date=None, age=72, phone="")
    assert by_age.age == 72 and by_age.age_on() == 72
    both = add(station, name="李娜", birth_date=datetime.date(2000, 1, 1), age=30)
    assert both.age is None  # the age follows from the birth date and would only go stale
    with pytest.raises(ClientError):
        add(station, name="无性别", gender="")


def test_same_id_number_twice_at_a_station_is_caught_naming_the_first(station, beijing_station):
    number = id_number()
    first = add(station, id_number=number)
    with pytest.raises(ClientError) as e:
        add(station, id_number=number, name="王伟伟", phone="13900000000")
    assert "王伟" in e.value.message and timezone.localdate(first.created_at).isoformat() in e.value.message
    assert "ID number" in e.value.message and e.value.field == "id_number"
    # Editing the client itself is no duplicate; another station may serve the same person.
    client_save(station=station, client=first, data=data(id_number=number, notes="复评"), actor=station.account)
    assert add(beijing_station, id_number=number).station == beijing_station
    assert Client.objects.filter(id_number=number).count() == 2


def test_same_name_birth_date_and_phone_without_id_number_is_caught(station, beijing_station):
    first = add(station)
    with pytest.raises(ClientError, match="name, birth date and phone") as e:
        add(station, address="别处")
    assert first.name in e.value.message
    assert add(station, phone="13800000002").pk  # a different phone: another person
    assert add(beijing_station).pk  # another station
    # An ID number given now, none on the first record: still the same person.
    with pytest.raises(ClientError):
        add(station, id_number=id_number())


def test_two_different_id_numbers_are_two_people(station):
    add(station, id_number=id_number(seq=123))
    assert add(station, id_number=id_number(seq=125)).pk


def test_edit_into_a_duplicate_refused(station):
    add(station, id_number=id_number(seq=123))
    other = add(station, name="张三", phone="13700000000", id_number=id_number(seq=125))
    with pytest.raises(ClientError):
        client_save(station=station, client=other, data=data(id_number=id_number(seq=123)), actor=station.account)
    other.refresh_from_db()
    assert other.id_number == id_number(seq=125)


def test_database_constraint_race_becomes_the_same_clear_error(station, monkeypatch):
    """Two sessions checked at once: the unique constraint refuses the second, with the same message."""
    number = id_number()
    add(station, id_number=number)
    real = client_services.client_duplicate
    calls = []

    def blind_first(**kw):
        calls.append(kw)
        return None if len(calls) == 1 else real(**kw)

    monkeypatch.setattr(client_services, "client_duplicate", blind_first)
    with pytest.raises(ClientError, match="already registered"):
        add(station, id_number=number, name="王伟伟")
    assert len(calls) == 2 and Client.objects.filter(id_number=number).count() == 1


def test_delete_is_soft_and_keeps_activity_links(station, client):
    person = add(station)
    activity = make_activity(station, [person], "A-1")
    client_delete(client=person, actor=station.account)
    person.refresh_from_db()
    assert person.deleted_at is not None
    assert list(activity.clients.all()) == [person]
    assert list(Client.objects.active()) == []
    with pytest.raises(ClientError):
        client_delete(client=person, actor=station.account)
    with pytest.raises(ClientError):
        client_save(station=station, client=person, data=data(), actor=station.account)
    # The same person may be registered again once the old record is deleted.
    assert add(station).pk != person.pk
    assert person.history.latest().history_type == "~"


# --- Station pages ----------------------------------------------------------------------------------


def test_station_adds_edits_and_deletes_through_the_pages(station, client):
    station_login(client, station)
    number = id_number(seq=321)
    response = client.post(reverse("services:client-new"), {
        "name": "赵丽丽", "gender": "", "id_number": number, "birth_date": "", "age": "",
        "person_types": ["elderly", "low_income"], "phone": "13800001111", "address": "洪桥街3号", "notes": "",
        "filed": "on",
    })
    person = Client.objects.get(name="赵丽丽")
    assert response.status_code == 302 and response["Location"] == reverse("services:client-detail", args=[person.pk])
    assert (person.gender, person.birth_date, person.filed) == ("male", datetime.date(1950, 3, 4), True)
    assert person.person_types == ["elderly", "low_income"]
    page = client.get(reverse("services:client-detail", args=[person.pk])).content.decode()
    # Masked on the page, shown in full through 显示完整号码 (tests/test_reveal.py).
    assert number not in page and "13800001111" not in page
    assert mask_id_number(number) in page and "138****1111" in page
    page = client.get(reverse("services:client-edit", args=[person.pk])).content.decode()
    assert 'value="1950-03-04"' in page and 'value="low_income"' in page
    response = client.post(reverse("services:client-edit", args=[person.pk]), {
        "name": "赵丽丽", "gender": "male", "id_number": number, "birth_date": "1950-03-04",
        "person_types": ["disabled"], "phone": "13800002222", "address": "", "notes": "轮椅",
    })
    assert response.status_code == 302
    person.refresh_from_db()
    assert person.person_types == ["disabled"] and person.phone == "13800002222" and person.filed is False
    assert client.get(reverse("services:client-delete", args=[person.pk])).status_code == 200
    response = client.post(reverse("services:client-delete", args=[person.pk]))  # not confirmed
    assert response.status_code == 200
    person.refresh_from_db()
    assert person.deleted_at is None
    response = client.post(reverse("services:client-delete", args=[person.pk]), {"confirm": "on"})
    assert response.status_code == 302 and response["Location"] == reverse("services:client-list")
    person.refresh_from_db()
    assert person.deleted_at is not None
    page = client.get(reverse("services:client-list")).content.decode()
    assert "赵丽丽 was deleted." in page and "赵丽丽" not in page.split('data-testid="client-table"')[1]
    assert client.get(reverse("services:client-edit", args=[person.pk])).status_code == 404
    page = client.get(reverse("services:client-detail", args=[person.pk])).content.decode()
    assert 'data-testid="client-deleted"' in page and 'data-testid="client-edit"' not in page


def test_form_shows_refusals_on_the_page(station, client):
    add(station, id_number=id_number())
    station_login(client, station)
    base = {"name": "王伟", "gender": "male", "birth_date": "", "age": "", "phone": "", "address": "", "notes": ""}
    page = client.post(reverse("services:client-new"), {**base, "id_number": "440104195003041"}).content.decode()
    assert "18 characters" in page
    page = client.post(reverse("services:client-new"), {**base, "id_number": id_number()}).content.decode()
    assert "already registered" in page and "王伟" in page
    page = client.post(reverse("services:client-new"), {**base, "id_number": ""}).content.decode()
    assert "Give the birth date" in page
    assert Client.objects.count() == 1


def test_client_page_lists_the_activities_taken_part_in(station, client):
    person = add(station)
    other = add(station, name="李娜", phone="13900000009")
    earlier = make_activity(station, [person], "A-1", name="长者探访", started_at=timezone.now() - datetime.timedelta(days=3))
    later = make_activity(station, [person, other], "A-2", category="group", name="长者互助小组")
    not_hers = make_activity(station, [other], "A-3", name="儿童托管")
    gone = make_activity(station, [person], "A-4", name="已删活动", deleted_at=timezone.now())
    station_login(client, station)
    page = client.get(reverse("services:client-detail", args=[person.pk])).content.decode()
    table = page.split('data-testid="client-activities"')[1]
    assert later.code in table and earlier.code in table and "Group work" in table and "Home visit" in table
    assert table.index(later.code) < table.index(earlier.code)  # newest first
    assert not_hers.code not in table and gone.code not in table
    try:
        link = reverse("services:activity-detail", kwargs={"pk": later.pk})
    except NoReverseMatch:  # activities' pages not built yet: rows without links
        assert 'href="/services/activities' not in table
    else:
        assert f'href="{link}"' in table


def test_station_cannot_open_another_stations_client(station, beijing_station, client):
    theirs = add(beijing_station, name="别站对象")
    add(station, name="本站对象")
    station_login(client, station)
    for name in ("services:client-detail", "services:client-edit", "services:client-delete"):
        assert client.get(reverse(name, args=[theirs.pk])).status_code == 404, name
    assert client.post(reverse("services:client-delete", args=[theirs.pk]), {"confirm": "on"}).status_code == 404
    page = client.get(reverse("services:client-list")).content.decode()
    assert "本站对象" in page and "别站对象" not in page
    theirs.refresh_from_db()
    assert theirs.deleted_at is None


def test_operator_organization_works_on_its_stations_clients(alice, regions, client):
    org = make_org(regions)
    station, _pw = create_station(alice, regions, operators=[
        {"organization": org, "valid_from": TODAY, "valid_to": TODAY + datetime.timedelta(days=30)}])
    other, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    mine = add(station, name="机构站对象")
    theirs = add(other, name="非承办站对象")
    client.force_login(org.account)
    page = client.get(reverse("services:client-list")).content.decode()
    assert "机构站对象" in page and "非承办站对象" not in page
    assert client.get(reverse("services:client-detail", args=[mine.pk])).status_code == 200
    assert client.get(reverse("services:client-detail", args=[theirs.pk])).status_code == 404
    response = client.post(reverse("services:client-new"), {
        "name": "新对象", "gender": "female", "birth_date": "1960-01-01", "phone": "", "address": "", "notes": ""})
    assert response.status_code == 302
    created = Client.objects.get(name="新对象")
    assert created.station == station and created.created_by == org.account


def test_station_list_search_and_person_type(station, client):
    add(station, name="张老伯", phone="13511112222", person_types=["elderly"])
    add(station, name="小明", phone="13633334444", birth_date=datetime.date(2015, 6, 1), person_types=["left_behind"])
    add(station, name="陈女士", phone="13755556666", id_number=id_number(seq=222), birth_date=None, gender="",
        person_types=["dibao"])
    station_login(client, station)
    url = reverse("services:client-list")

    def names(**params):
        page = client.get(url, params, follow=True).content.decode()  # an ID number: redirected to its hash
        return {n for n in ("张老伯", "小明", "陈女士") if n in page}

    assert names() == {"张老伯", "小明", "陈女士"}
    assert names(q="小") == {"小明"}
    assert names(q="13633334444") == {"小明"}  # a whole phone number (encrypted: no partial match)
    assert names(q="1363333") == set()
    assert names(q=id_number(seq=222)) == {"陈女士"}
    assert names(person_type="left_behind") == {"小明"}
    assert names(person_type="child") == set()  # "child" must not match "distressed_child" or similar
    assert names(q="张", person_type="dibao") == set()


def test_station_list_query_count_does_not_grow(station, client, django_assert_max_num_queries):
    add(station, name="甲", phone="1")
    station_login(client, station)
    with django_assert_max_num_queries(15) as first:
        assert client.get(reverse("services:client-list")).status_code == 200
    for i in range(12):
        add(station, name=f"对象{i}", phone=str(i + 10))
    with django_assert_max_num_queries(len(first.captured_queries)):
        page = client.get(reverse("services:client-list")).content.decode()
    assert page.count('data-testid="client-row"') == 13


# --- Officials -----------------------------------------------------------------------------------


@pytest.fixture
def spread(station, beijing_station, shamian_station):
    """Clients at 洪桥 and 北京街道 (越秀区) and at 沙面 (荔湾区)."""
    return {
        "hq": add(station, name="洪桥老人", id_number=id_number(seq=131), birth_date=None, gender="",
                  person_types=["elderly", "dibao"], filed=True),
        "bj": add(beijing_station, name="北京儿童", birth_date=datetime.date(2016, 5, 1), gender="female",
                  person_types=["left_behind"], filed=False),
        "bj_age": add(beijing_station, name="北京居民", birth_date=None, age=45, gender="male",
                      person_types=["resident"], phone="13900000045", filed=False),
        "sm": add(shamian_station, name="沙面对象", person_types=["elderly"]),
    }


def test_officials_see_their_subtree_only(spread, alice, charlie, city_official, regions, client):
    client.force_login(alice)
    url = reverse("services:official-client-list")
    page = client.get(url).content.decode()
    assert all(n in page for n in ("洪桥老人", "北京儿童", "北京居民")) and "沙面对象" not in page
    number = spread["hq"].id_number
    assert number not in page and f"{number[:6]}********{number[-4:]}" in page  # masked in the list
    page = client.get(url, {"region": regions["洪桥街道"].pk}).content.decode()
    assert "洪桥老人" in page and "北京儿童" not in page
    assert client.get(url, {"region": regions["沙面街道"].pk}).status_code == 404
    visit = make_activity(spread["hq"].station, [spread["hq"]], "A-9", name="长者探访")
    detail = client.get(reverse("services:official-client-detail", args=[spread["hq"].pk]))
    assert detail.status_code == 200 and number not in detail.content.decode()
    assert visit.code in detail.content.decode().split('data-testid="client-activities"')[1]
    assert client.get(reverse("services:official-client-detail", args=[spread["sm"].pk])).status_code == 404

    client.force_login(charlie)
    page = client.get(url).content.decode()
    assert "沙面对象" in page and not any(n in page for n in ("洪桥老人", "北京儿童", "北京居民"))
    for key in ("hq", "bj"):
        assert client.get(reverse("services:official-client-detail", args=[spread[key].pk])).status_code == 404

    client.force_login(city_official)
    page = client.get(url).content.decode()
    assert all(n in page for n in ("洪桥老人", "北京儿童", "北京居民", "沙面对象"))


def test_deleted_clients_leave_officials_lists(spread, alice, client):
    client_delete(client=spread["bj"], actor=spread["bj"].station.account)
    client.force_login(alice)
    page = client.get(reverse("services:official-client-list")).content.decode()
    assert "北京儿童" not in page and "洪桥老人" in page
    assert client.get(reverse("services:official-client-detail", args=[spread["bj"].pk])).status_code == 404


def test_official_filters(spread, alice, client):
    client.force_login(alice)
    url = reverse("services:official-client-list")

    def names(**params):
        page = client.get(url, params, follow=True).content.decode()  # an ID number: redirected to its hash
        return {n for n in ("洪桥老人", "北京儿童", "北京居民") if n in page}

    assert names(person_type="dibao") == {"洪桥老人"}
    assert names(filed="yes") == {"洪桥老人"} and names(filed="no") == {"北京儿童", "北京居民"}
    assert names(gender="female") == {"北京儿童"}
    assert names(station="北京") == {"北京儿童", "北京居民"}
    assert names(station=spread["hq"].station.code) == {"洪桥老人"}
    assert names(source="manual") == {"洪桥老人", "北京儿童", "北京居民"} and names(source="synced") == set()
    # Ages from the birth date (洪桥老人 born 1950, 北京儿童 2016) or the recorded age (北京居民 45).
    assert names(age_min=60) == {"洪桥老人"}
    assert names(age_min=40, age_max=50) == {"北京居民"}
    assert names(age_max=17) == {"北京儿童"}
    assert names(q="居民") == {"北京居民"}
    assert names(q=spread["hq"].id_number) == {"洪桥老人"}
    assert names(q=spread["hq"].id_number[-6:]) == set()  # officials search whole ID numbers only


def test_official_filter_panel_open_only_when_used(spread, alice, client):
    client.force_login(alice)
    url = reverse("services:official-client-list")
    page = client.get(url).content.decode()
    assert 'class="collapse" id="client-filter-panel"' in page and 'data-bs-toggle="collapse"' in page
    page = client.get(url, {"q": "北京"}).content.decode()
    assert 'class="collapse" id="client-filter-panel"' in page
    page = client.get(url, {"gender": "female"}).content.decode()
    assert 'class="collapse show" id="client-filter-panel"' in page
    assert "<script" not in page.split("<main")[1] and "style=" not in page


def test_official_export_of_the_filtered_list(spread, alice, client):
    client.force_login(alice)
    response = client.get(reverse("services:official-client-list"), {"station": "北京", "export": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    assert len(rows[0]) == 12 and rows[0][0] == "full name" and len(rows) == 3
    by_name = {r[0]: r for r in rows[1:]}
    assert set(by_name) == {"北京儿童", "北京居民"}
    assert by_name["北京居民"][2] == 45 and by_name["北京居民"][5] == "139****0045"
    assert by_name["北京儿童"][8] == "北京街道社工站"
    response = client.get(reverse("services:official-client-list"), {"person_type": "dibao", "export": "xlsx"})
    rows = list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)
    number = spread["hq"].id_number
    assert len(rows) == 2 and rows[1][3] == f"{number[:6]}********{number[-4:]}"
    # The export link on the page carries the filters.
    page = client.get(reverse("services:official-client-list"), {"station": "北京", "page": "1"}).content.decode()
    assert "station=%E5%8C%97%E4%BA%AC&amp;export=xlsx" in page


def test_official_list_query_count_does_not_grow(station, alice, client, django_assert_max_num_queries):
    add(station, name="甲", phone="1", person_types=["resident"])
    client.force_login(alice)
    with django_assert_max_num_queries(15) as first:
        assert client.get(reverse("services:official-client-list")).status_code == 200
    for i in range(12):
        add(station, name=f"对象{i}", phone=str(i + 10), person_types=["elderly", "disabled"])
    with django_assert_max_num_queries(len(first.captured_queries)):
        page = client.get(reverse("services:official-client-list"), {"person_type": "elderly"}).content.decode()
    assert page.count('data-testid="client-row"') == 12


def test_officials_and_other_roles_cannot_use_the_station_pages(spread, alice, client):
    client.force_login(alice)
    assert client.get(reverse("services:client-list")).status_code == 403
    assert client.get(reverse("services:client-detail", args=[spread["hq"].pk])).status_code == 403
    station_login(client, spread["hq"].station)
    assert client.get(reverse("services:official-client-list")).status_code == 403
