"""The sidebar marks exactly one item as the current page: every page each role reaches from the
sidebar highlights its own link and no other."""

import datetime
import re

import pytest
from django.urls import reverse

from services import summaries
from tests.conftest import make_user
from tests.test_stations import create_station, make_org, station_login

NAV = re.compile(r'<nav class="nav flex-column[^>]*>(.*?)</nav>', re.S)
LINK = re.compile(r'<a class="nav-link([^"]*)" href="([^"]*)"')


def _nav_links(html: str) -> list[tuple[bool, str]]:
    """(active, href) of every sidebar link."""
    match = NAV.search(html)
    assert match, "no sidebar on the page"
    return [("active" in css.split(), href) for css, href in LINK.findall(match.group(1))]


def _active(client, url) -> list[str] | None:
    response = client.get(url)
    if response.status_code != 200 or "text/html" not in response["Content-Type"]:
        return None
    return [href for active, href in _nav_links(response.content.decode()) if active]


def _check_every_sidebar_page(client) -> set[str]:
    """Visit every link of the sidebar: each page that opens highlights itself, alone. Returns the
    links checked."""
    links = [href for _active_, href in _nav_links(client.get(reverse("reports:workbench")).content.decode())]
    checked = set()
    for href in links:
        active = _active(client, href)
        if active is None:
            continue
        assert active == [href], f"{href}: active {active}"
        checked.add(href)
    return checked


@pytest.fixture
def station(alice, regions):
    org = make_org(regions)
    today = datetime.date.today()
    station, _pw = create_station(alice, regions, operators=[
        {"organization": org, "valid_from": today - datetime.timedelta(days=1),
         "valid_to": today + datetime.timedelta(days=300)}])
    return station


def test_official_sidebar_highlights_one_item_on_completeness_and_the_summary_queue(alice, station, client):
    summary = summaries.summary_start(station=station, month=datetime.date(2026, 1, 1), actor=station.account)
    summaries.summary_save(summary=summary, text="x", document=None, actor=station.account)
    summaries.summary_submit(summary=summary, actor=station.account)
    client.force_login(alice)
    completeness = reverse("services:summary-completeness")
    queue = reverse("services:summary-queue")
    assert _active(client, completeness) == [completeness]
    assert _active(client, f"{completeness}?month=2026-01") == [completeness]
    assert _active(client, queue) == [queue]
    assert _active(client, reverse("services:summary-review", args=[summary.pk])) == [queue]
    checked = _check_every_sidebar_page(client)
    assert {completeness, queue, reverse("reports:workbench")} <= checked and len(checked) >= 10


def test_superuser_and_province_sidebars_highlight_one_item(superuser, province_official, client):
    for user in (superuser, province_official):
        client.force_login(user)
        assert len(_check_every_sidebar_page(client)) >= 10


def test_station_sidebar_highlights_one_item_on_every_page(station, client):
    station_login(client, station)
    checked = _check_every_sidebar_page(client)
    assert reverse("services:summary-list") in checked and reverse("services:activity-overview") in checked
    assert _active(client, reverse("services:activity-list", args=["case"])) == [
        reverse("services:activity-overview")]


def test_organization_sidebar_highlights_one_item_on_every_page(station, client):
    org_account = station.operators.get().organization.account
    client.force_login(org_account)
    checked = _check_every_sidebar_page(client)
    assert reverse("registration:organization-staff") in checked and reverse("stations:mine") in checked


def test_social_worker_sidebar_highlights_one_item_on_every_page(db, client):
    worker = make_user("sw_nav", "social_worker", id_number="11010519491231002X")
    client.force_login(worker)
    assert len(_check_every_sidebar_page(client)) >= 3


def _url_names(resolver=None, namespace=""):
    from django.urls import get_resolver

    for p in (resolver or get_resolver()).url_patterns:
        if hasattr(p, "url_patterns"):
            yield from _url_names(p, namespace + (f"{p.namespace}:" if p.namespace else ""))
        elif p.name:
            yield namespace + p.name


def test_every_prefix_match_in_the_sidebar_is_as_long_as_its_prefix_and_matches_a_url():
    """`rn|slice:':N' == 'prefix'` only works when N is the prefix's length (three items never lit up)."""
    from pathlib import Path

    from django.conf import settings

    nav = (Path(settings.BASE_DIR) / "templates" / "includes" / "nav.html").read_text()
    names = set(_url_names())
    prefixes = re.findall(r"rn\|slice:':(\d+)' == '([^']+)'", nav)
    assert prefixes
    for length, prefix in prefixes:
        assert int(length) == len(prefix), prefix
        assert any(name.startswith(prefix) for name in names), prefix


def test_every_page_shell_links_the_favicon(alice, client):
    from django.contrib.staticfiles import finders
    from django.templatetags.static import static

    icon = f'<link rel="icon" href="{static("favicon.svg")}" type="image/svg+xml">'
    assert icon in client.get(reverse("accounts:login")).content.decode()  # the plain shell
    client.force_login(alice)
    assert icon in client.get(reverse("reports:workbench")).content.decode()
    with open(finders.find("favicon.svg"), encoding="utf-8") as f:
        assert f.read().startswith("<svg xmlns=\"http://www.w3.org/2000/svg\"")
