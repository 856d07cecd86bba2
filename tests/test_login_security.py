"""The login form: identifiers, captcha, uniform errors, lockout (A4), session rotation (S1), the
security event log for logins (L1, L4) and the A1 scan for default accounts."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from captcha.models import CaptchaStore
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from accounts.forms import LOGIN_FAILED_MESSAGE
from accounts.models import SecurityEvent, UserKind, UserSession
from swms.crypto import keyed_hash
from swms.ids import normalize_ric
from tests.conftest import PASSWORD, make_user

ROOT = Path(__file__).resolve().parent.parent


def post_login(
    client, identifier, password=PASSWORD, captcha="PASSED", ip="127.0.0.1", next_url=None, **extra
):
    """Submit the real login form. In CAPTCHA_TEST_MODE the answer "PASSED" is accepted for any key;
    we still use a real stored challenge so the request looks like a browser's."""
    data = {
        "username": identifier,
        "password": password,
        "captcha_0": CaptchaStore.generate_key(),
        "captcha_1": captcha,
    }
    if next_url is not None:
        data["next"] = next_url
    return client.post(reverse("accounts:login"), data, REMOTE_ADDR=ip, **extra)


def is_logged_in(client, user=None) -> bool:
    user_id = client.session.get("_auth_user_id")
    if user is None:
        return user_id is not None
    return user_id is not None and int(user_id) == user.pk


def _error_block(response) -> str:
    match = re.search(
        r'<div class="alert alert-danger" role="alert">.*?</div>', response.content.decode(), re.S
    )
    assert match, "no form error shown"
    return match.group(0)


# --- Identifiers ------------------------------------------------------------------------------


def test_login_page_shows_captcha(client, db):
    response = client.get(reverse("accounts:login"))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="captcha_0"' in html and 'name="captcha_1"' in html
    assert "no-store" in response["Cache-Control"]


def test_login_by_username(client, alice):
    response = post_login(client, "alice")
    assert response.status_code == 302
    assert response["Location"] == reverse("reports:workbench")
    assert is_logged_in(client, alice)
    assert client.get(response["Location"]).status_code == 200


def test_signed_in_user_comes_with_its_region_in_one_query(client, alice):
    assert post_login(client, "alice").status_code == 302
    user = client.get(reverse("reports:workbench")).wsgi_request.user
    assert user.pk == alice.pk and "region" in user._state.fields_cache and user.region.name == alice.region.name


@pytest.mark.parametrize("identifier", ["13800138000", " 13800138000 ", "１３８００１３８０００"])
def test_login_by_phone(client, social_worker, identifier):
    post_login(client, identifier)
    assert is_logged_in(client, social_worker)


@pytest.mark.parametrize(
    "identifier",
    [
        "11010519491231002X",
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２ｘ",
        "１１０１０５１９４９１２３１００２Ｘ",
        " 11010519491231002x ",
    ],
)
def test_login_by_id_number(client, social_worker, identifier):
    post_login(client, identifier)
    assert is_logged_in(client, social_worker)


def test_login_redirects_to_safe_next_only(client, alice):
    response = post_login(client, "alice", next_url=reverse("accounts:official-list"))
    assert response["Location"] == reverse("accounts:official-list")
    other = Client()
    response = post_login(other, "alice", next_url="https://evil.example.com/")
    assert response["Location"] == reverse("reports:workbench")


def test_inactive_account_cannot_log_in(client, alice):
    alice.is_active = False
    alice.save()
    response = post_login(client, "alice")
    assert response.status_code == 200
    assert not is_logged_in(client)


# --- Captcha ----------------------------------------------------------------------------------


@pytest.mark.parametrize("captcha", ["", "WRONG"])
def test_login_requires_captcha(client, alice, captcha):
    response = post_login(client, "alice", captcha=captcha)
    assert response.status_code == 200
    assert not is_logged_in(client)
    assert response.context["form"].errors["captcha"]
    # The password was never tried: nothing counts towards a lockout and nothing is logged as a login.
    assert not AccessAttempt.objects.exists()
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN).exists()


