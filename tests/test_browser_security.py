"""MLPS level 3 in real Chromium: an official's first login sets up the second factor, and a full ID number is
shown only through 显示完整号码 (A5, P1)."""

import re

import pytest
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from accounts.models import SecurityEvent
from tests.conftest import PASSWORD, make_user
from tests.registration_fixtures import submitted_application
from tests.test_mfa import current_code

pytestmark = pytest.mark.browser


def test_official_sets_up_the_second_factor_then_reveals_an_id_number(
    live_server, transactional_db, regions, worker_in, page, screenshot_dir, settings
):
    settings.SWMS_MFA_REQUIRED = True
    official = make_user("yx_review", "official", regions["越秀区"], full_name="越秀区民政局")
    application = submitted_application(worker_in())
    number = application.worker.id_number
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("用户名 / 手机号 / 身份证号").fill("yx_review")
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("input[name='captcha_1']").fill("PASSED")
    page.get_by_role("button", name="登录").click()

    # First login: the authenticator is set up before anything else.
    expect(page).to_have_url(re.compile(r"/accounts/2fa/setup/"))
    expect(page.get_by_test_id("totp-qr").locator("svg")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    assert len(secret) >= 16
    page.screenshot(path=screenshot_dir / "mfa-setup.png", full_page=True)
    device = TOTPDevice.objects.get(user=official)
    page.locator("input[name='code']").fill(current_code(device))
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_text(re.compile("备用验证码")).first).to_be_visible()
    page.screenshot(path=screenshot_dir / "mfa-backup-codes.png", full_page=True)
    page.locator("a.btn-primary").first.click()

    # The applicant's ID number is masked on the review page; the button shows it and logs it.
    page.goto(live_server.url + reverse("registration:review-detail", kwargs={"pk": application.pk}))
    masked = number[:6] + "********" + number[-4:]
    expect(page.get_by_text(masked)).to_be_visible()
    assert number not in page.content()
    page.get_by_test_id("reveal").first.click()
    expect(page.get_by_test_id("revealed")).to_have_text(number)
    page.screenshot(path=screenshot_dir / "reveal-id-number.png", full_page=True)
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ID_REVEALED, actor=official).count() == 1
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.MFA_ENROLLED, target=official).count() == 1
