"""Whole journeys in real Chromium (Debian's build) through Playwright."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import User
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.browser


def test_county_official_first_login_changes_password_and_sees_workbench(
    live_server, transactional_db, regions, page, screenshot_dir
):
    make_user("yx_county", "official", regions["越秀区"], full_name="越秀区民政局", must_change_password=True)
    page.set_viewport_size({"width": 1280, "height": 860})

    page.goto(f"{live_server.url}/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("heading", name="登录")).to_be_visible()
    page.get_by_label("用户名 / 手机号 / 身份证号").fill("yx_county")
    page.get_by_label("密码").fill(PASSWORD)
    page.locator("input[name='captcha_1']").fill("PASSED")
    page.screenshot(path=screenshot_dir / "login.png", full_page=True)
    page.get_by_role("button", name="登录").click()

    # Initial password: the change form comes before anything else.
    expect(page).to_have_url(re.compile(r"/accounts/password/change/"))
    expect(page.get_by_text("您必须先设置自己的密码")).to_be_visible()
    page.get_by_label("当前密码").fill(PASSWORD)
    page.get_by_label("新密码", exact=True).fill("Yuexiu#2026new")
    page.get_by_label("再次输入新密码").fill("Yuexiu#2026new")
    page.get_by_role("button", name="修改密码").click()

    expect(page.get_by_role("heading", name=re.compile("工作台"))).to_be_visible()
    expect(page.get_by_test_id("topbar-region")).to_have_text("越秀区")
    tree = page.get_by_test_id("region-tree")
    expect(tree.get_by_role("link", name="越秀区")).to_be_visible()
    # Lazy loading: the towns arrive through htmx when the node is expanded.
    expect(tree.get_by_role("link", name="洪桥街道")).to_have_count(0)
    tree.get_by_role("button", name=re.compile("越秀区")).click()
    expect(tree.get_by_role("link", name="洪桥街道")).to_be_visible()
    expect(tree.get_by_role("link", name="沙面街道")).to_have_count(0)
    page.screenshot(path=screenshot_dir / "workbench-county.png", full_page=True)

    user = User.objects.get(username="yx_county")
    assert not user.must_change_password
    assert user.check_password("Yuexiu#2026new")


def test_login_page_fits_a_phone(live_server, transactional_db, page, screenshot_dir):
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/login/")
    button = page.get_by_role("button", name="登录")
    expect(button).to_be_visible()
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    # No horizontal scrolling on a phone.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshot_dir / "login-phone.png", full_page=True)