# --- Uniform error (A4) -----------------------------------------------------------------------


def test_login_error_is_identical_for_unknown_user_wrong_password_and_disabled_account(client, alice, bob):
    bob.is_active = False
    bob.save()
    unknown = post_login(client, "nobody-here")
    wrong = post_login(client, "alice", password="Wrong#Pass99")
    disabled = post_login(client, "bob")
    assert unknown.status_code == wrong.status_code == disabled.status_code == 200
    assert _error_block(unknown) == _error_block(wrong) == _error_block(disabled)
    assert str(LOGIN_FAILED_MESSAGE) in _error_block(unknown)
    for response in (unknown, wrong, disabled):
        assert response.context["form"].non_field_errors().as_data()[0].code == "invalid_login"
        assert not response.context["form"].errors.get("username")
        assert not response.context["form"].errors.get("password")
    assert not is_logged_in(client)


# --- Lockout (A4) -----------------------------------------------------------------------------


def _fail(client, identifier, times, ip="127.0.0.1"):
    return [post_login(client, identifier, password="Wrong#Pass99", ip=ip) for _ in range(times)]


def test_lockout_settings(settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_HTTP_RESPONSE_CODE == 429
    assert settings.AXES_COOLOFF_TIME >= timedelta(minutes=10)


def test_four_failures_do_not_lock(client, alice):
    assert [r.status_code for r in _fail(client, "alice", 4)] == [200] * 4
    post_login(client, "alice")
    assert is_logged_in(client, alice)


def test_lockout_after_five_failures_even_with_right_password(client, alice):
    _fail(client, "alice", settings.AXES_FAILURE_LIMIT)
    response = post_login(client, "alice")
    assert response.status_code == 429
    assert not is_logged_in(client)
    assert "Too many failed attempts" in response.content.decode() or "失败" in response.content.decode()
    events = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOCKOUT)
    assert events.exists()
    assert all(e.username == "alice" and e.success is False and e.ip_address == "127.0.0.1" for e in events)


def test_lockout_covers_every_spelling_of_the_same_account(client, social_worker):
    """Phone, ID number, lowercase x and full-width digits all count against one account."""
    for identifier in (
        "sw_zhang",
        "13800138000",
        "11010519491231002x",
        "１１０１０５１９４９１２３１００２X",
        " sw_zhang",
    ):
        post_login(client, identifier, password="Wrong#Pass99")
    assert post_login(client, "11010519491231002X").status_code == 429
    assert post_login(client, "13800138000").status_code == 429
    assert not is_logged_in(client)


def test_lockout_is_per_ip(client, alice):
    _fail(client, "alice", settings.AXES_FAILURE_LIMIT, ip="127.0.0.1")
    assert post_login(client, "alice", ip="127.0.0.1").status_code == 429
    elsewhere = Client()
    response = post_login(elsewhere, "alice", ip="10.20.30.40")
    assert response.status_code == 302
    assert is_logged_in(elsewhere, alice)


def test_lockout_is_per_username(client, alice, bob):
    _fail(client, "alice", settings.AXES_FAILURE_LIMIT)
    other = Client()
    post_login(other, "bob")
    assert is_logged_in(other, bob)


def test_forwarded_for_header_does_not_escape_lockout(client, alice):
    for i in range(settings.AXES_FAILURE_LIMIT):
        client.post(
            reverse("accounts:login"),
            {"username": "alice", "password": "x", "captcha_0": "k", "captcha_1": "PASSED"},
            HTTP_X_FORWARDED_FOR=f"203.0.113.{i}",
        )
    response = client.post(
        reverse("accounts:login"),
        {"username": "alice", "password": PASSWORD, "captcha_0": "k", "captcha_1": "PASSED"},
        HTTP_X_FORWARDED_FOR="203.0.113.99",
    )
    assert response.status_code == 429


