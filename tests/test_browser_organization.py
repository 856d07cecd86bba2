"""Organization journey in real Chromium: sign-up with a credit code → county approves → city approves →
the organization logs in, sees its home with the approved status, adds a staff member and opens the
workbench of a station it operates."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from playwright.sync_api import expect

from registration.models import Organization
from swms.workflow import State
from tests.conftest import make_user
from tests.test_browser_registration import _login, _logout
from tests.test_organizations import make_uscc
from tests.test_stations import create_station

pytestmark = pytest.mark.browser

ORG_PASSWORD = "Qm#Social2026"


def _zh(label) -> str:
    with translation.override("zh-hans"):
        return str(label)


def _decide(page, base, username, org_name):
    _login(page, base, username, "Swms#Test2026")
    page.goto(base + reverse("registration:organization-queue"))
    page.get_by_role("link", name=org_name).click()
    page.locator("form[data-testid='decision'] button[value='approve']").click()
    expect(page.get_by_role("alert").first).to_be_visible()
    _logout(page)


def test_organization_signs_up_is_approved_and_works_from_its_home(
    live_server, transactional_db, regions, page, screenshot_dir
):
    county = make_user("yx_org", "official", regions["越秀区"], full_name="越秀区民政局")
    make_user("gz_org", "official", regions["广州市"], full_name="广州市民政局")
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})
    name = "越秀区启明社会工作服务中心"

    # Sign up from the login page with a unified social credit code.
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name="社会工作服务机构注册").click()
    form = page.get_by_test_id("org-signup")
    form.locator("#id_name").fill(name)
    form.locator("#id_uscc").fill(make_uscc())
    form.locator("#id_legal_representative").fill("王强")
    form.locator("#id_founded_on").fill("2019-03-01")
    form.locator("#id_registration_authority").fill("广州市越秀区民政局")
    page.locator("#cascade-0").select_option(label="广东省")
    expect(page.locator("#cascade-1 option", has_text="广州市")).to_have_count(1)
    page.locator("#cascade-1").select_option(label="广州市")
    expect(page.locator("#cascade-2 option", has_text="越秀区")).to_have_count(1)
    page.locator("#cascade-2").select_option(label="越秀区")
    expect(page.locator("#cascade-3 option", has_text="洪桥街道")).to_have_count(1)
    page.locator("#cascade-3").select_option(label="洪桥街道")
    form.locator("#id_address").fill("广州市越秀区洪桥街 8 号")
    form.locator("#id_contact_person").fill("赵丽")
    form.locator("#id_mobile").fill("13922223333")
    form.locator("#id_email").fill("qiming@example.org")
    form.locator("input[name='service_domains']").first.check()
    form.locator("#id_username").fill("qiming_sw")
    form.locator("#id_password1").fill(ORG_PASSWORD)
    form.locator("#id_password2").fill(ORG_PASSWORD)
    form.locator("input[name='captcha_1']").fill("PASSED")
    form.locator("button[type='submit']").click()

    # Signed in on the registration profile: submit it for review.
    page.locator("button[name='action'][value='submit']").click()
    expect(page.get_by_test_id("status").first).to_have_text(_zh(State.SUBMITTED.label))
    organization = Organization.objects.get(name=name)
    assert organization.account.email == "qiming@example.org"
    page.goto(f"{base}/")
    expect(page.get_by_test_id("org-status").get_by_test_id("status")).to_have_text(_zh(State.SUBMITTED.label))
    expect(page.get_by_test_id("next-step")).to_contain_text("越秀区")
    _logout(page)

    # The county, then the city approve.
    _decide(page, base, "yx_org", name)
    organization.refresh_from_db()
    assert organization.status == State.COUNTY_APPROVED
    _decide(page, base, "gz_org", name)
    organization.refresh_from_db()
    assert organization.status == State.APPROVED

    # The county then makes it the operator of the 洪桥街道 station.
    today = timezone.localdate()
    station, _pw = create_station(county, regions, operators=[{
        "organization": organization, "valid_from": today - datetime.timedelta(days=10),
        "valid_to": today + datetime.timedelta(days=355)}])

    # The organization logs in: its home shows the approved status and the station.
    _login(page, base, "qiming_sw", ORG_PASSWORD)
    expect(page.get_by_test_id("org-status").get_by_test_id("status")).to_have_text(_zh(State.APPROVED.label))
    expect(page.get_by_test_id("staff-count")).to_have_text("0")
    expect(page.get_by_test_id("station-row")).to_contain_text(station.name)
    expect(page.get_by_test_id("latest-notices")).to_be_visible()

    # It adds a staff member; the home counts them.
    page.get_by_test_id("org-staff-count").get_by_role("link").click()
    page.get_by_role("link", name="添加工作人员").click()
    staff = page.get_by_test_id("staff-form")
    staff.locator("#id_name").fill("周敏")
    staff.locator("#id_position").fill("项目主管")
    staff.locator("button[type='submit']").click()
    expect(page.get_by_text("周敏")).to_be_visible()
    page.get_by_role("link", name="工作台", exact=True).first.click()
    expect(page.get_by_test_id("staff-count")).to_have_text("1")
    page.screenshot(path=screenshot_dir / "org-home.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_test_id("staff-count")).to_have_text("1")
    page.screenshot(path=screenshot_dir / "org-home-390.png", full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})

    # From its home it opens the station's workbench.
    page.get_by_test_id("open-station").click()
    expect(page.get_by_role("heading", name=re.compile(station.name))).to_be_visible()
    expect(page.locator("#workbench-data")).to_have_count(1)
