"""The organization's home (工作台): review status and next step, staff count, operated stations with
their monthly-summary status, and the way into each station's workbench."""

import datetime

import pytest
from django.urls import reverse

from registration.selectors.organizations import organization_home
from registration.services import organizations as org_services
from services.models import MonthlySummary
from swms.workflow import State, review_approve, review_return, review_submit
from tests.test_organizations import make_organization
from tests.test_stations import create_station, station_login
from tests.today import LAST_MONTH, THIS_MONTH, TODAY

pytestmark = pytest.mark.usefixtures("english")  # messages asserted in their English source



@pytest.fixture
def organization(regions):
    from accounts.models import UserKind
    from tests.conftest import make_user

    account = make_user("org_home", UserKind.ORGANIZATION, regions["洪桥街道"], phone="13700000011")
    return make_organization(account, regions["洪桥街道"], name="越秀区晨曦社会工作服务中心")


def approved(organization, alice, city_official):
    review_submit(organization, actor=organization.account)
    review_approve(organization, actor=alice)
    return review_approve(organization, actor=city_official)


def operated_station(alice, regions, organization, name, town="洪桥街道", valid_to=None):
    station, _pw = create_station(alice, regions, name=name, region=regions[town], operators=[{
        "organization": organization, "valid_from": TODAY - datetime.timedelta(days=30),
        "valid_to": valid_to or TODAY + datetime.timedelta(days=335)}])
    return station


def home(client, organization):
    client.force_login(organization.account)
    response = client.get(reverse("reports:workbench"))
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "reports/workbench_org.html"
    return response


def test_draft_home_says_to_submit_and_links_the_profile(client, organization):
    response = home(client, organization)
    page = response.content.decode()
    assert response.context["organization"] == organization
    assert "Check the registration data and submit it for review." in page
    assert reverse("registration:organization-profile") in page
    assert 'data-testid="no-stations"' in page
    assert 'data-testid="latest-notices"' in page


def test_submitted_home_names_the_county_it_waits_for(client, organization):
    review_submit(organization, actor=organization.account)
    page = home(client, organization).content.decode()
    assert "Waiting for the initial review by the civil-affairs office of 越秀区." in page


def test_returned_home_shows_the_reviewers_comment(client, organization, alice):
    review_submit(organization, actor=organization.account)
    review_return(organization, actor=alice, comment="请补充法定代表人身份证明")
    response = home(client, organization)
    page = response.content.decode()
    assert response.context["organization"].status == State.RETURNED
    assert 'data-testid="return-comment"' in page and "请补充法定代表人身份证明" in page
    assert "correct what the reviewer asks for and submit it again" in page


def test_approved_home_counts_current_staff_only(client, organization, alice, city_official):
    approved(organization, alice, city_official)
    org_services.staff_save(organization=organization, data={"name": "周敏"})
    left = org_services.staff_save(organization=organization, data={"name": "吴刚"})
    org_services.staff_leave(staff=left, left_on=TODAY)
    response = home(client, organization)
    assert response.context["staff_count"] == 1
    page = response.content.decode()
    assert '<div class="stat-value" data-testid="staff-count">1</div>' in page
    assert "station operator" in page and 'data-testid="status"' in page


def test_stations_with_validity_and_month_status(client, organization, alice, city_official, regions):
    approved(organization, alice, city_official)
    station = operated_station(alice, regions, organization, "洪桥街道社工站")
    MonthlySummary.objects.create(station=station, month=LAST_MONTH, created_by=station.account, text="上月")
    review_submit(MonthlySummary.objects.get(station=station, month=LAST_MONTH), actor=station.account)
    response = home(client, organization)
    [row] = response.context["station_rows"]
    assert row["station"] == station and row["current"] and row["can_work"]
    assert [m["summary"].status if m["summary"] else None for m in row["months"]] == [State.SUBMITTED, None]
    page = response.content.decode()
    assert "洪桥街道社工站" in page and station.code in page
    valid = row["periods"][0]
    assert f'{valid.valid_from:%Y-%m-%d} – {valid.valid_to:%Y-%m-%d}' in page
    assert "Not started" in page and f"Summary {LAST_MONTH:%Y-%m}" in page


