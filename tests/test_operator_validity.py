"""Issue #16: an operating organization's access to a station ends with its validity period, checked at request
time (today in the local time zone), not only when the daily job takes the permission away."""

import datetime
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from freezegun import freeze_time
from guardian.shortcuts import get_objects_for_user

from stations.current import station_required
from stations.models import Station
from tests.test_stations import create_station, make_org

LAST_DAY = datetime.date(2026, 6, 30)

_STATION_SIDE_CODE = station_required(lambda request: None).__code__


def _is_station_side(view) -> bool:
    while view is not None:
        if getattr(view, "__code__", None) is _STATION_SIDE_CODE:
            return True
        view = getattr(view, "__wrapped__", None)
    return False


def _sample_kwargs(pattern) -> dict:
    """A value for each URL parameter: the first choice of an alternation (category), else 1."""
    kwargs = {}
    for name, regex in re.findall(r"\(\?P<(\w+)>([^)]*)\)", pattern.pattern.regex.pattern):
        first = regex.split("|")[0]
        kwargs[name] = first if re.fullmatch(r"[a-z_-]+", first) else 1
    return kwargs


def station_side_urls():
    """(name, path) of every URL whose view is wrapped by station_required, with 1 for any argument."""
    found = []

    def walk(patterns, prefix, namespace):
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern) and _is_station_side(p.callback) and p.name:
                name = f"{namespace}:{p.name}" if namespace else p.name
                found.append((name, reverse(name, kwargs=_sample_kwargs(p))))

    walk(get_resolver().url_patterns, "", "")
    return found


@pytest.fixture
def operated(alice, regions):
    """A station operated by an organization up to LAST_DAY, set up the day before."""
    org = make_org(regions)
    with freeze_time(LAST_DAY - datetime.timedelta(days=1)):
        station, _pw = create_station(alice, regions, operators=[
            {"organization": org, "valid_from": datetime.date(2025, 7, 1), "valid_to": LAST_DAY}])
    return org, station


def test_every_station_side_url_is_found():
    names = {name for name, _path in station_side_urls()}
    assert {"stations:workers", "stations:worker-add", "stations:mine", "stations:worker-edit"} <= names
    assert len(names) >= 15  # station pages, clients, activities, summaries, the station workbench


def test_the_operator_works_on_its_last_day(operated, client):
    org, station = operated
    with freeze_time(datetime.datetime(2026, 6, 30, 15, 0)):  # 23:00 in Asia/Shanghai (UTC+8): still the last day
        client.force_login(org.account)
        assert list(Station.objects.visible_to(org.account)) == [station]
        assert client.get(reverse("stations:workers")).status_code == 200


def test_the_day_after_every_station_url_is_refused_before_the_daily_job(operated, client):
    org, station = operated
    urls = station_side_urls()
    with freeze_time(datetime.datetime(2026, 6, 30, 16, 1)):  # 00:01 on 1 July in Asia/Shanghai (UTC+8)
        # The daily job has not run: the permission row is still there.
        assert get_objects_for_user(org.account, "stations.operate_station", klass=Station).exists()
        client.force_login(org.account)
        assert not Station.objects.visible_to(org.account).exists()
        for name, path in urls:
            for method in (client.get, client.post):
                response = method(path)
                assert response.status_code in (302, 403, 404, 405), (name, method, response.status_code)
                if response.status_code == 302:
                    assert not response["Location"].startswith(path), name
                    assert "/login" not in response["Location"], name  # refused, not logged out
        # Switching to the station is refused too.
        assert client.post(reverse("stations:switch"), {"station": station.pk}).status_code == 404


def test_a_period_that_has_not_started_gives_no_access(alice, regions, client):
    org = make_org(regions)
    today = datetime.date(2026, 6, 30)
    with freeze_time(today):
        create_station(alice, regions, operators=[
            {"organization": org, "valid_from": today + datetime.timedelta(days=1),
             "valid_to": today + datetime.timedelta(days=365)}])
        client.force_login(org.account)
        assert not Station.objects.visible_to(org.account).exists()
        assert client.get(reverse("stations:workers")).status_code == 302
