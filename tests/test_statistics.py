"""The statistics page (统计分析) and the official workbench's figures: drill-down, scoping, the period
selector, Excel export, and links to the lists behind the numbers."""

import datetime
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from reports import aggregates
from reports.statistics import PeriodForm
from stations.models import Station
from tests.test_aggregates import _registered, world  # noqa: F401 - the fixture is used by name
from tests.today import MONTH_START, TODAY


def _get(client, user, name, *args, **params):
    client.force_login(user)
    return client.get(reverse(name, args=args), params)


@pytest.mark.usefixtures("world")
def test_province_official_starts_at_the_province_and_drills_down(client, regions, province_official):
    response = _get(client, province_official, "reports:statistics")
    assert response.status_code == 200 and response.context["root"] == regions["广东省"]
    city = reverse("reports:statistics-region", args=[regions["广州市"].pk])
    assert f'href="{city}?period=year' in response.content.decode()
    response = _get(client, province_official, "reports:statistics-region", regions["广州市"].pk)
    assert [c.name for c in response.context["children"]] == ["荔湾区", "越秀区"]
    assert [r.name for r in response.context["trail"]] == ["广东省", "广州市"]
    response = _get(client, province_official, "reports:statistics-region", regions["洪桥街道"].pk)
    assert response.status_code == 200 and [r.name for r in response.context["trail"]][-1] == "洪桥街道"


@pytest.mark.usefixtures("world")
def test_county_official_starts_at_the_county_and_cannot_leave_it(client, regions, alice):
    response = _get(client, alice, "reports:statistics")
    assert response.context["root"] == regions["越秀区"]
    assert [r.name for r in response.context["trail"]] == ["越秀区"]  # no path above the official's own region
    for name in ("广州市", "荔湾区", "沙面街道"):
        assert _get(client, alice, "reports:statistics-region", regions[name].pk).status_code == 404
    assert _get(client, alice, "reports:statistics", region=regions["荔湾区"].pk).status_code == 404


@pytest.mark.usefixtures("world")
def test_town_official_sees_the_town_only(client, regions, town_official):
    response = _get(client, town_official, "reports:statistics")
    assert response.context["root"] == regions["洪桥街道"]
    assert _get(client, town_official, "reports:statistics-region", regions["越秀区"].pk).status_code == 404
    response = _get(client, town_official, "reports:workbench")
    assert response.context["stats"]["stations"] == 1  # 洪桥街道's station only (北京街道's is not the town's)


def test_period_selector_month_quarter_year_and_range():
    def period(**data):
        form = PeriodForm(data, today=datetime.date(2026, 11, 30))
        assert form.is_valid(), form.errors
        p = form.cleaned_data["result"]
        return p.first, p.last

    assert period() == (datetime.date(2026, 1, 1), datetime.date(2026, 12, 1))
    assert period(period="month", month="2026-03") == (datetime.date(2026, 3, 1),) * 2
    assert period(period="quarter", year="2025", quarter="4") == (datetime.date(2025, 10, 1), datetime.date(2025, 12, 1))
    assert period(period="range", start="2025-11", end="2026-02") == (datetime.date(2025, 11, 1),
                                                                      datetime.date(2026, 2, 1))
    assert not PeriodForm({"period": "range", "start": "2026-05", "end": "2026-02"}, today=TODAY).is_valid()


@pytest.mark.usefixtures("world")
def test_flows_follow_the_period(client, regions, city_official):
    this = _get(client, city_official, "reports:statistics", period="month", month=f"{TODAY:%Y-%m}")
    earlier = _get(client, city_official, "reports:statistics", period="month", month="2020-01")
    acts = {r.context["period"].label: next(f for f in r.context["figures"] if f.code == "activities").total
            for r in (this, earlier)}
    assert acts[f"{TODAY:%Y-%m}"].cells[-1].value == 6 and acts["2020-01"].cells[-1].value == 0


