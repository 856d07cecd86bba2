"""Whole registration journey in real Chromium: sign-up → profile → a first registration withdrawn and
started again → materials in one form → county and city approval → the worker follows the approval
message to the certificate in the history."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from registration.certificates import verification_url
from registration.models import Certificate, Qualification, Registration
from tests.conftest import PASSWORD, make_user
from tests.factories import make_id_number
from tests.test_uploads import png_upload

pytestmark = pytest.mark.browser


def _image(tmp_path, name, w, h):
    path = tmp_path / name
    path.write_bytes(png_upload(w, h).read())
    return path


def _login(page, base, username, password):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("用户名 / 手机号 / 身份证号").fill(username)
    page.get_by_label("密码").fill(password)
    page.locator("input[name='captcha_1']").fill("PASSED")
    page.locator("form button.btn-primary").click()


def _logout(page):
    page.get_by_role("button", name="退出").click()


def test_worker_registers_and_county_then_city_approve(
    live_server, transactional_db, regions, page, screenshot_dir, tmp_path, settings
):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.SWMS_PUBLIC_BASE_URL = live_server.url
    id_number = make_id_number()
    Qualification.objects.create(id_number=id_number, name="林小红", level="assistant", certificate_no="GD2025-0001",
                                 exam_year=timezone.localdate().year - 1, issuing_province="广东省")
    make_user("yx_review", "official", regions["越秀区"], full_name="越秀区民政局")
    make_user("gz_review", "official", regions["广州市"], full_name="广州市民政局")
    base = live_server.url
    page.set_viewport_size({"width": 1280, "height": 900})

    # Sign up as a roster worker.
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("link", name="社会工作者注册").click()
    page.get_by_label("身份证号").fill(id_number)
    page.get_by_label("姓名").fill("林小红")
    page.get_by_label("手机号").fill("13700001111")
    page.get_by_label("电子邮箱").fill("lin@example.com")
    page.get_by_label("密码", exact=True).fill("Lin#Social2026")
    page.get_by_label("再次输入密码").fill("Lin#Social2026")
    page.locator("input[name='captcha_1']").fill("PASSED")
    page.get_by_role("button", name="注册").click()
    expect(page.get_by_role("heading", name=re.compile("我的资料"))).to_be_visible()
    expect(page.get_by_text("GD2025-0001")).to_be_visible()

    # Fill in the profile.
    fields = {
        "id_ethnicity": "汉族", "id_hukou": "广东广州", "id_native_place": "广东梅州", "id_school": "中山大学",
        "id_major": "社会工作", "id_graduation_date": "2015-07-01", "id_work_start_date": "2015-08-01",
        "id_address": "广州市越秀区洪桥街道1号", "id_postcode": "510000", "id_employer": "越秀区阳光社工服务中心",
        "id_years_in_social_work": "8", "id_experience": "长期从事社区社会工作。",
    }
    for field_id, value in fields.items():
        page.locator(f"#{field_id}").fill(value)
    page.locator("#id_marital_status").select_option("single")
    page.locator("#id_political_status").select_option("none")
    page.locator("#id_education").select_option("bachelor")
    page.locator("#id_full_time").select_option("1")
    page.locator("#id_position").select_option("frontline")
    page.get_by_label("社区", exact=True).check()
    page.locator("#id_new_photo").set_input_files(_image(tmp_path, "photo.png", 413, 626))
    page.locator("#cascade-0").select_option(label="广东省")
    expect(page.locator("#cascade-1 option", has_text="广州市")).to_have_count(1)
    page.locator("#cascade-1").select_option(label="广州市")
    expect(page.locator("#cascade-2 option", has_text="越秀区")).to_have_count(1)
    page.locator("#cascade-2").select_option(label="越秀区")
    expect(page.locator("#cascade-3 option", has_text="洪桥街道")).to_have_count(1)
    page.locator("#cascade-3").select_option(label="洪桥街道")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.get_by_text("已保存")).to_be_visible()
    page.screenshot(path=screenshot_dir / "registration-profile.png", full_page=True)

    # Start a first registration, think better of it and withdraw the draft (after a confirmation) ...
    page.get_by_role("link", name="申请登记").first.click()
    page.get_by_test_id("kind-first").get_by_role("button").click()
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.accept()))
    page.get_by_test_id("withdraw-form").get_by_role("button").click()
    expect(page.get_by_test_id("status").first).to_have_text("已撤回")
    assert len(questions) == 1 and questions[0]
    page.screenshot(path=screenshot_dir / "registration-withdrawn.png", full_page=True)
    # ... which closes it, so a new application starts from the link on the withdrawn one.
    page.get_by_test_id("application-state").get_by_role("link").click()
    page.get_by_test_id("kind-first").get_by_role("button").click()
    expect(page.get_by_test_id("status").first).to_have_text("草稿")

    # The photo is the profile's; a submit with nothing uploaded names every missing material at once.
    expect(page.get_by_test_id("material-photo")).to_have_attribute("data-state", "from_profile")
    expect(page.get_by_test_id("material-photo").locator("input[type=file]")).to_have_count(0)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="提交审核").click()
    problem = page.locator(".alert-danger")
    for label in ("身份证正面", "身份证反面", "职业水平证书"):
        expect(problem).to_contain_text(label)
    expect(page.get_by_test_id("status").first).to_have_text("草稿")

    # All materials in one form, chosen together and uploaded with one click.
    materials = page.get_by_test_id("materials-form")
    for kind, (w, h) in {"id_front": (856, 540), "id_back": (856, 540), "qualification": (800, 600)}.items():
        expect(page.get_by_test_id(f"material-{kind}")).to_have_attribute("data-state", "missing")
        materials.locator(f"input[name='{kind}']").set_input_files(_image(tmp_path, f"{kind}.png", w, h))
    materials.locator("button[type=submit]").click()
    for kind in ("id_front", "id_back", "qualification"):
        slot = page.get_by_test_id(f"material-{kind}")
        expect(slot).to_have_attribute("data-state", "uploaded")
        expect(slot.get_by_text("已上传")).to_be_visible()
        expect(slot.get_by_test_id("material-view")).to_have_count(1)
    page.screenshot(path=screenshot_dir / "registration-materials.png", full_page=True)
    page.get_by_label("我保证上述所填信息均真实有效").check()
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="提交审核").click()
    expect(page.get_by_test_id("status").first).to_have_text("已提交")
    page.screenshot(path=screenshot_dir / "registration-submitted.png", full_page=True)
    _logout(page)

    # County initial review, then city final review.
    for username, shot in (("yx_review", "registration-county-review.png"), ("gz_review", None)):
        _login(page, base, username, PASSWORD)
        page.get_by_role("link", name="登记申请").first.click()
        page.get_by_test_id("queue").get_by_role("link", name="林小红").click()
        expect(page.get_by_test_id("why")).to_be_visible()
        if shot:
            page.screenshot(path=screenshot_dir / shot, full_page=True)
        page.get_by_role("button", name="通过", exact=True).click()
        expect(page.get_by_text("审核意见已记录")).to_be_visible()
        _logout(page)

    # The worker sees the approval in the inbox and the registration in the history.
    _login(page, base, id_number, "Lin#Social2026")
    expect(page.get_by_test_id("unread-count")).to_have_text("2")
    page.get_by_test_id("inbox-link").click()
    page.get_by_role("link", name=re.compile("您的登记申请已通过 ")).click()
    expect(page.get_by_text("登记编号")).to_be_visible()
    page.screenshot(path=screenshot_dir / "registration-approval-message.png", full_page=True)
    # The message leads to the certificate section of the history page.
    page.get_by_role("link", name="查看", exact=True).click()
    expect(page).to_have_url(re.compile(r"/registration/history/#certificates$"))
    registration = Registration.objects.get(worker__id_number=id_number)
    expect(page.get_by_test_id("registrations")).to_contain_text(registration.registration_no)
    page.screenshot(path=screenshot_dir / "registration-history.png", full_page=True)

    # The certificate (issued right after approval: no window) downloads as a PDF ...
    with page.expect_download() as download:
        page.get_by_test_id("certificate-download").click()
    pdf = tmp_path / "certificate.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF")
    # ... and anyone can verify it at the address its QR code carries, without logging in.
    certificate = Certificate.objects.get(registration=registration)
    visitor = page.context.browser.new_context(locale="zh-CN")
    anonymous = visitor.new_page()
    anonymous.goto(verification_url(certificate.token))
    expect(anonymous.get_by_test_id("verify-status")).to_have_text("证书有效")
    expect(anonymous.get_by_text(registration.registration_no)).to_be_visible()
    anonymous.screenshot(path=screenshot_dir / "certificate-verify.png", full_page=True)
    visitor.close()
    # The worker's home shows the registration, the certificate download and the renewal's CE tally.
    page.goto(f"{base}/")
    expect(page.get_by_test_id("registration")).to_contain_text(registration.registration_no)
    expect(page.get_by_test_id("registration-state")).to_have_text("有效")
    expect(page.get_by_test_id("registration").get_by_test_id("certificate-download")).to_be_visible()
    expect(page.get_by_test_id("ce-tally")).to_contain_text("72")
    page.screenshot(path=screenshot_dir / "worker-home.png", full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshot_dir / "worker-home-phone.png", full_page=True)
    page.goto(f"{base}/registration/profile/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=screenshot_dir / "registration-profile-phone.png", full_page=False)
