"""Issue #12's whole oversight journey in real Chromium: the province official opens the statistics,
drills 广州市 → 越秀区 → 洪桥街道, follows the town's count of valid registrations to the registry filtered
the same way, opens a worker's file and freezes the registration with a reason; the worker logs in and
sees it. Screenshots under var/screenshots/."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from registration.models import Registration
from reports import aggregates
from tests.conftest import PASSWORD, make_user
from tests.test_browser_registration import _login, _logout
from tests.test_browser_registry import _registered

pytestmark = pytest.mark.browser


def test_province_official_goes_from_a_statistic_to_a_frozen_registration(
    live_server, transactional_db, regions, page, screenshot_dir, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    make_user("gd_oversight", "official", regions["广东省"], full_name="广东省民政厅")
    target = _registered(regions, "洪桥街道", "林小红", username="lin_oversight")
    _registered(regions, "洪桥街道", "周小敏")
    _registered(regions, "北京街道", "陈大文")
    _registered(regions, "沙面街道", "荔湾社工", employer="荔湾区社工中心")
    aggregates.rebuild()  # the factories write registrations directly, past the services' hooks
    base = live_server.url
    page.set_viewport_size({"width": 1400, "height": 900})

    _login(page, base, "gd_oversight", PASSWORD)
    page.locator(f'nav a[href="{reverse("reports:statistics")}"]').click()
    workers = page.get_by_test_id("figure-workers_status")
    expect(workers.get_by_test_id("total")).to_contain_text("4")
    workers.get_by_role("link", name="广州市").click()
    page.get_by_test_id("figure-workers_status").get_by_role("link", name="越秀区").click()
    page.get_by_test_id("figure-workers_status").get_by_role("link", name="洪桥街道").click()
    expect(page.locator("h1")).to_contain_text("洪桥街道")
    page.screenshot(path=screenshot_dir / "oversight-town-statistics.png", full_page=True)
    # The town's valid registrations: 2 → the registry filtered to the town and the status.
    count = page.get_by_test_id("figure-workers_status").get_by_test_id("total").locator("a[href*='status=valid']")
    expect(count.first).to_have_text("2")
    count.first.click()
    expect(page).to_have_url(f"{base}{reverse('registration:registry')}?region={regions['洪桥街道'].pk}&status=valid")
    expect(page.get_by_test_id("registry-row")).to_have_count(2)
    page.screenshot(path=screenshot_dir / "oversight-registry.png", full_page=True)

    page.get_by_role("link", name="林小红").click()
    page.once("dialog", lambda dialog: dialog.accept())
    form = page.get_by_test_id("freeze-form")
    form.locator("input[name='reason']").fill("抽查发现继续教育证明不实")
    form.get_by_role("button").click()
    expect(page.get_by_test_id("unfreeze-form")).to_be_visible()
    page.screenshot(path=screenshot_dir / "oversight-worker-file.png", full_page=True)
    target.refresh_from_db()
    assert target.status == Registration.Status.FROZEN
    _logout(page)

    _login(page, base, "lin_oversight", PASSWORD)
    assert page.get_by_test_id("next-step").get_attribute("data-step") == "restore"
    page.locator(f"nav a.nav-link[href='{reverse('notices:inbox')}']").click()
    expect(page.locator("main")).to_contain_text(target.registration_no)
    page.screenshot(path=screenshot_dir / "oversight-worker-inbox.png", full_page=True)