def test_an_expired_operation_is_listed_but_cannot_be_opened(client, organization, alice, city_official, regions):
    approved(organization, alice, city_official)
    station = operated_station(alice, regions, organization, "旧站")
    station.operators.update(valid_from=TODAY - datetime.timedelta(days=400), valid_to=TODAY - datetime.timedelta(days=1))
    from stations.services import sync_operator_permissions

    sync_operator_permissions(station=station)
    response = home(client, organization)
    [row] = response.context["station_rows"]
    assert not row["current"] and not row["can_work"]
    assert 'data-testid="open-station"' not in response.content.decode()


def test_home_queries_do_not_grow_with_stations(client, organization, alice, city_official, regions,
                                                 django_assert_max_num_queries):
    approved(organization, alice, city_official)
    first = operated_station(alice, regions, organization, "一站")
    client.force_login(organization.account)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("reports:workbench"))
    for i, town in enumerate(("洪桥街道", "北京街道", "北京街道")):
        station = operated_station(alice, regions, organization, f"第{i}站", town=town)
        MonthlySummary.objects.create(station=station, month=THIS_MONTH, created_by=station.account)
    MonthlySummary.objects.create(station=first, month=LAST_MONTH, created_by=first.account)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("reports:workbench"))
    assert len(response.context["station_rows"]) == 4


def test_selector_queries_are_bounded(organization, alice, city_official, regions, django_assert_max_num_queries):
    approved(organization, alice, city_official)
    for i in range(3):
        operated_station(alice, regions, organization, f"站{i}")
    with django_assert_max_num_queries(8):
        context = organization_home(user=organization.account)
    assert len(context["station_rows"]) == 3


def test_opening_a_station_switches_to_it_and_shows_its_workbench(client, organization, alice, city_official,
                                                                 regions):
    approved(organization, alice, city_official)
    operated_station(alice, regions, organization, "洪桥街道社工站")
    second = operated_station(alice, regions, organization, "北京街道社工站", town="北京街道")
    client.force_login(organization.account)
    response = client.post(reverse("stations:switch"),
                           {"station": second.pk, "next": reverse("reports:station-workbench")})
    assert response.status_code == 302 and response["Location"] == reverse("reports:station-workbench")
    page = client.get(response["Location"])
    assert page.status_code == 200 and page.context["station"] == second
    assert 'id="workbench-data"' in page.content.decode()
    # The home stays the organization's own, whatever station is current.
    assert client.get(reverse("reports:workbench")).templates[0].name == "reports/workbench_org.html"


def test_station_accounts_keep_the_station_workbench_as_home(client, alice, regions):
    station, _pw = create_station(alice, regions)
    station_login(client, station)
    response = client.get(reverse("reports:workbench"))
    assert response.templates[0].name == "reports/workbench_station.html"
    assert response.context["station"] == station
    assert client.get(reverse("reports:station-workbench")).context["station"] == station


def test_organization_without_stations_is_sent_home_from_the_station_workbench(client, organization):
    client.force_login(organization.account)
    response = client.get(reverse("reports:station-workbench"))
    assert response.status_code == 302 and response["Location"] == reverse("reports:workbench")


def test_account_without_a_registration_gets_an_explanation(client, regions):
    from accounts.models import UserKind
    from tests.conftest import make_user

    client.force_login(make_user("org_bare", UserKind.ORGANIZATION, regions["洪桥街道"]))
    response = client.get(reverse("reports:workbench"))
    assert response.status_code == 200 and response.context["organization"] is None
    assert 'data-testid="no-record"' in response.content.decode()