def test_lockout_cools_off(client, alice):
    with freeze_time("2026-03-02 09:00:00") as frozen:
        _fail(client, "alice", settings.AXES_FAILURE_LIMIT)
        frozen.tick(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
        response = post_login(client, "alice")
        assert response.status_code == 302
        assert is_logged_in(client, alice)


def test_attempts_during_lockout_restart_the_cool_off(client, alice):
    """django-axes default (AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT): every attempt while
    locked, even with the right password, restarts the cool-off for that username+IP."""
    with freeze_time("2026-03-02 09:00:00") as frozen:
        _fail(client, "alice", settings.AXES_FAILURE_LIMIT)
        frozen.tick(settings.AXES_COOLOFF_TIME - timedelta(minutes=1))
        assert post_login(client, "alice").status_code == 429
        frozen.tick(timedelta(minutes=2))
        assert post_login(client, "alice").status_code == 429
        frozen.tick(settings.AXES_COOLOFF_TIME + timedelta(seconds=1))
        assert post_login(client, "alice").status_code == 302
        assert is_logged_in(client, alice)


def test_successful_login_resets_failure_count(client, alice):
    _fail(client, "alice", settings.AXES_FAILURE_LIMIT - 1)
    post_login(client, "alice")
    assert is_logged_in(client, alice)
    client.post(reverse("accounts:logout"))
    _fail(client, "alice", settings.AXES_FAILURE_LIMIT - 1)
    post_login(client, "alice")
    assert is_logged_in(client, alice)


# --- Session rotation (S1) --------------------------------------------------------------------


def test_session_key_rotates_at_login(client, alice):
    session = client.session
    session["pre_login"] = "x"
    session.save()
    before = session.session_key
    assert Session.objects.filter(session_key=before).exists()
    post_login(client, "alice")
    after = client.session.session_key
    assert is_logged_in(client, alice)
    assert after and after != before
    assert not Session.objects.filter(session_key=before).exists()
    assert UserSession.objects.filter(user=alice, session_key=after).exists()


def test_login_when_already_logged_in_as_other_user_flushes(client, alice, bob):
    post_login(client, "alice")
    first = client.session.session_key
    client.post(reverse("accounts:logout"))
    post_login(client, "bob")
    assert is_logged_in(client, bob)
    assert client.session.session_key != first


# --- Security events for login/logout (L1, L4) -----------------------------------------------


def test_login_success_writes_one_event(client, alice):
    post_login(client, "alice", ip="192.0.2.7")
    event = SecurityEvent.objects.get()
    assert event.kind == SecurityEvent.Kind.LOGIN
    assert event.target == alice and event.actor == alice
    assert event.username == "alice"
    assert event.success is True
    assert event.ip_address == "192.0.2.7"
    assert event.created_at is not None


def test_login_by_phone_logs_the_account_not_the_phone(client, social_worker):
    post_login(client, "13800138000")
    event = SecurityEvent.objects.get()
    assert event.username == "sw_zhang"


def test_login_failure_unknown_user_writes_one_event(client, db):
    post_login(client, "ghost", password="Wrong#Pass99", ip="192.0.2.8")
    event = SecurityEvent.objects.get()
    assert event.kind == SecurityEvent.Kind.LOGIN_FAILED
    assert event.username == "ghost"
    assert event.success is False
    assert event.target is None and event.actor is None
    assert event.ip_address == "192.0.2.8"


def test_login_failure_wrong_password_writes_one_event(client, alice):
    post_login(client, "alice", password="Wrong#Pass99")
    event = SecurityEvent.objects.get()
    assert (event.kind, event.username, event.success) == (SecurityEvent.Kind.LOGIN_FAILED, "alice", False)
    assert event.ip_address == "127.0.0.1"


@pytest.mark.parametrize(
    ("typed", "logged", "attempt_prefix"),
    [
        ("11010519491231002x", "sw_zhang", "sw_zhang"),  # known: the account, not the ID number
        ("13800138000", "sw_zhang", "sw_zhang"),
        ("44010419900101123X", "440104********123X", "440104********123X#"),  # unknown: masked
        ("４４０１０４１９９００１０１１２３ｘ", "440104********123X", "440104********123X#"),
        ("13912345678", "139****5678", "139****5678#"),
    ],
)
def test_failed_login_logs_no_id_or_phone_number(client, social_worker, typed, logged, attempt_prefix):
    post_login(client, typed, password="Wrong#Pass99")
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGIN_FAILED)
    assert event.username == logged
    attempt = AccessAttempt.objects.get()
    assert attempt.username.startswith(attempt_prefix)
    digits = normalize_ric(typed)
    for text in (event.username, event.detail, attempt.username, attempt.post_data, attempt.get_data):
        assert digits not in text.upper()


