"""Statistics in real Chromium: a province official opens 统计分析 and drills down 广州市 → 越秀区 → a
town, then follows a number to the filtered list behind it. Screenshots under var/screenshots/."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.conftest import PASSWORD, make_user
from tests.test_aggregates import world  # noqa: F401 - the fixture is used by name
from tests.test_browser_registration import _login

pytestmark = pytest.mark.browser


@pytest.mark.usefixtures("transactional_db", "world")
def test_province_official_drills_down_to_a_town_and_opens_a_list(live_server, regions, page, screenshot_dir):
    make_user("gd_stats", "official", regions["广东省"], full_name="广东省民政厅")
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    _login(page, base, "gd_stats", PASSWORD)
    page.screenshot(path=screenshot_dir / "official-workbench.png", full_page=True)
    page.locator(f'nav a[href="{reverse("reports:statistics")}"]').click()
    expect(page.locator("h1")).to_contain_text("广东省")
    expect(page.locator("nav a.active")).to_have_count(1)
    page.screenshot(path=screenshot_dir / "statistics-province.png", full_page=True)
    status = page.get_by_test_id("figure-workers_status")
    status.get_by_role("link", name="广州市").click()
    expect(page.locator("h1")).to_contain_text("广州市")
    page.get_by_test_id("figure-workers_status").get_by_role("link", name="越秀区").click()
    expect(page.locator("h1")).to_contain_text("越秀区")
    expect(page.get_by_test_id("figure-stations").get_by_test_id("total")).to_contain_text("3")
    page.screenshot(path=screenshot_dir / "statistics-county.png", full_page=True)
    page.get_by_test_id("figure-stations").get_by_role("link", name="洪桥街道").click()
    expect(page.locator("h1")).to_contain_text("洪桥街道")
    expect(page.get_by_test_id("trail")).to_contain_text("广东省")
    page.screenshot(path=screenshot_dir / "statistics-town.png", full_page=True)
    # The town's clients (all types) → the officials' client list filtered to the town.
    row = page.get_by_test_id("figure-clients").locator("tfoot tr")
    row.get_by_role("link").last.click()
    page.wait_for_load_state()
    assert f"region={regions['洪桥街道'].pk}" in page.url
    expect(page.locator("tbody tr")).to_have_count(3)
    page.screenshot(path=screenshot_dir / "statistics-to-clients.png", full_page=True)
