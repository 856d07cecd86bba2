"""The second factor (SECURITY.md A5): TOTP enrolment at the first login of officials and operators, verification
at every later login (authenticator code, backup code or SMS code), single-use codes, throttling, the URL walk as
an unverified official and operator, the admin behind our login, workers' opt-in, the reset by an administrator,
and the social workers' SMS-code login (Beijing manual §1.2)."""

import re
from datetime import timedelta

import pytest
from captcha.models import CaptchaStore
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from accounts import mfa
from accounts.models import SecurityEvent, UserKind, UserSession
from swms import sms
from tests.conftest import PASSWORD, make_user

pytestmark = pytest.mark.usefixtures("english")


@pytest.fixture(autouse=True)
def _mfa_on(settings):
    """The real setting (conftest turns it off for the rest of the suite); fresh limits and outbox."""
    settings.SWMS_MFA_REQUIRED = True
    cache.clear()
    sms.outbox.clear()
    yield
    cache.clear()
    sms.outbox.clear()


def captcha() -> dict:
    return {"captcha_0": CaptchaStore.generate_key(), "captcha_1": "PASSED"}


def password_login(client, identifier, password=PASSWORD, next_url=None, ip="127.0.0.1"):
    data = {"username": identifier, "password": password, **captcha()}
    if next_url:
        data["next"] = next_url
    return client.post(reverse("accounts:login"), data, REMOTE_ADDR=ip)


def current_code(device: TOTPDevice, offset_steps: int = 0) -> str:
    """The code the authenticator app shows now (or `offset_steps` later)."""
    value = totp(device.bin_key, step=device.step, t0=device.t0 - offset_steps * device.step,
                 digits=device.digits, drift=device.drift)
    return f"{value:0{device.digits}d}"


def enrol(client, user) -> tuple[TOTPDevice, list[str]]:
    """Go through the enrolment page as the signed-in `user`; returns the device and the backup codes shown."""
    page = client.get(reverse("accounts:mfa-setup"))
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    assert mfa.totp_secret(device).replace(" ", "") in page.content.decode().replace(" ", "")
    response = client.post(reverse("accounts:mfa-setup"), {"code": current_code(device), "next": "/"})
    assert response.status_code == 200
    codes = re.findall(r"<li class=\"col\">([a-z2-7]{8})</li>", response.content.decode())
    device.refresh_from_db()
    return device, codes


def enrolled_device(user) -> TOTPDevice:
    """An authenticator set up earlier (used a step ago, as after a previous login)."""
    device = TOTPDevice.objects.create(user=user, name=mfa.TOTP_NAME, confirmed=True)
    mfa._backup_codes_create(user)
    return device


def is_verified(client, user) -> bool:
    return client.session.get(mfa.SESSION_VERIFIED) == user.pk


def events(kind, **filters):
    return SecurityEvent.objects.filter(kind=kind, **filters)


# --- Enrolment at the first login ---------------------------------------------------------------------


def test_official_first_login_goes_to_enrolment_before_anything_else(client, alice):
    response = password_login(client, "alice")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:mfa-setup"))
    assert client.get(reverse("reports:workbench"))["Location"].startswith(reverse("accounts:mfa-setup"))
    page = client.get(reverse("accounts:mfa-setup"))
    content = page.content.decode()
    assert "<svg" in content and 'data-testid="totp-qr"' in content  # drawn inline, no outside service
    assert "otpauth" not in content and "chart.googleapis" not in content


def test_enrolment_confirms_with_a_code_and_shows_ten_single_use_backup_codes(client, alice):
    password_login(client, "alice")
    device, codes = enrol(client, alice)
    assert device.confirmed
    assert len(codes) == 10 and len(set(codes)) == 10
    assert set(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True)) == set(codes)
    assert is_verified(client, alice)
    assert client.get(reverse("reports:workbench")).status_code == 200
    assert events(SecurityEvent.Kind.MFA_ENROLLED, target=alice).count() == 1


def test_enrolment_refuses_a_wrong_code(client, alice):
    password_login(client, "alice")
    client.get(reverse("accounts:mfa-setup"))
    device = TOTPDevice.objects.get(user=alice)
    wrong = f"{(int(current_code(device)) + 1) % 1000000:06d}"
    response = client.post(reverse("accounts:mfa-setup"), {"code": wrong})
    assert response.status_code == 200
    device.refresh_from_db()
    assert not device.confirmed and not is_verified(client, alice)
    assert events(SecurityEvent.Kind.MFA_FAILED, target=alice, success=False).count() == 1