def test_unknown_number_attempts_are_correlated_by_keyed_hash_not_stored(client, db):
    """Two failures on the same unknown ID number, typed two ways, share one keyed hash (so an analyst
    can see the series) and one axes counter; another number with the same masked form does not."""
    post_login(client, "44010419900101123x", password="Wrong#Pass99")
    post_login(client, "４４０１０４１９９００１０１１２３Ｘ", password="Wrong#Pass99")
    post_login(client, "44010419800101123X", password="Wrong#Pass99")  # same masked form, other number
    first, second, other = SecurityEvent.objects.filter(kind=SecurityEvent.Kind.LOGIN_FAILED).order_by("pk")
    assert first.subject_hash == second.subject_hash == keyed_hash("44010419900101123X")
    assert other.subject_hash != first.subject_hash
    assert first.username == other.username == "440104********123X"
    assert sorted(AccessAttempt.objects.values_list("failures_since_start", flat=True)) == [1, 2]


def test_worker_whose_username_is_an_id_number_is_logged_masked_everywhere(client, db):
    """Accounts made before usernames stopped being ID numbers: login, failure and lockout leave the
    number in neither the security log nor axes' tables (the finding of #16)."""
    number = "11010519491231002X"
    make_user(number, UserKind.SOCIAL_WORKER, id_number=number, phone="13800138000")
    for _ in range(2):
        post_login(client, number.lower(), password="Wrong#Pass99")
    post_login(client, number, password=PASSWORD)
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT + 1):
        post_login(client, number, password="Wrong#Pass99")
    kinds = set(SecurityEvent.objects.values_list("kind", flat=True))
    assert {SecurityEvent.Kind.LOGIN, SecurityEvent.Kind.LOGIN_FAILED, SecurityEvent.Kind.LOCKOUT} <= kinds
    texts = [f"{e.username} {e.detail}" for e in SecurityEvent.objects.all()]
    texts += [f"{a.username} {a.post_data} {a.get_data}" for a in AccessAttempt.objects.all()]
    texts += [f"{a.username}" for a in AccessFailureLog.objects.all()]
    texts += [f"{a.username}" for a in AccessLog.objects.all()]
    assert texts and not any(number in t.upper() for t in texts)
    hashes = set(SecurityEvent.objects.values_list("subject_hash", flat=True))
    assert hashes == {keyed_hash(number)}
    assert set(SecurityEvent.objects.values_list("username", flat=True)) == {"110105********002X"}


def test_login_failure_event_never_holds_the_password(client, alice):
    post_login(client, "alice", password="Secret#Typed42")
    for event in SecurityEvent.objects.all():
        assert "Secret#Typed42" not in f"{event.username} {event.detail}"
    for attempt in AccessAttempt.objects.all():
        assert "Secret#Typed42" not in attempt.post_data


