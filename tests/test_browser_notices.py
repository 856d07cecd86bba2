"""Notice journey in real Chromium: the city writes a notice in Markdown (toolbar, preview) and publishes it
to stations; the station sees it unread on its workbench and opens it; the city sees it read."""

import re

import pytest
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_user
from tests.test_browser_registration import _login, _logout
from tests.test_stations import create_station

pytestmark = pytest.mark.browser


def test_city_notice_reaches_a_station_and_is_read(live_server, transactional_db, regions, page, screenshot_dir):
    county = make_user("yx_nt", "official", regions["越秀区"], full_name="越秀区民政局")
    make_user("gz_nt", "official", regions["广州市"], full_name="广州市民政局")
    station, _pw = create_station(county, regions)
    station.account.set_password(PASSWORD)
    station.account.must_change_password = False
    station.account.save()
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})

    _login(page, base, "gz_nt", PASSWORD)
    page.get_by_role("link", name="已发通知").click()
    page.get_by_role("link", name="新建通知").click()
    page.get_by_label("标题").fill("关于报送第四季度服务数据的通知")
    page.get_by_label("类别").select_option("notice")
    content = page.get_by_label("内容")
    content.fill("各社工站：\n\n请于 12 月 10 日前报送第四季度服务数据：\n\n- 服务台账\n- 月度总结\n\n")
    content.press("Control+End")
    page.get_by_test_id("notice-form").locator("[data-md-before='**']").click()  # the toolbar's bold
    content.press_sequentially("逾期不再受理")
    expect(content).to_have_value(re.compile(r"\*\*逾期不再受理\*\*$"))
    page.get_by_label("社工站", exact=True).check()
    page.get_by_label("越秀区").check()
    # The public-portal box is offered for an ordinary notice, not for continuing-education notices.
    public_box = page.get_by_label("在公开门户发布")
    page.get_by_label("类别").select_option("ce")
    expect(public_box).to_be_disabled()
    page.get_by_label("类别").select_option("notice")
    expect(public_box).to_be_enabled()
    page.screenshot(path=screenshot_dir / "notice-compose.png", full_page=True)
    # The preview shows the Markdown rendered and sanitized, as recipients will see it.
    page.get_by_test_id("preview-tab").click()
    preview = page.get_by_test_id("notice-preview")
    expect(preview.locator("li")).to_have_text(["服务台账", "月度总结"])
    expect(preview.locator("strong")).to_have_text("逾期不再受理")
    page.screenshot(path=screenshot_dir / "notice-editor-preview.png", full_page=True)
    page.get_by_role("button", name="发布").click()
    expect(page.get_by_test_id("read-stats")).to_be_visible()
    expect(page.get_by_test_id("read-count")).to_have_text("0")
    _logout(page)

    _login(page, base, station.code, PASSWORD)
    latest = page.get_by_test_id("latest-notices")
    expect(latest).to_contain_text("关于报送第四季度服务数据的通知")
    expect(latest).to_contain_text("未读")
    expect(page.get_by_test_id("unread-notices")).to_have_text("1")
    page.screenshot(path=screenshot_dir / "station-workbench.png", full_page=True)
    latest.get_by_role("link", name=re.compile("关于报送第四季度服务数据的通知")).click()
    expect(page.get_by_test_id("notice-content")).to_contain_text("12 月 10 日前")
    expect(page.get_by_test_id("notice-content").locator("strong")).to_have_text("逾期不再受理")
    expect(page.get_by_test_id("unread-notices")).to_have_count(0)
    _logout(page)

    _login(page, base, "gz_nt", PASSWORD)
    page.get_by_role("link", name="已发通知").click()
    page.get_by_role("link", name="关于报送第四季度服务数据的通知").click()
    expect(page.get_by_test_id("read-count")).to_have_text("1")
    page.get_by_role("link", name="已读", exact=True).click()
    expect(page.get_by_test_id("receipts")).to_contain_text("洪桥街道社工站")
    page.screenshot(path=screenshot_dir / "notice-receipts.png", full_page=True)