@pytest.mark.usefixtures("world")
def test_every_table_downloads_as_excel_with_the_figures(client, regions, city_official):
    response = _get(client, city_official, "reports:statistics", region=regions["广州市"].pk, table="stations",
                    export="xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 2 + 1  # header, two counties, total
    by_name = {r[0]: r for r in rows[1:]}
    assert by_name["越秀区"][4] == 3 and by_name["荔湾区"][4] == 1
    for code in ("workers_status", "ce", "registrations_month", "clients", "person_times", "summaries"):
        response = _get(client, city_official, "reports:statistics", table=code, export="xlsx")
        assert response.status_code == 200, code
    assert _get(client, city_official, "reports:statistics", table="nope", export="xlsx").status_code == 404


@pytest.mark.usefixtures("world")
def test_numbers_link_to_the_lists_and_the_lists_agree(client, regions, city_official):
    response = _get(client, city_official, "reports:statistics", period="month", month=f"{TODAY:%Y-%m}")
    fig = next(f for f in response.context["figures"] if f.code == "clients")
    cell = next(r for r in fig.rows if r.label == "越秀区").cells[-1]
    listed = client.get(cell.url)
    assert listed.status_code == 200 and listed.context["page"].paginator.count == cell.value == 4
    fig = next(f for f in response.context["figures"] if f.code == "activities")
    cell = next(r for r in fig.rows if r.label == "越秀区").cells[0]  # case management
    listed = client.get(cell.url)
    assert listed.context["page"].paginator.count == cell.value == 2
    fig = next(f for f in response.context["figures"] if f.code == "stations")
    cell = next(r for r in fig.rows if r.label == "越秀区").cells[1]
    assert client.get(cell.url).context["page"].paginator.count == cell.value == 2


@pytest.mark.usefixtures("world")
def test_official_workbench_shows_figures_and_links_children_to_their_statistics(client, regions,
                                                                                city_official):
    response = _get(client, city_official, "reports:workbench")
    stats = response.context["stats"]
    assert (stats["stations"], stats["workers"], stats["clients"]) == (4, 5, 6)
    assert stats["month"]["activities"] == 6 and stats["year"]["activities"] >= 6
    assert sum(stats["charts"]["activities_month"]) == 6
    html = response.content.decode()
    assert reverse("reports:statistics-region", args=[regions["越秀区"].pk]) in html
    yx = next(c for c in response.context["children"] if c.name == "越秀区")
    assert (yx.station_count, yx.worker_count) == (3, 3)


@pytest.mark.django_db
def test_workbench_query_count_does_not_grow_with_child_regions(client, regions, province_official,
                                                                django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Region

    client.force_login(province_official)
    with CaptureQueriesContext(connection) as before:
        client.get(reverse("reports:workbench"))
    for i in range(4):
        city = Region.objects.create(code=f"4452{i:02d}000000", name=f"新市{i}", level="city",
                                     parent=regions["广东省"])
        _registered({"x": city}, "x", valid_to=TODAY + datetime.timedelta(days=500))
    aggregates.rebuild()
    with CaptureQueriesContext(connection) as after:
        response = client.get(reverse("reports:workbench"))
    assert response.context["stats"]["workers"] == 4
    assert len(after) == len(before)
    # Every registered review queue's count and oldest item in one UNION ALL.
    from swms.review_queues import all_queues

    queue_queries = [q for q in after.captured_queries if "COUNT(" in q["sql"] and "MIN(" in q["sql"]
                     and "submitted_at" in q["sql"]]
    assert len(queue_queries) == 1 and queue_queries[0]["sql"].count("UNION ALL") == len(all_queues()) - 1
    assert len(after) <= 15, "\n".join(q["sql"][:120] for q in after.captured_queries)


@pytest.mark.usefixtures("world")
def test_registration_counts_link_to_the_registry_of_workers_registered_then(client, regions, city_official):
    response = _get(client, city_official, "reports:statistics")
    fig = next(f for f in response.context["figures"] if f.code == "registrations")
    checked = 0
    for row in [*fig.rows, fig.total]:
        for cell in row.cells[:-1]:  # one column per kind; the total counts registrations, not workers
            assert cell.url and "registered_from=" in cell.url
            listed = client.get(cell.url)
            assert listed.status_code == 200 and listed.context["page"].paginator.count == cell.value
            assert 'data-testid="registered-filter"' in listed.content.decode()  # the list says why
            checked += cell.value
    assert checked > 0
    month = next(f for f in response.context["figures"] if f.code == "registrations_month")
    for row in month.rows:
        for cell in row.cells[:-1]:
            assert client.get(cell.url).context["page"].paginator.count == cell.value


@pytest.mark.usefixtures("world")
def test_figures_are_cached_per_region_until_its_sums_change(client, regions, province_official, alice,
                                                              django_capture_on_commit_callbacks):
    """A repeated view reads no aggregates; a change through a service (on commit) shows at once on the
    pages of its region and every region above it, and leaves a sibling's cached page alone."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.test_activities import add_worker, make_activity

    def activities_total(user, *args):
        client.force_login(user)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("reports:statistics-region" if args else "reports:statistics", args=args))
        assert response.status_code == 200
        html = response.content.decode()
        section = html[html.index('data-testid="figure-activities"'):]
        total = section[section.index('data-testid="total"'):section.index("</tr>", section.index('data-testid="total"'))]
        aggregate_reads = sum("reports_statrollup" in q["sql"] for q in queries.captured_queries)
        return total, aggregate_reads

    province_before, reads = activities_total(province_official)
    assert reads > 0
    assert activities_total(province_official) == (province_before, 0)  # from the cache
    liwan_before, _ = activities_total(province_official, regions["荔湾区"].pk)
    yuexiu_before, _ = activities_total(alice)
    assert activities_total(alice) == (yuexiu_before, 0)

    with django_capture_on_commit_callbacks(execute=True):  # one more activity in 荔湾区 (沙面街道's station)
        sm = Station.objects.get(name="沙面街道社工站")
        make_activity(sm, add_worker(sm, "钱"), list(sm.clients.active()[:1]), category="case",
                      started_at=MONTH_START)
    province_after, reads = activities_total(province_official)
    assert reads > 0 and province_after != province_before
    liwan_after, reads = activities_total(province_official, regions["荔湾区"].pk)
    assert reads > 0 and liwan_after != liwan_before
    assert activities_total(province_official, regions["荔湾区"].pk) == (liwan_after, 0)
    assert activities_total(alice) == (yuexiu_before, 0)  # a sibling's cached page is left alone


@pytest.mark.usefixtures("world")
def test_workbench_figures_come_from_the_cache_until_the_subtrees_sums_change(client, regions, alice,
                                                                              django_capture_on_commit_callbacks):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.test_activities import add_worker, make_activity

    def view():
        client.force_login(alice)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("reports:workbench"))
        return (response.context["stats"]["month"]["activities"],
                sum("reports_statrollup" in q["sql"] for q in queries.captured_queries))

    before, reads = view()
    assert reads > 0 and view() == (before, 0)
    bj = Station.objects.get(name="北京街道社工站")
    with django_capture_on_commit_callbacks(execute=True):
        make_activity(bj, add_worker(bj, "孙"), list(bj.clients.active()[:1]), category="case",
                      started_at=MONTH_START)
    after, reads = view()
    assert reads > 0 and after == before + 1