def test_first_login_with_initial_password_enrols_first_then_changes_password(client, regions):
    user = make_user("new_official", UserKind.OFFICIAL, regions["越秀区"], must_change_password=True)
    response = password_login(client, "new_official")
    assert response["Location"].startswith(reverse("accounts:mfa-setup"))
    # The password-change page itself waits for the second factor: a password alone cannot change it.
    assert client.get(reverse("accounts:password-change"))["Location"].startswith(reverse("accounts:mfa-setup"))
    enrol(client, user)
    assert client.get(reverse("reports:workbench"))["Location"] == reverse("accounts:password-change")


# --- Verification at every later login ------------------------------------------------------------------


def test_enrolled_official_needs_the_totp_code_at_login(client, alice):
    device = enrolled_device(alice)
    response = password_login(client, "alice", next_url="/accounts/officials/")
    assert response["Location"] == reverse("accounts:mfa-verify") + "?next=%2Faccounts%2Fofficials%2F"
    assert not is_verified(client, alice)
    assert client.get(reverse("reports:workbench")).status_code == 302
    response = client.post(reverse("accounts:mfa-verify"), {"code": current_code(device),
                                                            "next": "/accounts/officials/"})
    assert response.status_code == 302 and response["Location"] == "/accounts/officials/"
    assert is_verified(client, alice)
    assert client.get(reverse("reports:workbench")).status_code == 200
    assert events(SecurityEvent.Kind.MFA_VERIFIED, target=alice).count() == 1


def test_a_used_totp_code_is_refused_the_second_time(client, alice):
    device = enrolled_device(alice)
    with freeze_time(timezone.now()) as frozen:
        password_login(client, "alice")
        code = current_code(device)
        assert client.post(reverse("accounts:mfa-verify"), {"code": code}).status_code == 302
        client.post(reverse("accounts:logout"))
        frozen.tick(5)
        other = Client(HTTP_ACCEPT_LANGUAGE="en")
        password_login(other, "alice")
        response = other.post(reverse("accounts:mfa-verify"), {"code": code})
        assert response.status_code == 200 and not is_verified(other, alice)
        assert "The code is not correct" in response.content.decode()
        device.refresh_from_db()
        assert device.last_t >= 0
    assert events(SecurityEvent.Kind.MFA_FAILED, target=alice).count() == 1


def test_wrong_codes_are_throttled_and_logged(client, alice):
    device = enrolled_device(alice)
    with freeze_time(timezone.now()) as frozen:
        password_login(client, "alice")
        wrong = f"{(int(current_code(device)) + 1) % 1000000:06d}"
        assert client.post(reverse("accounts:mfa-verify"), {"code": wrong}).status_code == 200
        # Within django-otp's delay even the right code is refused, with 429.
        response = client.post(reverse("accounts:mfa-verify"), {"code": current_code(device)})
        assert response.status_code == 429 and not is_verified(client, alice)
        frozen.tick(2)
        assert client.post(reverse("accounts:mfa-verify"), {"code": current_code(device)}).status_code == 302
    assert events(SecurityEvent.Kind.MFA_FAILED, target=alice, success=False).count() == 2
    device.refresh_from_db()
    assert device.throttling_failure_count == 0


def test_a_backup_code_works_once(client, alice):
    password_login(client, "alice")
    _device, codes = enrol(client, alice)
    client.post(reverse("accounts:logout"))
    password_login(client, "alice")
    assert client.post(reverse("accounts:mfa-verify"), {"code": codes[0].upper()}).status_code == 302
    assert is_verified(client, alice)
    assert StaticToken.objects.filter(device__user=alice).count() == 9
    client.post(reverse("accounts:logout"))
    cache.clear()
    with freeze_time(timezone.now() + timedelta(seconds=5)):
        password_login(client, "alice")
        response = client.post(reverse("accounts:mfa-verify"), {"code": codes[0]})
    assert response.status_code == 200 and not is_verified(client, alice)


