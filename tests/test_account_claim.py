"""认领账号 (issue #15): a worker brought over by the legacy registration import claims the account — by a code
sent to the mobile on file, or by their own registration and certificate numbers — sets a password, logs in by
ID number, sees the registration and can renew. What the pages tell strangers, the limits and the audit log."""

import datetime
import re

import pytest
from captcha.models import CaptchaStore
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import SecurityEvent, User
from registration import services
from registration.legacy_import import registrations_import
from registration.models import RegistrationApplication, SocialWorker
from swms import sms
from tests.factories import CERecordFactory, make_id_number
from tests.registration_fixtures import complete_profile
from tests.test_legacy_registration_import import id_of, write_register
from tests.today import TODAY

PASSWORD = "Chen#Social2026"
MOBILE = "13912345678"


@pytest.fixture(autouse=True)
def _fresh_limits_and_outbox():
    cache.clear()
    sms.outbox.clear()
    yield
    sms.outbox.clear()


@pytest.fixture
def imported(regions, tmp_path):
    """陈静 (a mobile on file; her registration ends this year, so she renews now) and 黄海 (no mobile)."""
    chen, huang = id_of(datetime.date(1988, 8, 8), male=False), id_of(datetime.date(1979, 2, 2), male=True)
    start = datetime.date(TODAY.year - 3, 1, 1)
    end = datetime.date(TODAY.year, 12, 31)
    rows = [
        ["陈静", chen, MOBILE, "社会工作师", "C-CJ-1", "R-CJ-1", "首次登记", datetime.date(TODAY.year - 6, 1, 1),
         datetime.date(TODAY.year - 3, 12, 31), "广州市民政局", "已过期", "广州市越秀区洪桥街道", "阳光社工中心"],
        ["陈静", chen, MOBILE, "社会工作师", "C-CJ-1", "R-CJ-2", "再登记", start, end, "广州市民政局", "有效",
         "广州市越秀区洪桥街道", "阳光社工中心"],
        ["黄海", huang, "", "助理社会工作师", "A-HH-1", "R-HH-1", "首次登记", start, end, "广州市越秀区民政局", "有效",
         "越秀区洪桥街道", ""],
    ]
    report = registrations_import(path=write_register(tmp_path / "register.xlsx", rows))
    assert (report.created, report.errors) == (3, [])
    return {"chen": chen, "huang": huang}


def captcha():
    return {"captcha_0": CaptchaStore.generate_key(), "captcha_1": "PASSED"}


def identify(client, name, id_number, **extra):
    return client.post(reverse("accounts:claim"), {"step": "identify", "name": name, "id_number": id_number,
                                                   **captcha()}, **extra)


def step(client, name, data=None, **extra):
    return client.post(reverse("accounts:claim"), {"step": name, **(data or {})}, **extra)


def claim_events(**filters):
    return SecurityEvent.objects.filter(detail__startswith="account claim", **filters)


def page(response) -> str:
    return response.content.decode()


def sent_code() -> str:
    """The code as the SMS backend delivered it (tests: the in-memory outbox)."""
    assert len(sms.outbox) == 1
    return re.search(r"\b(\d{6})\b", sms.outbox[-1].text).group(1)