@pytest.mark.parametrize(
    "typed", ["ghost\r\n2026-01-01 login alice OK", "gh\x07ost\x1b[31m\u2028x", "a\nb\tc"]
)
def test_control_characters_are_stripped_from_logged_username(client, db, typed):
    post_login(client, typed, password="Wrong#Pass99")
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGIN_FAILED)
    assert event.username
    assert not re.search(r"[\x00-\x1f\x7f\u2028\u2029]", event.username)


def test_nul_in_username_is_rejected_before_authentication(client, db):
    response = post_login(client, "gh\x00ost", password="Wrong#Pass99")
    assert response.context["form"].errors["username"]
    assert not SecurityEvent.objects.exists()


def test_crlf_username_logged_without_line_break(client, db):
    post_login(client, "ghost\r\nFAKE ENTRY", password="Wrong#Pass99")
    assert SecurityEvent.objects.get(kind=SecurityEvent.Kind.LOGIN_FAILED).username == "ghostFAKE ENTRY"


# --- A1: no default, shared or test accounts ---------------------------------------------------

FORBIDDEN = ("admin", "administrator", "root", "test", "guest", "demo")
_NAMES = "|".join(FORBIDDEN)
# create_user("admin", ...), create_superuser(username="root"), User(username="test"), {"username": "admin"}
_CREATES = re.compile(
    rf"""create_(?:super)?user\(\s*(?:username\s*=\s*)?['"](?:{_NAMES})['"]"""
    rf"""|username['"]?\s*[:=]\s*['"](?:{_NAMES})['"]""",
    re.I,
)


def test_scan_pattern_catches_default_accounts():
    assert _CREATES.search('User.objects.create_superuser("admin", "a@b.c", "pw")')
    assert _CREATES.search("User.objects.create_user(username='Root', password='x')")
    assert _CREATES.search('{"model": "accounts.user", "fields": {"username": "test"}}')
    assert not _CREATES.search('create_user(username="alice")')


def test_no_migration_or_fixture_creates_default_accounts():
    files = [
        *ROOT.glob("*/migrations/*.py"),
        *ROOT.glob("*/fixtures/**/*"),
        *ROOT.glob("*/management/commands/*.py"),
    ]
    offenders = [
        str(path.relative_to(ROOT))
        for path in files
        if path.is_file()
        and path.suffix in {".py", ".json", ".yaml", ".yml", ".xml"}
        and _CREATES.search(path.read_text(encoding="utf-8", errors="replace"))
    ]
    assert offenders == []


def test_no_default_accounts_after_migrate(db):
    User = get_user_model()
    assert not User.objects.filter(username__iregex=rf"^({_NAMES})$").exists()
    # Migrations create no accounts at all: the first one is made by an operator (createsuperuser).
    assert not User.objects.exists()


def test_client_ip_trusts_exactly_the_configured_proxies(rf, settings):
    from swms.http import client_ip

    request = rf.get("/", HTTP_X_FORWARDED_FOR="6.6.6.6, 10.0.0.9, 203.0.113.7", REMOTE_ADDR="127.0.0.1")
    settings.SWMS_TRUSTED_PROXY_COUNT = 0
    assert client_ip(request) == "127.0.0.1"
    settings.SWMS_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) == "203.0.113.7"
    settings.SWMS_TRUSTED_PROXY_COUNT = 2
    assert client_ip(request) == "10.0.0.9"
    request = rf.get("/", HTTP_X_FORWARDED_FOR="not-an-ip", REMOTE_ADDR="127.0.0.1")
    settings.SWMS_TRUSTED_PROXY_COUNT = 1
    assert client_ip(request) is None


def test_wrong_captcha_says_yanzhengma_never_renzhengma(client, social_worker):
    response = post_login(client, "sw_zhang", captcha="WRONG")
    page = response.content.decode()
    assert not is_logged_in(client)
    assert "验证码错误" in page
    assert "认证码" not in page