def test_backup_codes_can_be_regenerated_and_the_old_ones_stop_working(client, alice):
    password_login(client, "alice")
    _device, old = enrol(client, alice)
    response = client.post(reverse("accounts:mfa-backup-codes"))
    assert response.status_code == 200
    new = re.findall(r"<li class=\"col\">([a-z2-7]{8})</li>", response.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    assert set(StaticToken.objects.filter(device__user=alice).values_list("token", flat=True)) == set(new)
    assert events(SecurityEvent.Kind.BACKUP_CODES, target=alice).count() == 1


def test_sms_code_is_an_alternative_and_single_use(client, regions):
    official = make_user("sms_official", UserKind.OFFICIAL, regions["越秀区"], phone="13911112222")
    enrolled_device(official)
    password_login(client, "sms_official")
    response = client.post(reverse("accounts:mfa-verify"), {"action": "sms"})
    assert response.status_code == 200
    assert [m.to for m in sms.outbox] == ["13911112222"]
    code = re.search(r"\b(\d{6})\b", sms.outbox[0].text).group(1)
    assert events(SecurityEvent.Kind.SMS_CODE_SENT, target=official).count() == 1
    assert client.post(reverse("accounts:mfa-verify"), {"code": code}).status_code == 302
    assert is_verified(client, official)
    assert events(SecurityEvent.Kind.MFA_VERIFIED, target=official, detail="second factor: SMS code").count() == 1
    client.post(reverse("accounts:logout"))
    with freeze_time(timezone.now() + timedelta(seconds=3)):
        password_login(client, "sms_official")
        response = client.post(reverse("accounts:mfa-verify"), {"code": code})
    assert response.status_code == 200 and not is_verified(client, official)


def test_sms_code_sends_are_limited(client, regions, settings):
    settings.SWMS_SMS_CODES_PER_ACCOUNT = 2
    official = make_user("sms_official", UserKind.OFFICIAL, regions["越秀区"], phone="13911112222")
    enrolled_device(official)
    password_login(client, "sms_official")
    start = timezone.now()
    statuses = []
    for minute in range(3):
        with freeze_time(start + timedelta(minutes=2 * minute)):
            statuses.append(client.post(reverse("accounts:mfa-verify"), {"action": "sms"}).status_code)
    assert statuses == [200, 200, 429]
    assert len(sms.outbox) == 2
    # And not twice within a minute.
    with freeze_time(start + timedelta(seconds=30)):
        assert client.post(reverse("accounts:mfa-verify"), {"action": "sms"}).status_code == 200
    assert len(sms.outbox) == 2


# --- Every URL waits for the second factor ------------------------------------------------------------


def _paths():
    """One concrete path per URL pattern of the site (the admin's included), with made-up arguments."""

    def walk(resolver, prefix=""):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                yield from walk(p, prefix + str(p.pattern))
            elif isinstance(p, URLPattern):
                yield prefix + str(p.pattern)

    values = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000001"}
    for route in walk(get_resolver()):
        route = route.lstrip("^").rstrip("$").replace("\\Z", "")
        route = re.sub(r"<(?:(\w+):)?\w+>", lambda m: values.get(m.group(1) or "str", "x"), route)
        route = re.sub(r"\(\?P<\w+>[^)]*\)", "1", route)
        if "(" in route or "\\" in route or "[" in route:
            continue
        yield "/" + route


OPEN = ("/static/", "/captcha/", "/i18n/", "/verify/")


@pytest.mark.parametrize("who", ["official", "operator", "security_admin"])
def test_every_url_redirects_an_unverified_privileged_user_to_the_second_factor(client, regions, who):
    if who == "official":
        user = make_user("walk_official", UserKind.OFFICIAL, regions["广东省"])
    elif who == "operator":
        user = make_user("walk_root", "", None, is_superuser=True, is_staff=True)
    else:
        user = make_user("walk_security", "", None, is_staff=True, operator_role="security")
    enrolled_device(user)
    password_login(client, user.username)
    # The load balancers' probes answer everyone and reveal nothing (swms/health.py).
    open_paths = {reverse(n) for n in ("accounts:login", "accounts:logout", "accounts:mfa-setup",
                                       "accounts:mfa-verify", "healthz", "readyz")}
    step = reverse("accounts:mfa-verify")
    checked = 0
    for path in sorted(set(_paths())):
        if path in open_paths or path.startswith(OPEN):
            continue
        for method in ("get", "post"):
            response = getattr(client, method)(path)
            assert response.status_code == 302, (method, path, response.status_code)
            assert response["Location"].startswith(step), (method, path, response["Location"])
        checked += 1
    assert checked > 150
    assert not is_verified(client, user)


def test_htmx_requests_of_an_unverified_user_get_a_full_page_redirect(client, alice):
    enrolled_device(alice)
    password_login(client, "alice")
    response = client.get(reverse("notices:inbox"), HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("accounts:mfa-verify"))


def test_no_second_factor_asked_when_the_setting_is_off(client, alice, settings):
    settings.SWMS_MFA_REQUIRED = False
    enrolled_device(alice)
    assert password_login(client, "alice")["Location"] == reverse("reports:workbench")
    assert client.get(reverse("reports:workbench")).status_code == 200


# --- The Django admin uses our login ------------------------------------------------------------------------


def test_admin_login_redirects_to_our_login(client, db, settings):
    admin_index = "/" + settings.SWMS_ADMIN_PATH
    response = client.get(admin_index)
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:login") + "?next=" + admin_index.replace("/", "%2F")
    # Its own form is gone: posting a password there signs nobody in.
    make_user("admin_root", "", None, is_superuser=True, is_staff=True)
    client.post(f"{admin_index}login/", {"username": "admin_root", "password": PASSWORD})
    assert "_auth_user_id" not in client.session


def test_admin_is_reachable_only_after_the_second_factor(client, db, settings):
    admin_index = "/" + settings.SWMS_ADMIN_PATH
    root = make_user("admin_root", "", None, is_superuser=True, is_staff=True)
    response = password_login(client, "admin_root", next_url=admin_index)
    assert response["Location"].startswith(reverse("accounts:mfa-setup"))
    assert client.get(admin_index)["Location"].startswith(reverse("accounts:mfa-setup"))
    device, _codes = enrol(client, root)
    assert client.get(admin_index).status_code == 200
    client.post(reverse("accounts:logout"))
    with freeze_time(timezone.now() + timedelta(seconds=40)):
        response = password_login(client, "admin_root", next_url=admin_index)
        assert response["Location"].startswith(reverse("accounts:mfa-verify"))
        assert client.get(admin_index).status_code == 302
        response = client.post(reverse("accounts:mfa-verify"), {"code": current_code(device), "next": admin_index})
        assert response["Location"] == admin_index
        assert client.get(admin_index).status_code == 200


def test_admin_login_has_the_captcha_and_lockout_of_our_login(client, db, settings):
    make_user("admin_root", "", None, is_superuser=True, is_staff=True)
    for _i in range(settings.AXES_FAILURE_LIMIT):
        password_login(client, "admin_root", password="wrong")
    assert password_login(client, "admin_root").status_code == 429
    response = client.post(reverse("accounts:login"), {"username": "admin_root", "password": PASSWORD,
                                                       "captcha_0": CaptchaStore.generate_key(), "captcha_1": ""})
    assert response.status_code in (200, 429) and "_auth_user_id" not in client.session


# --- Opt-in for workers, organizations, stations ------------------------------------------------------------


def test_worker_is_not_asked_for_a_second_factor_unless_opted_in(client, social_worker):
    assert password_login(client, "sw_zhang")["Location"] == reverse("reports:workbench")
    assert client.get(reverse("accounts:mfa-security")).status_code == 200


def test_worker_opt_in_then_every_login_needs_it(client, social_worker):
    password_login(client, "sw_zhang")
    page = client.get(reverse("accounts:mfa-security"))
    assert reverse("accounts:mfa-setup") in page.content.decode()
    device, _codes = enrol(client, social_worker)
    client.post(reverse("accounts:logout"))
    with freeze_time(timezone.now() + timedelta(seconds=40)):
        response = password_login(client, "sw_zhang")
        assert response["Location"].startswith(reverse("accounts:mfa-verify"))
        assert client.get(reverse("notices:inbox"))["Location"].startswith(reverse("accounts:mfa-verify"))
        assert client.post(reverse("accounts:mfa-verify"), {"code": current_code(device)}).status_code == 302
        assert client.get(reverse("notices:inbox")).status_code == 200


def test_worker_may_turn_the_second_factor_off_but_an_official_may_not(client, social_worker, alice):
    password_login(client, "sw_zhang")
    enrol(client, social_worker)
    assert client.post(reverse("accounts:mfa-disable")).status_code == 302
    assert not TOTPDevice.objects.filter(user=social_worker).exists()
    assert events(SecurityEvent.Kind.MFA_RESET, target=social_worker).count() == 1
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    password_login(other, "alice")
    enrol(other, alice)
    assert other.post(reverse("accounts:mfa-disable")).status_code == 403
    assert TOTPDevice.objects.filter(user=alice, confirmed=True).exists()


# --- Reset by an administrator -----------------------------------------------------------------------------


def test_office_above_resets_an_officials_second_factor(client, city_official, alice):
    enrolled_device(alice)
    alice_client = Client(HTTP_ACCEPT_LANGUAGE="en")
    alice_client.force_login(alice)
    enrolled_device(city_official)
    client.force_login(city_official)
    session = client.session
    session[mfa.SESSION_VERIFIED] = city_official.pk
    session.save()
    detail = client.get(reverse("accounts:official-detail", args=[alice.pk]))
    assert 'data-testid="mfa-reset"' in detail.content.decode()
    response = client.post(reverse("accounts:official-mfa-reset", args=[alice.pk]))
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=alice).exists()
    assert not UserSession.objects.filter(user=alice).exists()
    assert events(SecurityEvent.Kind.MFA_RESET, target=alice, actor=city_official).count() == 1
    # At the next login alice enrols again.
    assert password_login(Client(HTTP_ACCEPT_LANGUAGE="en"), "alice")["Location"].startswith(reverse("accounts:mfa-setup"))