def test_claim_by_sms_then_log_in_by_id_number_and_renew(client, english, imported, media):
    chen = imported["chen"]
    assert reverse("accounts:claim") in page(client.get(reverse("accounts:login")))
    assert client.get(reverse("accounts:claim")).status_code == 200

    response = identify(client, "陈 静", chen.lower())  # spaces in the name, a lower-case x: still her
    assert response.status_code == 302
    assert claim_events(kind=SecurityEvent.Kind.ACCOUNT_CLAIM, success=True,
                        target__id_number=chen).count() == 1
    verify = page(client.get(reverse("accounts:claim")))
    assert "139****5678" in verify and MOBILE not in verify and chen not in verify

    assert step(client, "verify", {"action": "send"}).status_code == 302
    assert sms.outbox[0].to == MOBILE
    code = sent_code()
    wrong = "000000" if code != "000000" else "111111"
    response = step(client, "verify", {"action": "verify", "code": wrong})
    assert response.status_code == 200 and "The code is not correct" in page(response)
    assert claim_events(success=False, detail__contains="wrong code").count() == 1

    assert step(client, "verify", {"action": "verify", "code": code}).status_code == 302
    response = step(client, "password", {"password1": "12345678", "password2": "12345678"})
    assert response.status_code == 200 and "too common" in page(response)  # the project's validators
    response = step(client, "password", {"password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("reports:workbench")
    user = User.objects.get(id_number=chen)
    assert user.check_password(PASSWORD) and not user.must_change_password
    assert claim_events(kind=SecurityEvent.Kind.ACCOUNT_CLAIMED, success=True, target=user).count() == 1
    assert "R-CJ-2" in page(client.get(reverse("reports:workbench")))  # logged in, at home

    client.post(reverse("accounts:logout"))
    response = client.post(reverse("accounts:login"), {"username": chen, "password": PASSWORD, **captcha()})
    assert response.status_code == 302
    home = page(client.get(reverse("reports:workbench")))
    assert "R-CJ-2" in home and "陈静" in home

    # Renewal works as for anyone registered: complete the profile, have the hours, start the application.
    worker = SocialWorker.objects.get(user=user)
    complete_profile(worker, worker.work_region)
    CERecordFactory(worker=worker, hours=90, completed_on=datetime.date(TODAY.year - 2, 6, 1))
    application = services.application_start(worker=worker, kind="renewal")
    assert application.kind == "renewal" and application.qualification.certificate_no == "C-CJ-1"
    assert RegistrationApplication.objects.filter(worker=worker).count() == 1


def test_claim_without_mobile_by_own_registration_and_certificate_numbers(client, english, imported):
    huang = imported["huang"]
    assert identify(client, "黄海", huang).status_code == 302
    verify = page(client.get(reverse("accounts:claim")))
    assert "no mobile number on file" in verify and 'name="registration_no"' in verify
    assert step(client, "verify", {"action": "send"}).status_code == 200 and sms.outbox == []

    # Another person's certificate number with her own registration number: refused.
    response = step(client, "verify", {"action": "records", "registration_no": "R-HH-1", "certificate_no": "C-CJ-1"})
    assert "do not match your records" in page(response)
    assert step(client, "password", {"password1": PASSWORD, "password2": PASSWORD}).status_code == 302
    assert not User.objects.get(id_number=huang).has_usable_password()  # no step skipped

    response = step(client, "verify", {"action": "records", "registration_no": "r-hh-1 ", "certificate_no": "A-HH-1"})
    assert response.status_code == 302
    response = step(client, "password", {"password1": "Huang#Hai2026", "password2": "Huang#Hai2026"})
    assert response.status_code == 302
    assert User.objects.get(id_number=huang).check_password("Huang#Hai2026")
    assert claim_events(detail="account claim: succeeded (records)").count() == 1


def test_a_claimed_account_cannot_be_claimed_again(client, english, imported):
    user = User.objects.get(id_number=imported["huang"])
    user.set_password("Huang#Hai2026")
    user.save()
    response = identify(client, "黄海", imported["huang"])
    assert response.status_code == 200
    text = page(response)
    assert "already been claimed" in text and reverse("accounts:password-reset") in text
    assert client.session.get("swms_account_claim") is None
    assert User.objects.get(pk=user.pk).check_password("Huang#Hai2026")


def test_unknown_id_number_and_wrong_name_get_the_same_answer(client, english, imported):
    def answer(response):
        assert response.status_code == 200
        return re.search(r'<div class="alert alert-danger" role="alert">(.*?)</div>', page(response), re.S).group(1)

    nobody = answer(identify(client, "陈静", make_id_number()))
    wrong_name = answer(identify(client, "陈晶", imported["chen"]))
    assert nobody == wrong_name and "No registration to claim matches" in nobody
    assert imported["chen"] not in wrong_name and "139" not in wrong_name
    events = list(claim_events(success=False).values_list("target", "detail"))
    assert events == [(None, "account claim: no match")] * 2  # the log cannot tell them apart either


def test_attempts_are_limited_per_address_per_id_number_and_per_account(client, english, imported, settings):
    settings.SWMS_CLAIM_ATTEMPTS_PER_ID = 3
    settings.SWMS_CLAIM_ATTEMPTS_PER_IP = 4
    chen = imported["chen"]
    for n in range(3):  # wrong names from three addresses: the ID number's allowance
        identify(client, "某某", chen, REMOTE_ADDR=f"10.0.0.{n + 1}")
    response = identify(client, "陈静", chen, REMOTE_ADDR="10.0.0.9")
    assert response.status_code == 429 and "Too many attempts" in page(response)
    assert client.session.get("swms_account_claim") is None

    for _n in range(3):  # one address trying ID numbers (its fourth attempt is the one above)
        identify(client, "某某", make_id_number(), REMOTE_ADDR="10.0.0.9")
    assert identify(client, "黄海", imported["huang"], REMOTE_ADDR="10.0.0.9").status_code == 429
    assert claim_events(success=False, detail__contains="throttled").count() == 2

    # Codes: five tries per account, then even the right one waits.
    cache.clear()
    assert identify(client, "陈静", chen).status_code == 302
    step(client, "verify", {"action": "send"})
    code = sent_code()
    for _n in range(5):
        step(client, "verify", {"action": "verify", "code": "999999" if code != "999999" else "888888"})
    response = step(client, "verify", {"action": "verify", "code": code})
    assert response.status_code == 429
    assert not User.objects.get(id_number=chen).has_usable_password()


def test_a_code_is_not_sent_again_within_a_minute(client, english, imported):
    identify(client, "陈静", imported["chen"])
    step(client, "verify", {"action": "send"})
    response = step(client, "verify", {"action": "send"})
    assert "less than a minute ago" in page(response) and len(sms.outbox) == 1
    # Nor from a second session of the same account.
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    identify(other, "陈静", imported["chen"])
    assert "less than a minute ago" in page(step(other, "verify", {"action": "send"})) and len(sms.outbox) == 1


def test_a_code_is_used_in_the_session_that_asked_for_it(client, english, imported):
    identify(client, "陈静", imported["chen"])
    step(client, "verify", {"action": "send"})
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    identify(other, "陈静", imported["chen"])
    response = step(other, "verify", {"action": "verify", "code": sent_code()})
    assert "expired or was never sent" in page(response)
    assert step(client, "verify", {"action": "verify", "code": sent_code()}).status_code == 302


def test_a_signed_in_user_is_sent_home(client, imported):
    client.force_login(User.objects.get(id_number=imported["chen"]))
    response = client.get(reverse("accounts:claim"))
    assert response.status_code == 302 and response["Location"] == reverse("reports:workbench")


@pytest.mark.browser
def test_browser_claim_on_a_phone(live_server, transactional_db, imported, page, screenshot_dir):
    """The whole claim in Chromium at 390 px: from the login page's link to the worker's home."""
    page.set_viewport_size({"width": 390, "height": 844})

    def fits():
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_test_id("claim-link").click()
    page.locator("input[name='name']").fill("陈静")
    page.locator("input[name='id_number']").fill(imported["chen"])
    page.locator("input[name='captcha_1']").fill("PASSED")
    fits()
    page.screenshot(path=screenshot_dir / "claim-1-identify.png", full_page=True)
    page.locator("form:has(input[name='id_number']) button[type='submit']").click()

    expect(page.get_by_text("139****5678")).to_be_visible()
    page.get_by_test_id("send-code").click()
    expect(page.locator(".alert-success")).to_contain_text("139****5678")
    page.locator("input[name='code']").fill(sent_code())
    fits()
    page.screenshot(path=screenshot_dir / "claim-2-verify.png", full_page=True)
    page.locator("form:has(input[name='code']) button[type='submit']").click()

    page.locator("input[name='password1']").fill(PASSWORD)
    page.locator("input[name='password2']").fill(PASSWORD)
    fits()
    page.screenshot(path=screenshot_dir / "claim-3-password.png", full_page=True)
    page.locator("form:has(input[name='password1']) button[type='submit']").click()

    expect(page.get_by_text("R-CJ-2")).to_be_visible()
    fits()
    page.screenshot(path=screenshot_dir / "claim-4-home.png", full_page=True)
    assert User.objects.get(id_number=imported["chen"]).check_password(PASSWORD)
