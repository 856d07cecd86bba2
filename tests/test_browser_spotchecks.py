"""Issue #13's spot-check journey in real Chromium: the province draws a sample, records a problem on one
item, the city that approved it answers, the province accepts. Screenshots (desktop and 390 px) under
var/screenshots/."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from spotchecks.models import Rectification, SpotCheckBatch
from swms.workflow import State
from tests.conftest import PASSWORD, make_user
from tests.test_browser_registration import _login, _logout
from tests.test_spotchecks import approved_registration

pytestmark = pytest.mark.browser


def test_province_draws_records_a_problem_and_the_city_rectifies(
    live_server, transactional_db, regions, page, screenshot_dir
):
    make_user("gd_spot", "official", regions["广东省"], full_name="广东省民政厅抽查员")
    make_user("gz_spot", "official", regions["广州市"], full_name="广州市民政局")
    for town in ("洪桥街道", "北京街道", "沙面街道"):
        approved_registration(regions, town)
    approved_registration(regions, "福田区", initial="福田区", final="深圳市")
    base = live_server.url
    page.set_viewport_size({"width": 1400, "height": 900})

    _login(page, base, "gd_spot", PASSWORD)
    page.locator(f'nav a[href="{reverse("spotchecks:batch-list")}"]').click()
    page.get_by_test_id("new-batch").click()
    form = page.get_by_test_id("batch-form")
    form.locator("input[name='title']").fill("2025年3月登记抽查")
    form.locator("input[name='approved_from']").fill("2025-03-01")
    form.locator("input[name='approved_to']").fill("2025-03-31")
    form.locator(f"input[name='cities'][value='{regions['广州市'].pk}']").check()
    form.locator("input[name='amount']").fill("2")
    form.locator("input[name='seed']").fill("journey")
    page.screenshot(path=screenshot_dir / "spotchecks-new.png", full_page=True)
    form.locator("button[type='submit']").click()
    expect(page.get_by_test_id("seed")).to_have_text("journey")
    expect(page.get_by_test_id("item-row")).to_have_count(2)
    page.screenshot(path=screenshot_dir / "spotchecks-batch.png", full_page=True)
    batch = SpotCheckBatch.objects.get()

    page.get_by_test_id("item-row").first.locator("a").click()
    result = page.get_by_test_id("result-form")
    result.locator("input[name='result'][value='problem']").check()
    result.locator("textarea[name='description']").fill("继续教育证明与登记信息不符")
    result.locator("button[type='submit']").click()
    expect(page.get_by_test_id("rectification")).to_be_visible()
    page.screenshot(path=screenshot_dir / "spotchecks-item.png", full_page=True)
    _logout(page)

    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, base, "gz_spot", PASSWORD)
    page.goto(f"{base}{reverse('spotchecks:rectification-list')}")
    card = page.get_by_test_id("rectification-card")
    expect(card).to_have_count(1)
    card.locator("textarea").fill("已约谈社工并核实学时证明，更正了登记信息")
    page.screenshot(path=screenshot_dir / "spotchecks-tasks-390.png", full_page=True)
    card.locator("button[type='submit']").click()
    expect(page.get_by_test_id("rectification-card")).to_have_attribute("data-status", State.SUBMITTED)
    _logout(page)

    _login(page, base, "gd_spot", PASSWORD)
    page.goto(f"{base}{reverse('spotchecks:rectification-queue')}")
    page.locator("table a").first.click()
    expect(page.get_by_test_id("answer")).to_contain_text("已约谈社工")
    page.screenshot(path=screenshot_dir / "spotchecks-review-390.png", full_page=True)
    page.get_by_test_id("decision").locator("button[value='approve']").click()
    expect(page.get_by_test_id("status").first).to_have_text("已验收")
    assert Rectification.objects.get().status == State.APPROVED
    page.goto(f"{base}{reverse('spotchecks:batch-report', args=[batch.pk])}")
    expect(page.get_by_test_id("report-row")).to_have_count(1)
    expect(page.get_by_test_id("rate").first).to_have_text("0.0%")
    page.screenshot(path=screenshot_dir / "spotchecks-report-390.png", full_page=True)
    page.set_viewport_size({"width": 1400, "height": 900})
    page.screenshot(path=screenshot_dir / "spotchecks-report.png", full_page=True)
