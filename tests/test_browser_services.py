"""Station services journey in real Chromium: two clients, a case-management and a group activity (one
ended with its summary record), the month's summary submitted; the county returns it with a reason,
the station fixes and resubmits, the county approves."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from services.models import Activity, Client, MonthlySummary
from stations.services import station_worker_add_manual
from tests.conftest import PASSWORD, make_user
from tests.factories import make_id_number
from tests.test_browser_registration import _login, _logout
from tests.test_stations import create_station

pytestmark = pytest.mark.browser


def nav(page, name):
    page.get_by_role("navigation", name="主导航").get_by_role("link", name=name, exact=True).click()


def _add_client(page, name, birth, types, phone):
    page.get_by_test_id("client-new").click()
    page.locator("#id_name").fill(name)
    page.locator("#id_gender").select_option("female")
    page.locator("#id_birth_date").fill(birth)
    for label in types:
        page.get_by_label(label, exact=True).check()
    page.locator("#id_phone").fill(phone)
    page.get_by_role("button", name="保存").click()


def _pick_client(page, query, name, *, keyboard=True):
    """Search the client picker and choose `name`: ↓ then Enter, or a click."""
    search = page.get_by_test_id("client-search")
    search.fill(query)
    option = page.get_by_role("option", name=re.compile(f"^{name}"))
    expect(option).to_be_visible()
    if keyboard:
        search.press("ArrowDown")
        search.press("Enter")
    else:
        option.click()
    expect(page.get_by_test_id("client-chips").get_by_text(name)).to_be_visible()


def _common(page, name, started, ended=None):
    page.locator("#id_name").fill(name)
    page.locator("#id_lead_worker").select_option(label="黄站长")
    page.locator("#id_contact_phone").fill("020-83000000")
    page.get_by_label("养老服务").check()
    page.locator("#id_started_at").fill(started)
    if ended:
        page.locator("#id_ended_at").fill(ended)
    page.locator("#id_location").fill("洪桥街道社工站")


def test_station_records_services_and_the_county_reviews_the_summary(
    live_server, transactional_db, regions, page, screenshot_dir
):
    county = make_user("yx_sv", "official", regions["越秀区"], full_name="越秀区民政局")
    station, _pw = create_station(county, regions)
    station.account.set_password(PASSWORD)
    station.account.must_change_password = False
    station.account.save()
    station_worker_add_manual(station=station, actor=station.account, data=dict(
        name="黄站长", gender="female", id_number=make_id_number(), mobile="", employer="", level="intermediate",
        certificate_no="ZS1", is_head=True, practice_since=datetime.date(2018, 1, 1),
        joined_on=datetime.date(2021, 3, 1)))
    today = timezone.localdate()
    day = today.replace(day=1)
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    page.on("dialog", lambda dialog: dialog.accept())  # submitting the summary asks first

    _login(page, base, station.code, PASSWORD)
    # Two clients.
    nav(page, "服务对象")
    _add_client(page, "陈伯", "1948-05-01", ["老年人（60岁及以上）"], "13800000001")
    nav(page, "服务对象")
    _add_client(page, "小林", "2016-03-01", ["儿童", "留守儿童"], "13800000002")
    nav(page, "服务对象")
    expect(page.get_by_role("link", name="陈伯")).to_be_visible()
    expect(page.get_by_role("link", name="小林")).to_be_visible()

    # A case-management activity, in progress.
    nav(page, "服务活动")
    page.locator("[data-category='case']").click()
    page.get_by_test_id("activity-new").click()
    _common(page, "独居长者个案跟进", f"{day:%Y-%m-%d}T09:00")
    page.locator("#id_basic_process").fill("需求评估后制定服务计划，每周探访一次。")
    page.locator("#id_basic_source").select_option("outreach")
    page.locator("#id_basic_intake_form").select_option("home_visit")
    page.locator("#id_basic_intake_at").fill(f"{day:%Y-%m-%d}T09:00")
    page.locator("#id_basic_intake_place").fill("陈伯家中")
    _pick_client(page, "陈", "陈伯")  # keyboard only: Enter chooses, it does not submit the form
    expect(page).to_have_url(re.compile(r"/new/$"))
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("独居长者个案跟进").first).to_be_visible()

    # A group activity that has ended, with its summary record.
    nav(page, "服务活动")
    page.locator("[data-category='group']").click()
    page.get_by_test_id("activity-new").click()
    page.get_by_label("已结束").check()
    _common(page, "留守儿童成长小组", f"{day:%Y-%m-%d}T14:00", f"{day:%Y-%m-%d}T16:00")
    page.locator("#id_basic_group_type").select_option("growth")
    page.locator("#id_basic_sessions_planned").fill("4")
    page.locator("#id_basic_goals").fill("提升自信与人际交往能力")
    page.locator("#id_summary_sessions_held").fill("4")
    page.locator("#id_summary_evaluation").fill("组员出勤率高，反馈良好。")
    page.locator("#id_summary_goals_reached").fill("基本达成")
    # At phone width the picker fits the screen and works by touch/click.
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_test_id("client-search").fill("小")
    expect(page.get_by_role("option", name=re.compile("^小林"))).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.get_by_role("option", name=re.compile("^小林")).scroll_into_view_if_needed()
    page.screenshot(path=screenshot_dir / "activity-client-picker-phone.png")
    page.get_by_role("option", name=re.compile("^小林")).click()
    expect(page.get_by_test_id("client-chips").get_by_text("小林")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 1280, "height": 900})
    _pick_client(page, "13800000001", "陈伯")  # by the whole phone number (encrypted: no partial match)
    chips = page.get_by_test_id("client-chips").locator("[data-chip]")
    expect(chips).to_have_count(2)
    # A chip is removed with its × (or Backspace in the empty search), and chosen again.
    page.get_by_role("button", name=re.compile("^移除 陈伯")).click()
    expect(chips).to_have_count(1)
    _pick_client(page, "陈", "陈伯")
    page.get_by_test_id("client-search").press("Backspace")
    expect(chips).to_have_count(1)
    _pick_client(page, "陈", "陈伯")
    expect(chips).to_have_count(2)
    page.screenshot(path=screenshot_dir / "activity-form.png", full_page=True)
    page.get_by_role("button", name="保存").click()
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshot_dir / "activity-detail-phone.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    expect(page.get_by_text("留守儿童成长小组").first).to_be_visible()
    assert Activity.objects.filter(station=station).count() == 2
    group = Activity.objects.get(station=station, category="group")
    assert group.status == "ended" and group.summary["sessions_held"] == 4

    # The month's summary: figures computed, text written, submitted.
    nav(page, "月度总结")
    page.locator("#id_month").fill(f"{day:%Y-%m}")
    page.get_by_role("button", name="填写总结").click()
    expect(page.get_by_test_id("fig-activities")).to_have_text("2")
    expect(page.get_by_test_id("fig-persons")).to_have_text("2")
    expect(page.get_by_test_id("fig-times")).to_have_text("3")
    page.locator("#id_text").fill("本月开展个案管理和小组工作各一项。")
    page.screenshot(path=screenshot_dir / "summary-edit.png", full_page=True)
    page.get_by_role("button", name="提交", exact=True).click()
    expect(page.get_by_text("等待越秀区审核")).to_be_visible()
    _logout(page)

    # The county returns it with a reason.
    _login(page, base, "yx_sv", PASSWORD)
    nav(page, "月度总结")
    page.get_by_role("link", name=station.name).click()
    page.locator("#decision-comment").fill("请补充服务成效和下月计划。")
    page.get_by_role("button", name="退回修改").click()
    expect(page.get_by_text("审核意见已记录")).to_be_visible()
    _logout(page)

    # The station fixes and resubmits.
    _login(page, base, station.code, PASSWORD)
    nav(page, "月度总结")
    page.get_by_role("link", name="编辑").click()
    expect(page.get_by_test_id("returned-reason")).to_contain_text("请补充服务成效和下月计划。")
    page.locator("#id_text").fill("本月开展个案管理和小组工作各一项，组员反馈良好；下月继续跟进个案。")
    page.get_by_role("button", name="提交", exact=True).click()
    _logout(page)

    # The county approves.
    _login(page, base, "yx_sv", PASSWORD)
    nav(page, "月度总结")
    page.get_by_role("link", name=station.name).click()
    page.get_by_role("button", name="通过").click()
    expect(page.get_by_text("审核意见已记录")).to_be_visible()
    page.screenshot(path=screenshot_dir / "summary-approved.png", full_page=True)
    summary = MonthlySummary.objects.get(station=station, month=day)
    assert summary.status == "approved"
    assert [r.action for r in summary.review_log] == ["submit", "return", "submit", "approve"]
    assert Client.objects.filter(station=station).count() == 2


def test_activity_form_errors_are_listed_at_the_top_and_each_link_focuses_its_field(
    live_server, transactional_db, regions, page
):
    county = make_user("yx_err", "official", regions["越秀区"])
    station, _pw = create_station(county, regions)
    station.account.set_password(PASSWORD)
    station.account.must_change_password = False
    station.account.save()
    base = live_server.url
    _login(page, base, station.code, PASSWORD)
    expect(page.get_by_role("button", name="退出")).to_be_visible()
    page.goto(f"{base}/services/activities/case/new/")
    page.get_by_role("button", name="保存").click()
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_be_focused()  # read first
    summary.get_by_role("link", name=re.compile("^活动名称")).click()
    expect(page.locator("#id_name")).to_be_focused()
    summary.get_by_role("link", name=re.compile("^服务对象")).click()
    expect(page.get_by_test_id("client-search")).to_be_focused()