def test_second_factor_reset_refused_for_a_colleague_or_oneself(client, alice, bob):
    enrolled_device(bob)
    with pytest.raises(Exception) as refused:
        mfa.mfa_reset(actor=alice, target=bob)
    assert refused.type.__name__ == "PermissionDenied"
    assert not mfa.can_reset(alice, alice)
    assert TOTPDevice.objects.filter(user=bob).exists()


def test_security_administrator_may_reset_a_second_factor(alice):
    admin = make_user("sec_admin", "", None, is_staff=True, operator_role="security")
    enrolled_device(alice)
    mfa.mfa_reset(actor=admin, target=alice)
    assert not TOTPDevice.objects.filter(user=alice).exists()


# --- SMS-code login for social workers ----------------------------------------------------------------------


def sms_request(client, identifier, ip="127.0.0.1"):
    return client.post(reverse("accounts:sms-login"), {"step": "identify", "identifier": identifier, **captcha()},
                       REMOTE_ADDR=ip)


def sms_code(client, code, ip="127.0.0.1"):
    return client.post(reverse("accounts:sms-login"), {"step": "code", "code": code}, REMOTE_ADDR=ip)


def last_code() -> str:
    return re.search(r"\b(\d{6})\b", sms.outbox[-1].text).group(1)


def _flash(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_login_page_offers_the_sms_path(client, db):
    assert reverse("accounts:sms-login") in client.get(reverse("accounts:login")).content.decode()


@pytest.mark.parametrize("identifier", ["13800138000", "11010519491231002x"])
def test_worker_logs_in_with_an_sms_code(client, social_worker, identifier):
    client.get(reverse("accounts:sms-login"))
    before = client.session.session_key
    response = sms_request(client, identifier)
    assert response.status_code == 200 and 'data-testid="sms-login-code"' in response.content.decode()
    assert [m.to for m in sms.outbox] == ["13800138000"]
    response = sms_code(client, last_code())
    assert response.status_code == 302 and response["Location"] == reverse("reports:workbench")
    assert int(client.session["_auth_user_id"]) == social_worker.pk
    assert client.session.session_key != before  # rotated like the password login (S1)
    assert UserSession.objects.filter(user=social_worker, session_key=client.session.session_key).exists()
    assert events(SecurityEvent.Kind.LOGIN, target=social_worker).count() == 1
    assert client.get(reverse("reports:workbench")).status_code == 200


def test_sms_login_code_is_single_use(client, social_worker):
    sms_request(client, "13800138000")
    code = last_code()
    assert sms_code(client, code).status_code == 302
    client.post(reverse("accounts:logout"))
    with freeze_time(timezone.now() + timedelta(seconds=61)):
        sms_request(client, "13800138000")
        assert sms_code(client, code).status_code == 200 or last_code() == code
        assert "_auth_user_id" not in client.session


def test_sms_login_answers_the_same_for_unknown_numbers(client, social_worker, alice):
    known = sms_request(client, "13800138000")
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    unknown = sms_request(other, "13999999999")
    assert known.status_code == unknown.status_code == 200
    assert _flash(known) == _flash(unknown)
    assert 'data-testid="sms-login-code"' in unknown.content.decode()
    assert len(sms.outbox) == 1
    wrong_known, wrong_unknown = sms_code(client, "000000"), sms_code(other, "000000")
    assert wrong_known.status_code == wrong_unknown.status_code == 200
    error = re.compile(r'<div class="invalid-feedback d-block">(.*?)</div>')
    assert error.findall(wrong_known.content.decode()) == error.findall(wrong_unknown.content.decode())
    # An official's number is no way in either.
    alice.phone = "13711112222"
    alice.save()
    sms_request(Client(HTTP_ACCEPT_LANGUAGE="en"), "13711112222")
    assert len(sms.outbox) == 1


def test_sms_login_sends_and_tries_are_limited_alike_for_known_and_unknown(social_worker, settings):
    settings.SWMS_SMS_CODES_PER_ACCOUNT = 2
    settings.SWMS_SMS_TRIES_PER_ACCOUNT = 3
    start = timezone.now()
    results = {}
    for number in ("13800138000", "13999999999"):
        client = Client(HTTP_ACCEPT_LANGUAGE="en")
        statuses = []
        for i in range(3):
            with freeze_time(start + timedelta(minutes=2 * i)):
                statuses.append(sms_request(client, number).status_code)
        with freeze_time(start + timedelta(seconds=30)):
            statuses.append(sms_request(client, number).status_code)  # within a minute of a code
        tries = [sms_code(client, "000000").status_code for _i in range(4)]
        results[number] = (statuses, tries)
    assert results["13800138000"] == results["13999999999"]
    assert results["13800138000"][0][2] == 429 and results["13800138000"][1][-1] == 429
    assert len(sms.outbox) == 2


def test_sms_login_is_limited_per_address(db, settings):
    settings.SWMS_SMS_CODES_PER_IP = 3
    statuses = [sms_request(Client(HTTP_ACCEPT_LANGUAGE="en"), f"139000000{i:02d}", ip="10.0.0.9").status_code for i in range(4)]
    assert statuses == [200, 200, 200, 429]
    assert sms_request(Client(HTTP_ACCEPT_LANGUAGE="en"), "13900000099", ip="10.0.0.10").status_code == 200


def test_sms_login_keeps_the_forced_password_change(client, social_worker):
    social_worker.must_change_password = True
    social_worker.save()
    sms_request(client, "13800138000")
    sms_code(client, last_code())
    assert client.get(reverse("reports:workbench"))["Location"] == reverse("accounts:password-change")


def test_sms_login_of_an_opted_in_worker_still_needs_the_authenticator(client, social_worker):
    device = enrolled_device(social_worker)
    sms_request(client, "13800138000")
    response = sms_code(client, last_code())
    assert response["Location"].startswith(reverse("accounts:mfa-verify"))
    page = client.get(reverse("accounts:mfa-verify"))
    assert 'data-testid="mfa-send-sms"' not in page.content.decode()  # SMS twice is not two factors
    assert client.post(reverse("accounts:mfa-verify"), {"action": "sms"}).status_code == 200
    assert len(sms.outbox) == 1
    assert client.post(reverse("accounts:mfa-verify"), {"code": current_code(device)}).status_code == 302
    assert client.get(reverse("notices:inbox")).status_code == 200


def test_sms_login_is_only_for_social_workers(client, regions):
    make_user("st_sms", UserKind.STATION, regions["洪桥街道"], phone="13600001111")
    make_user("org_sms", UserKind.ORGANIZATION, phone="13600002222")
    for number in ("13600001111", "13600002222"):
        assert sms_request(Client(HTTP_ACCEPT_LANGUAGE="en"), number).status_code == 200
    assert sms.outbox == []
