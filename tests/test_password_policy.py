"""Password rules (A2), forced change (A3), expiry (A3) and self-service reset by email."""

import re
from datetime import timedelta

import pytest
from captcha.models import CaptchaStore
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import SecurityEvent, User, UserKind
from tests.conftest import PASSWORD, make_user

from .test_login_security import is_logged_in, post_login

NEW_PASSWORD = "Qz7#wLm2pRv"


def _codes(password, user):
    try:
        validate_password(password, user)
    except ValidationError as e:
        return {err.code for err in e.error_list}
    return set()


@pytest.fixture
def person(db):
    """An unsaved user with every personal attribute the validators look at."""
    return User(
        username="wangfang",
        kind=UserKind.SOCIAL_WORKER,
        full_name="Wang Fangfang",
        email="wf@example.com",
        phone="13912345678",
        id_number="11010519491231002X",
    )


@pytest.mark.parametrize(
    ("password", "code"),
    [
        pytest.param("Ab1#xyz", "password_too_short", id="too-short"),
        pytest.param("abcdefgh12345", "password_too_simple", id="two-classes-lower-digit"),
        pytest.param("ABCDEFGH#$%&", "password_too_simple", id="two-classes-upper-symbol"),
        # Django's common list compares lowercase: these meet length and 3-of-4 classes and are common.
        pytest.param("Password1", "password_too_common", id="common-password1"),
        pytest.param("P@ssw0rd", "password_too_common", id="common-p@ssw0rd"),
        pytest.param("Woaini1314", "password_too_common", id="common-woaini1314"),
        pytest.param("1Qaz@wsx", "password_too_common", id="common-1qaz@wsx"),
        pytest.param("Xy#wangfang9", "password_personal_data", id="contains-username"),
        pytest.param("Qq#13912345678", "password_personal_data", id="contains-phone"),
        pytest.param("Kz#519491zz", "password_personal_data", id="six-digits-of-id-number"),
        pytest.param("Mm#1231002xq", "password_personal_data", id="id-number-tail-with-x"),
        pytest.param("wangFangfang1", "password_too_similar", id="similar-to-full-name"),
    ],
)
def test_validate_password_rejects(person, password, code):
    assert code in _codes(password, person)


def test_validate_password_rejects_chinese_full_name(db):
    user = User(username="lisi", full_name="李思思", kind=UserKind.SOCIAL_WORKER)
    assert "password_personal_data" in _codes("李思思Ab#2026x", user)


@pytest.mark.parametrize("password", ["Qz7#wLm2pRv", "hq-Tq9!vw2xL", "Blue7Tiger%Lake"])
def test_validate_password_accepts_good_passwords(person, password):
    validate_password(password, person)


def test_validate_password_five_digits_of_id_number_is_fine(person):
    # only 5 consecutive characters of the ID number (19491): allowed
    validate_password("Kz#19491Tq!", person)


# --- Weak bases dressed up with digits and symbols (issue #16) ---------------------------------


@pytest.mark.parametrize("password", [
    "Admin@123", "Password1!", "Qwer1234!", "Swms@2024", "Zhangsan@123", "P@ssw0rd1", "@dmin123", "Adm1n@2024",
    "Root#2024", "Welcome@2024", "China@1949", "Test@1234", "Abc@12345", "Zxcvbnm1!", "Asdf#2023", "1Qaz@wsx",
    "AdminAdmin1!", "QwerAsdf1!", "Iloveyou520!", "Aaaa@1234", "Wang@2024", "Swms#Test2026", "Administrator1!",
])
def test_weak_base_with_digits_and_symbols_is_refused(person, password):
    assert "password_weak_base" in _codes(password, person)


@pytest.mark.parametrize("username", ["alice", "zhouxin", "guangzhou_yx"])
def test_the_username_with_digits_and_symbols_is_refused(username):
    user = User(username=username, kind=UserKind.OFFICIAL, full_name="张三")
    codes = _codes(f"{username.capitalize()}@123", user) | _codes(f"{username.upper()}#2024x", user)
    assert codes & {"password_weak_base", "password_personal_data", "password_too_similar"}


def test_the_name_in_latin_letters_with_digits_is_refused():
    user = User(username="13800001111", kind=UserKind.SOCIAL_WORKER, full_name="Li Mingyang")
    assert "password_weak_base" in _codes("Mingyang@2024", user)
    assert "password_weak_base" in _codes("LiMingyang#88", user)


@pytest.mark.parametrize("password", ["Qz7#wLm2pRv", "hq-Tq9!vw2xL", "Blue7Tiger%Lake", "Chen#Social2026",
                                      "Hongqiao#Own2026", "Secret#Typed42"])
