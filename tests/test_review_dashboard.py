"""Review oversight (审核督办, issue #13): the figures equal hand counts, each opens exactly its rows, scope."""

import datetime
import re
import statistics

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Region
from registration import review as registration_review
from reports.review_dashboard import review_dashboard
from services import summaries
from services.models import MonthlySummary
from swms.models import Action, ReviewLog, Step, fill_review_log_submissions
from swms.review_queues import period_start
from swms.workflow import State
from tests.conftest import login
from tests.registration_fixtures import submitted_application
from tests.test_stations import create_station

pytestmark = pytest.mark.usefixtures("english")

URL = reverse("reports:review-dashboard")
FIGURES = ("waiting", "over", "week", "month", "returned")


def _summary(station, month, *, submit=True):
    summary = summaries.summary_start(station=station, month=month, actor=station.account)
    summaries.summary_save(summary=summary, text="本月总结", document=None, actor=station.account)
    if submit:
        summaries.summary_submit(summary=summary, actor=station.account)
    return summary


@pytest.fixture
def reviews(regions, alice, charlie, settings, worker_in):
    """Monthly summaries of a 越秀区 and a 荔湾区 station, and a registration application:

    越秀区: Aug waiting 20 days (over the 14-day limit), Sep waiting, Oct returned by alice now, Jul a draft
    whose log says it was submitted two days ago and returned now; 荔湾区: Sep waiting, Oct approved by
    charlie now, and an approval of 40 days ago (before this month and week); the application was passed
    by 越秀区 and waits for 广州市's final review.
    """
    settings.SWMS_ESCALATE_AFTER_DAYS = 14
    now = timezone.now()
    yuexiu, _pw = create_station(alice, regions)
    liwan, _pw = create_station(charlie, regions, name="沙面街道社工站", region=regions["沙面街道"])
    s_aug = _summary(yuexiu, datetime.date(2026, 8, 1))
    MonthlySummary.objects.filter(pk=s_aug.pk).update(submitted_at=now - datetime.timedelta(days=20))
    _summary(yuexiu, datetime.date(2026, 9, 1))
    s_oct = _summary(yuexiu, datetime.date(2026, 10, 1))
    summaries.summary_decide(summary=s_oct, actor=alice, action="return", comment="请补充")
    s_jul = _summary(yuexiu, datetime.date(2026, 7, 1), submit=False)
    ReviewLog.objects.create(item=s_jul, action=Action.SUBMIT, step=Step.APPLICANT, actor=yuexiu.account,
                             from_state=State.DRAFT, to_state=State.SUBMITTED,
                             created_at=now - datetime.timedelta(days=2, minutes=1))
    # Written by hand without the submission it decided on: the migration's fill (as for rows from before the
    # column existed) finds it in the log.
    ReviewLog.objects.create(item=s_jul, action=Action.RETURN, step=Step.FINAL, actor=alice,
                             actor_region=regions["越秀区"], from_state=State.SUBMITTED, to_state=State.RETURNED,
                             comment="请补充", created_at=now - datetime.timedelta(minutes=1))
    _summary(liwan, datetime.date(2026, 9, 1))
    l_oct = _summary(liwan, datetime.date(2026, 10, 1))
    summaries.summary_decide(summary=l_oct, actor=charlie, action="approve")
    ReviewLog.objects.create(item=l_oct, action=Action.APPROVE, step=Step.FINAL, actor=charlie,
                             actor_region=regions["荔湾区"], from_state=State.SUBMITTED, to_state=State.APPROVED,
                             created_at=min(period_start("week"), period_start("month")) - datetime.timedelta(days=40))
    assert fill_review_log_submissions(connection) >= 1
    application = submitted_application(worker_in())
    registration_review.application_approve(application=application, actor=alice)
    return {"now": now}


def _block(context, key):
    return next(b for b in context["blocks"] if b.queue.key == key)


def _row(block, name):
    return next(r.figures for r in block.rows if r.region.name == name)


def _median_days(*items_and_actor_regions):
    """Hand count: days from the latest submission before each decision this month, by the given offices."""
    start = period_start("month")
    spans = []
    for log in ReviewLog.objects.filter(action__in=["approve", "reject", "return"], step__in=["initial", "final"],
                                        created_at__gte=start, actor_region__name__in=items_and_actor_regions,
                                        content_type__model="monthlysummary"):
        submit = ReviewLog.objects.filter(content_type=log.content_type, object_id=log.object_id, action="submit",
                                          created_at__lte=log.created_at).order_by("-created_at").first()
        spans.append((log.created_at - submit.created_at).total_seconds() / 86400)
    return round(statistics.median(spans), 1)


