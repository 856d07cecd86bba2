"""The province stored on each activity (#14, national scale): set from the station's region on save,
moved with a station and by a region import that moves regions, and used by the officials' lists."""

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Region
from accounts.regions_import import regions_import
from services.activities import refresh_activity_provinces
from services.models import Activity
from tests.conftest import TREE
from tests.test_activities import add_client, add_worker, make_activity
from tests.test_import_regions import tree_csv
from tests.test_stations import create_station


def _activity(official, regions, town, name):
    station, _pw = create_station(official, regions, name=name, region=regions[town])
    return make_activity(station, add_worker(station), [add_client(station)])


def test_an_activity_stores_the_province_of_its_stations_region(regions, alice, province_official):
    assert _activity(alice, regions, "洪桥街道", "洪桥站").province == regions["广东省"]
    # 东莞: towns directly under the city.
    assert _activity(province_official, regions, "东城街道", "东城站").province == regions["广东省"]
    assert regions["北京市"].province_pk() == regions["北京市"].pk
    assert regions["沙嘴街道"].province_pk() == regions["湖北省"].pk  # under a province-administered city
    assert regions["广东省"].province_pk() == regions["广东省"].pk


def test_the_officials_list_walks_its_provinces_rows_and_shows_the_same_rows(client, regions, alice,
                                                                              province_official):
    here = _activity(alice, regions, "洪桥街道", "洪桥站")
    client.force_login(province_official)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("services:official-activity-list"))
    assert [a.pk for a in response.context["page"].object_list] == [here.pk]
    listing = [q["sql"] for q in queries.captured_queries if "services_activity" in q["sql"]]
    assert listing and all(f'"province_id" = {regions["广东省"].pk}' in sql for sql in listing)


def test_a_region_import_that_moves_a_county_to_another_province_moves_its_activities(tmp_path, regions, alice):
    activity = _activity(alice, regions, "洪桥街道", "洪桥站")
    assert activity.province == regions["广东省"]
    moved = [(c, n, lv, "420100000000" if c == "440104000000" else p) for c, n, lv, p in TREE]  # 越秀区 → 武汉市
    regions_import(path=tree_csv(tmp_path, moved))
    activity.refresh_from_db()
    assert activity.province == regions["湖北省"]
    assert Region.objects.get(code="440104001000").province_pk() == regions["湖北省"].pk


def test_refresh_repairs_what_was_written_around_the_services(regions, alice):
    activity = _activity(alice, regions, "洪桥街道", "洪桥站")
    Activity.objects.filter(pk=activity.pk).update(province=regions["北京市"])
    assert refresh_activity_provinces() == 1
    activity.refresh_from_db()
    assert activity.province == regions["广东省"] and refresh_activity_provinces() == 0


def test_a_station_moved_to_another_province_takes_its_activities_along(regions, alice, superuser):
    from stations import services as station_services

    activity = _activity(alice, regions, "洪桥街道", "洪桥站")
    station_services.station_update(actor=superuser, station=activity.station, data={"region": regions["沙嘴街道"]},
                                    funding=[], operators=[])
    activity.refresh_from_db()
    assert activity.province == regions["湖北省"]
