"""The registry in real Chromium: the city official opens the registry, narrows it to 越秀区 in the region
tree, opens a worker's file, freezes the registration with a reason (after a confirmation), and the worker
logs in and finds it in the inbox and on the home page."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from registration.models import Registration
from tests.conftest import PASSWORD, make_user
from tests.factories import RegistrationFactory, SocialWorkerFactory, make_id_number
from tests.registration_fixtures import complete_profile
from tests.test_browser_registration import _login, _logout

pytestmark = pytest.mark.browser


def _registered(regions, town, name, *, username=None, days=400, employer="越秀区阳光社工服务中心"):
    user = make_user(username, "social_worker", id_number=make_id_number(), phone="13700001111") if username else None
    worker = SocialWorkerFactory(name=name, work_region=regions[town], employer=employer,
                                 **({"user": user, "id_number": user.id_number} if user else {}))
    if user:  # a complete profile, so the worker's home shows the registration's next step
        worker = complete_profile(worker, regions[town])
    valid_to = timezone.localdate() + datetime.timedelta(days=days)
    return RegistrationFactory(worker=worker, valid_to=valid_to, valid_from=valid_to - datetime.timedelta(days=1094))


def test_city_official_freezes_a_registration_and_the_worker_sees_it(
    live_server, transactional_db, regions, page, screenshot_dir, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    make_user("gz_registry", "official", regions["广州市"], full_name="广州市民政局")
    target = _registered(regions, "洪桥街道", "林小红", username="lin_worker")
    _registered(regions, "北京街道", "陈大文", days=40)
    _registered(regions, "沙面街道", "荔湾社工", employer="荔湾区社工中心")
    base = live_server.url
    page.set_viewport_size({"width": 1400, "height": 900})

    _login(page, base, "gz_registry", PASSWORD)
    page.locator(f"nav a.nav-link[href='{reverse('registration:registry')}']").click()
    expect(page.get_by_test_id("registry-row")).to_have_count(3)
    # Narrow to 越秀区 in the region tree: open 广州市, then pick 越秀区.
    page.locator(f"li.tree-node[data-region='{regions['广州市'].pk}'] > button.tree-toggle").click()
    page.locator(f"li.tree-node[data-region='{regions['越秀区'].pk}'] > a.tree-link").click()
    expect(page).to_have_url(f"{base}/registration/registry/?region={regions['越秀区'].pk}")
    expect(page.get_by_test_id("registry-row")).to_have_count(2)
    expect(page.locator("nav a.nav-link.active")).to_have_count(1)
    page.screenshot(path=screenshot_dir / "registry-list.png", full_page=True)

    page.get_by_role("link", name="林小红").click()
    expect(page.get_by_test_id("worker-name")).to_have_text("林小红")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    form = page.get_by_test_id("freeze-form")
    form.locator("input[name='reason']").fill("逾期未续期且未完成继续教育")
    form.get_by_role("button").click()
    expect(page.get_by_test_id("unfreeze-form")).to_be_visible()
    assert len(questions) == 1 and target.registration_no in questions[0]
    expect(page.get_by_test_id("oversight-log")).to_contain_text("逾期未续期且未完成继续教育")
    expect(page.locator("nav a.nav-link.active")).to_have_count(1)
    page.screenshot(path=screenshot_dir / "registry-worker-file.png", full_page=True)
    target.refresh_from_db()
    assert target.status == Registration.Status.FROZEN
    _logout(page)

    _login(page, base, "lin_worker", PASSWORD)
    expect(page.get_by_test_id("next-step")).to_be_visible()
    page.screenshot(path=screenshot_dir / "registry-worker-home-frozen.png", full_page=True)
    assert page.get_by_test_id("next-step").get_attribute("data-step") == "restore"
    page.locator(f"nav a.nav-link[href='{reverse('notices:inbox')}']").click()
    expect(page.locator("main")).to_contain_text(target.registration_no)
    page.screenshot(path=screenshot_dir / "registry-worker-inbox.png", full_page=True)