def test_province_figures_equal_hand_counts(reviews, province_official):
    context = review_dashboard(user=province_official)
    assert [r.region.name for r in _block(context, "summaries").rows] == ["广东省", "广州市", "深圳市", "东莞市"]
    guangzhou = _row(_block(context, "summaries"), "广州市")
    assert (guangzhou.waiting, guangzhou.over, guangzhou.week, guangzhou.month, guangzhou.returned) == (3, 1, 3, 3, 2)
    assert guangzhou.oldest_days == 20
    assert guangzhou.return_percent == round(100 * 2 / 3, 1)
    assert guangzhou.median_days == _median_days("越秀区", "荔湾区")
    shenzhen = _row(_block(context, "summaries"), "深圳市")
    assert (shenzhen.waiting, shenzhen.month, shenzhen.median_days) == (0, 0, None)
    # The application waits for 广州市's own final review: inside 广州市 for the province.
    applications = _row(_block(context, "applications"), "广州市")
    assert (applications.waiting, applications.week, applications.month) == (1, 1, 1)
    total = _block(context, "summaries").total
    assert (total.waiting, total.over, total.week, total.month, total.returned) == (3, 1, 3, 3, 2)


def test_city_sees_its_counties_and_its_own_office(reviews, city_official):
    context = review_dashboard(user=city_official)
    block = _block(context, "summaries")
    assert [r.region.name for r in block.rows] == ["广州市", "荔湾区", "越秀区"]
    yuexiu, liwan, own = _row(block, "越秀区"), _row(block, "荔湾区"), _row(block, "广州市")
    assert (yuexiu.waiting, yuexiu.over, yuexiu.week, yuexiu.month, yuexiu.returned) == (2, 1, 2, 2, 2)
    assert yuexiu.median_days == _median_days("越秀区") == 1.0
    assert (liwan.waiting, liwan.over, liwan.week, liwan.month, liwan.returned) == (1, 0, 1, 1, 0)
    assert (own.waiting, own.month) == (0, 0)
    applications = _block(context, "applications")
    assert _row(applications, "广州市").waiting == 1  # the final review is the city's own
    assert _row(applications, "越秀区").waiting == 0 and _row(applications, "越秀区").month == 1


def test_county_sees_its_own_office_only(reviews, alice):
    block = _block(review_dashboard(user=alice), "summaries")
    assert [r.region.name for r in block.rows] == ["越秀区"]  # its towns review nothing
    own = block.rows[0].figures
    assert (own.waiting, own.over, own.week, own.month, own.returned) == (2, 1, 2, 2, 2)


def test_every_number_opens_exactly_its_rows(reviews, city_official, province_official, alice, client):
    for user in (province_official, city_official, alice):
        login(client, user)
        context = client.get(URL).context
        checked = 0
        for block in context["blocks"]:
            for figures in [row.figures for row in block.rows] + [block.total]:
                for name in FIGURES:
                    page = client.get(figures.links[name])
                    assert page.status_code == 200
                    assert page.context["page"].paginator.count == getattr(figures, name), (user, block.queue.key,
                                                                                            name)
                    checked += bool(getattr(figures, name))
        assert checked >= 5


def test_drill_down_lists_the_items_and_says_so(reviews, city_official, regions, client):
    login(client, city_official)
    url = reverse("services:summary-queue") + f"?scope=all&offices={regions['越秀区'].pk}&decided=month&returned=1"
    page = client.get(url)
    months = sorted(f"{obj.month:%Y-%m}" for obj in page.context["page"])
    assert months == ["2026-07", "2026-10"]  # the July one is a draft again, but was returned this month
    assert "Returned this month by offices in 越秀区" in page.content.decode()
    over = client.get(reverse("services:summary-queue") + f"?scope=all&offices={regions['越秀区'].pk}&waiting=14")
    assert [f"{obj.month:%Y-%m}" for obj in over.context["page"]] == ["2026-08"]


def test_out_of_scope_region_in_a_drill_down_is_404(reviews, alice, regions, client):
    login(client, alice)
    assert client.get(reverse("services:summary-queue") + f"?scope=all&offices={regions['荔湾区'].pk}").status_code == 404
    assert client.get(reverse("services:summary-queue") + "?scope=all&office=x").status_code == 404


def test_chart_counts_decisions_per_week_with_a_table(reviews, province_official, client):
    login(client, province_official)
    response = client.get(URL)
    assert response.status_code == 200
    context = response.context
    assert len(context["chart"]["decided"]) == 12
    # Hand count of this week's reviewer decisions (alice's two returns and charlie's approval of the
    # summaries, alice's pass of the application, and whatever the registration fixtures decided).
    this_week = [log for log in ReviewLog.objects.all() if log.created_at >= period_start("week")
                 and log.action in ("approve", "reject", "return") and log.step in ("initial", "final")]
    assert context["chart"]["decided"][-1] == len(this_week) >= 4
    assert context["chart_rows"][-1]["returned"] == 2
    # The 40-day-old approval falls in an earlier week of the twelve.
    assert sum(context["chart"]["decided"]) == len(this_week) + 1
    html = response.content.decode()
    assert 'id="review-chart"' in html and 'data-testid="chart-table"' in html
    assert "<script>" not in html.replace('<script id="review-chart" type="application/json">', "")


def test_town_officials_and_non_officials_may_not_open_it(town_official, social_worker, client):
    assert login(client, town_official).get(URL).status_code == 403
    assert login(client, social_worker).get(URL).status_code == 403


