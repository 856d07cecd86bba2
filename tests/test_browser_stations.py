"""Station journey in real Chromium: the county creates a station with funding rows and an operator and
sets its password; the station logs in, must change the password, adds a synced and a manual worker."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from stations.models import Station, StationWorker
from swms.pii import mask_name
from tests.conftest import PASSWORD, make_user
from tests.factories import RegistrationFactory, SocialWorkerFactory, make_id_number
from tests.test_browser_registration import _login, _logout
from tests.test_stations import make_org

pytestmark = pytest.mark.browser


def test_county_creates_a_station_and_the_station_adds_workers(
    live_server, transactional_db, regions, page, screenshot_dir
):
    make_user("yx_stations", "official", regions["越秀区"], full_name="越秀区民政局")
    org = make_org(regions, name="越秀区阳光社会工作服务中心")
    today = timezone.localdate()
    registered = SocialWorkerFactory(work_region=regions["洪桥街道"], gender="female", employer="阳光社工",
                                     work_start_date=today - datetime.timedelta(days=1000))
    RegistrationFactory(worker=registered, qualification__level="intermediate",
                        valid_from=today - datetime.timedelta(days=30))
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})

    # The county official creates the station.
    _login(page, base, "yx_stations", PASSWORD)
    page.get_by_role("link", name="社工站管理").click()
    page.get_by_role("link", name="新增社工站").click()
    page.get_by_label("社工站名称").fill("洪桥街道社工站")
    page.get_by_label("层级").select_option("station")
    page.locator("#cascade-1").select_option(label="洪桥街道")
    page.get_by_label("地址").fill("广州市越秀区洪桥街1号")
    page.get_by_label("联系人").fill("陈站长")
    page.get_by_label("联系电话").fill("020-83000000")
    page.get_by_label("成立日期").fill("2021-03-01")
    page.get_by_label("场地面积（平方米）").fill("220")
    page.get_by_label("养老服务").check()
    page.get_by_label("儿童福利").check()
    page.get_by_test_id("add-funding").click()
    page.get_by_test_id("add-funding").click()
    page.locator("#id_funding-0-year").fill("2025")
    page.locator("#id_funding-0-amount").fill("30")
    page.locator("#id_funding-1-year").fill("2026")
    page.locator("#id_funding-1-amount").fill("35.5")
    page.get_by_test_id("add-operator").click()
    page.locator("#id_operators-0-organization").select_option(label=org.name)
    page.locator("#id_operators-0-valid_from").fill(f"{today:%Y-%m-%d}")
    page.locator("#id_operators-0-valid_to").fill(f"{today.replace(year=today.year + 2):%Y-%m-%d}")
    page.screenshot(path=screenshot_dir / "station-form.png", full_page=True)
    page.get_by_role("button", name="保存").click()

    expect(page.get_by_test_id("station-created")).to_be_visible()
    code = page.get_by_test_id("station-code").inner_text()
    assert re.fullmatch(r"440104001000\d{3}", code)
    station = Station.objects.get(code=code)
    assert sorted(station.funding.values_list("year", flat=True)) == [2025, 2026]
    assert station.operators.get().organization == org
    assert org.account.has_perm("stations.operate_station", station)

    # The official sets the password the station will use.
    page.get_by_role("link", name="查看社工站").click()
    expect(page.get_by_test_id("staffing-warnings")).to_be_visible()
    page.get_by_label("新密码").fill("Hongqiao#2026")
    page.get_by_role("button", name="设置社工站密码").click()
    expect(page.get_by_test_id("station-password")).to_have_text("Hongqiao#2026")
    _logout(page)

    # The station logs in and must change the password first.
    _login(page, base, code, "Hongqiao#2026")
    expect(page).to_have_url(re.compile(r"/accounts/password/change/"))
    page.get_by_label("当前密码").fill("Hongqiao#2026")
    page.get_by_label("新密码", exact=True).fill("Hongqiao#Own2026")
    page.get_by_label("再次输入新密码").fill("Hongqiao#Own2026")
    page.get_by_role("button", name="修改密码").click()
    expect(page.get_by_role("heading", name=re.compile("工作台"))).to_be_visible()

    # One worker from the registry...
    page.get_by_role("link", name="社工人员").click()
    page.get_by_test_id("worker-add").click()
    page.get_by_test_id("add-synced").get_by_label("身份证号").fill(registered.id_number)
    page.get_by_role("button", name="查询").click()
    expect(page.get_by_test_id("found")).to_contain_text(mask_name(registered.name))  # masked before adding
    page.get_by_test_id("add-synced").get_by_label("站长").check()
    page.get_by_role("button", name="添加该社工").click()
    expect(page.get_by_test_id("worker-table")).to_contain_text(registered.name)

    # ...and one by hand.
    page.get_by_test_id("worker-add").click()
    manual = page.get_by_test_id("add-manual")
    manual.get_by_label("姓名").fill("王手工")
    manual.get_by_label("性别").select_option("male")
    manual.get_by_label("身份证号").fill(make_id_number())
    manual.get_by_label("手机号").fill("13700002222")
    manual.get_by_label("工作单位").fill("洪桥街道社工站")
    manual.get_by_label("证书级别").select_option("assistant")
    manual.get_by_label("证书编号").fill("ZS2023000123")
    manual.get_by_role("button", name="添加", exact=True).click()

    table = page.get_by_test_id("worker-table")
    expect(table).to_contain_text("王手工")
    expect(table.get_by_test_id("source-synced")).to_have_text("自动录入")
    expect(table.get_by_test_id("source-manual")).to_have_text("手动录入")
    expect(page.get_by_test_id("staffing-warnings")).to_have_count(0)  # an intermediate head of 2+ years
    page.screenshot(path=screenshot_dir / "station-workers.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshot_dir / "station-workers-phone.png", full_page=True)
    assert sorted(StationWorker.objects.filter(station=station).values_list("source", flat=True)) == [
        "manual", "synced"]