def test_passwords_that_are_not_a_weak_base_still_pass(person, password):
    validate_password(password, person)


def test_generated_initial_passwords_always_pass_the_rules(person):
    from accounts.services import generate_initial_password

    for _i in range(1000):
        validate_password(generate_initial_password(), person)


# --- Forced change at first login / after an administrator's reset (A3) ----------------------


@pytest.fixture
def forced_alice(alice):
    alice.must_change_password = True
    alice.save(update_fields=["must_change_password"])
    return alice


@pytest.mark.parametrize(
    "url",
    [
        reverse("reports:workbench"),
        reverse("accounts:official-list"),
        reverse("accounts:official-create"),
        "/ops-admin/",
    ],
)
def test_must_change_password_redirects_every_page(client, forced_alice, url):
    client.force_login(forced_alice)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password-change")


def test_must_change_password_redirects_posts_too(client, forced_alice, regions):
    client.force_login(forced_alice)
    response = client.post(
        reverse("accounts:official-create"),
        {"username": "newbie", "full_name": "N", "region": regions["洪桥街道"].pk},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password-change")
    assert not User.objects.filter(username="newbie").exists()


def test_must_change_password_page_itself_and_logout_are_reachable(client, forced_alice):
    client.force_login(forced_alice)
    page = client.get(reverse("accounts:password-change"))
    assert page.status_code == 200
    assert page.context["forced"] is True
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert not is_logged_in(client)


def test_forced_change_clears_flag_and_old_password_stops_working(client, forced_alice):
    client.force_login(forced_alice)
    response = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:workbench")
    forced_alice.refresh_from_db()
    assert forced_alice.must_change_password is False
    assert client.get(reverse("reports:workbench")).status_code == 200
    assert client.get(reverse("accounts:official-list")).status_code == 200

    from django.test import Client

    other = Client()
    post_login(other, "alice", PASSWORD)
    assert not is_logged_in(other)
    post_login(other, "alice", NEW_PASSWORD)
    assert is_logged_in(other, forced_alice)


def test_password_change_rejects_weak_or_same_password(client, forced_alice):
    client.force_login(forced_alice)
    url = reverse("accounts:password-change")
    weak = client.post(
        url, {"old_password": PASSWORD, "new_password1": "alice123", "new_password2": "alice123"}
    )
    assert weak.status_code == 200
    assert weak.context["form"].errors["new_password1"]
    same = client.post(url, {"old_password": PASSWORD, "new_password1": PASSWORD, "new_password2": PASSWORD})
    assert same.status_code == 200
    assert same.context["form"].errors["new_password1"]
    wrong_old = client.post(
        url, {"old_password": "Wrong#Pass99", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )
    assert wrong_old.context["form"].errors["old_password"]
    forced_alice.refresh_from_db()
    assert forced_alice.must_change_password is True
    assert forced_alice.check_password(PASSWORD)


def test_administrator_reset_forces_change_at_next_login(client, city_official, alice):
    from accounts.services import user_password_reset

    password = user_password_reset(actor=city_official, target=alice)
    post_login(client, "alice", password)
    assert is_logged_in(client, alice)
    response = client.get(reverse("reports:workbench"))
    assert response["Location"] == reverse("accounts:password-change")


# --- Expiry (A3, default 90 days) -------------------------------------------------------------


def test_password_expiry_default_is_90_days(settings):
    assert settings.PASSWORD_EXPIRY_DAYS == 90


@pytest.mark.parametrize(
    ("age", "expired"),
    [
        (timedelta(days=89), False),
        (timedelta(days=90) - timedelta(minutes=1), False),
        (timedelta(days=90) + timedelta(minutes=1), True),
        (timedelta(days=91), True),
        (timedelta(days=400), True),
    ],
)
def test_password_expiry(client, alice, age, expired):
    with freeze_time(alice.password_changed_at + age):
        client.force_login(alice)
        for url in (reverse("reports:workbench"), reverse("accounts:official-list")):
            response = client.get(url)
            if expired:
                assert response.status_code == 302, url
                assert response["Location"] == reverse("accounts:password-change")
            else:
                assert response.status_code == 200, url


def test_password_expiry_page_says_expired_and_change_resets_clock(client, alice):
    with freeze_time(alice.password_changed_at + timedelta(days=91)) as frozen:
        client.force_login(alice)
        page = client.get(reverse("accounts:password-change"))
        assert page.status_code == 200
        assert page.context["forced"] is False
        assert 'class="alert alert-warning"' in page.content.decode()
        client.post(
            reverse("accounts:password-change"),
            {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
        )
        assert client.get(reverse("reports:workbench")).status_code == 200
        frozen.tick(timedelta(days=89))
        alice.refresh_from_db()
        client.force_login(alice)
        assert client.get(reverse("reports:workbench")).status_code == 200


def test_password_expiry_zero_disables_it(client, alice, settings):
    settings.PASSWORD_EXPIRY_DAYS = 0
    with freeze_time(alice.password_changed_at + timedelta(days=1000)):
        client.force_login(alice)
        assert client.get(reverse("reports:workbench")).status_code == 200


def test_password_expiry_is_configurable(client, alice, settings):
    settings.PASSWORD_EXPIRY_DAYS = 30
    with freeze_time(alice.password_changed_at + timedelta(days=31)):
        client.force_login(alice)
        assert client.get(reverse("reports:workbench"))["Location"] == reverse("accounts:password-change")


# --- Self-service reset by email: social workers only -----------------------------------------


@pytest.fixture
def worker_with_email(social_worker):
    social_worker.email = "zhang@example.com"
    social_worker.must_change_password = True
    social_worker.save()
    return social_worker


def _request_reset(client, email):
    return client.post(
        reverse("accounts:password-reset"),
        {"email": email, "captcha_0": CaptchaStore.generate_key(), "captcha_1": "PASSED"},
    )


def test_password_reset_mail_only_for_social_workers(client, alice, worker_with_email, mailoutbox):
    alice.email = "alice@example.com"
    alice.save()
    station = make_user("st_x", UserKind.STATION, alice.region, email="st@example.com")
    for email in ("alice@example.com", "st@example.com", "nobody@example.com"):
        response = _request_reset(client, email)
        # Same answer whatever the address: no account enumeration.
        assert response.status_code == 302
        assert response["Location"] == reverse("accounts:password-reset-done")
    assert mailoutbox == []
    assert station.pk
    _request_reset(client, "ZHANG@example.com")
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["zhang@example.com"]


def _reset_link(mail):
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/[^\s]+/)", mail.body)
    assert match, mail.body
    return match.group(1)


def test_password_reset_link_sets_password_and_clears_forced_change(client, worker_with_email, mailoutbox):
    _request_reset(client, "zhang@example.com")
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.PASSWORD_RESET_REQUEST).count() == 1
    link = _reset_link(mailoutbox[0])

    response = client.get(link)
    assert response.status_code == 302  # to the token-free set-password URL
    set_url = response["Location"]
    assert "set-password" in set_url
    assert client.get(set_url).context["validlink"] is True
    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:password-reset-complete")

    worker_with_email.refresh_from_db()
    assert worker_with_email.check_password(NEW_PASSWORD)
    assert worker_with_email.must_change_password is False
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.PASSWORD_RESET)
    assert event.target == worker_with_email
    assert event.ip_address == "127.0.0.1"

    # The link is single-use.
    again = client.get(link, follow=True)
    assert again.context["validlink"] is False

    from django.test import Client

    fresh = Client()
    post_login(fresh, "sw_zhang", NEW_PASSWORD)
    assert is_logged_in(fresh, worker_with_email)
    assert fresh.get(reverse("reports:workbench")).status_code == 200


def test_password_reset_link_enforces_policy(client, worker_with_email, mailoutbox):
    _request_reset(client, "zhang@example.com")
    set_url = client.get(_reset_link(mailoutbox[0]))["Location"]
    response = client.post(set_url, {"new_password1": "sw_zhang2026", "new_password2": "sw_zhang2026"})
    assert response.status_code == 200
    assert response.context["form"].errors
    worker_with_email.refresh_from_db()
    assert worker_with_email.check_password(PASSWORD)
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.PASSWORD_RESET).exists()


def test_password_reset_ends_existing_sessions(client, worker_with_email, mailoutbox):
    from django.test import Client

    victim_session = Client()
    victim_session.force_login(worker_with_email)
    _request_reset(client, "zhang@example.com")
    set_url = client.get(_reset_link(mailoutbox[0]))["Location"]
    client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    response = victim_session.get(reverse("reports:workbench"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))


def test_password_reset_request_needs_the_captcha(client, social_worker, mailoutbox):
    social_worker.email = "worker@example.com"
    social_worker.save()
    response = client.post(reverse("accounts:password-reset"), {"email": "worker@example.com"})
    assert response.status_code == 200
    assert "captcha" in response.context["form"].errors
    assert mailoutbox == []