def test_superuser_sees_the_provinces(reviews, superuser, client):
    context = login(client, superuser).get(URL).context
    block = _block(context, "summaries")
    assert {r.region.name for r in block.rows} == {"广东省", "北京市", "湖北省"}
    assert _row(block, "广东省").waiting == 3
    assert block.total.links["waiting"] is None


def test_query_count_does_not_grow_with_the_regions_below(reviews, province_official, regions, client,
                                                          django_assert_max_num_queries):
    login(client, province_official)
    client.get(URL)
    cache.clear()  # the uncached page (the cache has its own test below)
    with CaptureQueriesContext(connection) as before:
        client.get(URL)
    for i in range(5):
        Region.objects.create(code=f"44{50 + i}00000000", name=f"新市{i}", level="city", parent=regions["广东省"])
    cache.clear()
    with django_assert_max_num_queries(len(before)):
        response = client.get(URL)
    assert len(_block(response.context, "summaries").rows) == 4 + 5
    # What waits in every queue comes from one UNION ALL; the page stays within 15 queries.
    assert len(before) <= 15, "\n".join(q["sql"][:120] for q in before.captured_queries)


def test_page_shows_the_figures(reviews, city_official, client):
    html = login(client, city_official).get(URL).content.decode()
    assert "Review oversight" in html and 'data-testid="queue-summaries"' in html
    assert 'data-testid="row-summaries-440104000000"' in html


@pytest.mark.browser
@pytest.mark.usefixtures("transactional_db")
def test_city_official_opens_the_dashboard_and_follows_a_number(reviews, live_server, regions, page,
                                                                 screenshot_dir):
    """In Chromium (Chinese, as shipped): the chart draws, the table fits a phone, a number opens its rows."""
    from playwright.sync_api import expect

    from tests.conftest import PASSWORD, make_user
    from tests.test_browser_registration import _login

    make_user("gz_oversight", "official", regions["广州市"], full_name="广州市民政局")
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, live_server.url, "gz_oversight", PASSWORD)
    page.locator(f'nav a[href="{URL}"]').click()
    expect(page.locator("h1")).to_contain_text(re.compile("审核督办|Review oversight"))
    expect(page.locator("nav a.active")).to_have_count(1)
    page.wait_for_function("document.querySelector('canvas[data-chart]').getAttribute('height') !== null")
    page.screenshot(path=screenshot_dir / "review-dashboard-city.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshot_dir / "review-dashboard-phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})
    row = page.get_by_test_id("row-summaries-440104000000")
    row.locator('[data-figure="waiting"]').click()
    page.wait_for_load_state()
    expect(page.get_by_test_id("queue").locator("tbody tr")).to_have_count(2)
    expect(page.get_by_test_id("drill-down")).to_contain_text("越秀区")
    page.screenshot(path=screenshot_dir / "review-dashboard-drill-down.png", full_page=True)


def test_reviewers_log_rows_keep_the_submission_they_decided_on(regions, alice, charlie):
    station, _pw = create_station(alice, regions)
    summary = _summary(station, datetime.date(2026, 9, 1))
    first = summary.submitted_at
    summaries.summary_decide(summary=summary, actor=alice, action="return", comment="请补充")
    summaries.summary_submit(summary=summary, actor=station.account)
    summary.refresh_from_db()
    summaries.summary_decide(summary=summary, actor=alice, action="approve")
    rows = [(r.action, r.submitted_at) for r in ReviewLog.objects.filter(object_id=summary.pk,
                                                                         content_type__model="monthlysummary")]
    assert rows == [("submit", None), ("return", first), ("submit", None), ("approve", summary.submitted_at)]
    assert summary.submitted_at > first


def test_the_chart_counts_this_weeks_decisions_live_while_past_weeks_are_kept(reviews, province_official, alice,
                                                                              regions):
    before = review_dashboard(user=province_official)["chart"]["decided"]
    station = MonthlySummary.objects.filter(station__region=regions["洪桥街道"]).first().station
    summaries.summary_decide(summary=_summary(station, datetime.date(2026, 11, 1)), actor=alice, action="approve")
    after = review_dashboard(user=province_official)["chart"]["decided"]
    assert after[-1] == before[-1] + 1 and after[:-1] == before[:-1]


def test_the_page_is_cached_until_the_next_review_action(reviews, city_official, regions, client):
    def view():
        with CaptureQueriesContext(connection) as queries:
            html = login(client, city_official).get(URL).content.decode()
        start = html.index('data-testid="row-summaries-440104000000"')
        return html[start:html.index("</tr>", start)], sum("swms_reviewlog" in q["sql"] for q in queries)

    row, reads = view()
    assert reads > 0 and view() == (row, 0)  # the second view reads no review log
    station = MonthlySummary.objects.filter(station__region=regions["洪桥街道"]).first().station
    _summary(station, datetime.date(2026, 6, 1))  # one more waiting in 越秀区: submitted, logged
    after, reads = view()
    assert reads > 0 and after != row
