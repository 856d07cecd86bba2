"""Re-authentication before sensitive actions (SECURITY.md A6): exports of lists with personal data and password
resets of other accounts ask for the password again when it was given more than SWMS_REAUTH_MINUTES ago."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from freezegun import freeze_time

from accounts import mfa, reauth
from accounts.models import SecurityEvent
from tests.conftest import PASSWORD

pytestmark = pytest.mark.usefixtures("english")

LATER = timedelta(minutes=16)


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def stale(client):
    """Forget the password stamp of the client's session (as if it was given long ago)."""
    session = client.session
    session.pop(reauth.SESSION_AUTH_AT, None)
    session.save()


def reauth_url(next_url: str) -> str:
    from django.utils.http import urlencode

    return f"{reverse('accounts:reauth')}?{urlencode({'next': next_url})}"


def test_default_is_fifteen_minutes(settings):
    assert settings.SWMS_REAUTH_MINUTES == 15


def test_login_sets_the_stamp(client, alice):
    client.force_login(alice)
    assert reauth.SESSION_AUTH_AT in client.session


# --- Exports ------------------------------------------------------------------------------------------------


def test_export_without_fresh_stamp_redirects_to_reauth_then_works(client, city_official, alice):
    export = reverse("accounts:official-list") + "?export=xlsx"
    client.force_login(city_official)
    assert client.get(export).status_code == 200  # fresh from the login
    stale(client)
    response = client.get(export)
    assert response.status_code == 302 and response["Location"] == reauth_url(export)
    assert not response.has_header("Content-Disposition")
    page = client.get(response["Location"])
    assert page.status_code == 200
    response = client.post(response["Location"], {"password": PASSWORD, "next": export})
    assert response.status_code == 302 and response["Location"] == export
    download = client.get(export)
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment")
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.REAUTH, target=city_official).count() == 1


def test_export_asks_again_after_fifteen_minutes(client, city_official, alice):
    export = reverse("accounts:official-list") + "?export=csv"
    with freeze_time(timezone.now()) as frozen:
        client.force_login(city_official)
        frozen.tick(timedelta(minutes=14))
        assert client.get(export).status_code == 200
        frozen.tick(timedelta(minutes=2))
        assert client.get(export)["Location"] == reauth_url(export)
        client.post(reauth_url(export), {"password": PASSWORD})
        assert client.get(export).status_code == 200
        frozen.tick(LATER)
        assert client.get(export)["Location"] == reauth_url(export)


def test_every_list_export_goes_through_the_check(client, alice, settings):
    """The check sits in swms.exports.export_response, which every list export calls."""
    settings.SWMS_REAUTH_MINUTES = 0
    client.force_login(alice)
    with freeze_time(timezone.now() + timedelta(seconds=5)):
        for name in ("accounts:official-list", "registration:registry", "stations:list", "stations:worker-overview",
                     "services:official-client-list"):
            url = reverse(name) + "?export=xlsx"
            response = client.get(url)
            assert response.status_code == 302 and response["Location"] == reauth_url(url), name


def test_htmx_export_gets_hx_redirect(client, alice):
    client.force_login(alice)
    stale(client)
    url = reverse("accounts:official-list") + "?export=xlsx"
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 204 and response["HX-Redirect"] == reauth_url(url)


def test_the_list_page_itself_needs_no_reauth(client, alice):
    client.force_login(alice)
    stale(client)
    assert client.get(reverse("accounts:official-list")).status_code == 200


# --- Password resets of other accounts --------------------------------------------------------------------


def test_password_reset_of_another_account_asks_again_and_is_not_replayed(client, city_official, alice):
    detail = reverse("accounts:official-detail", args=[alice.pk])
    reset = reverse("accounts:official-password-reset", args=[alice.pk])
    client.force_login(city_official)
    stale(client)
    response = client.post(reset, HTTP_REFERER=f"http://testserver{detail}")
    assert response.status_code == 302 and response["Location"] == reauth_url(detail)
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD) and not alice.must_change_password
    response = client.post(reauth_url(detail), {"password": PASSWORD})
    assert response["Location"] == detail  # back to the page, the reset itself not replayed
    page = client.get(detail)
    assert "Please repeat the action" in " ".join(str(m) for m in page.context["messages"])
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)
    response = client.post(reset)
    assert response.status_code == 200 and 'data-testid="shown-password"' in response.content.decode()
    alice.refresh_from_db()
    assert alice.must_change_password


def test_password_reset_after_fifteen_minutes_asks_again(client, city_official, alice):
    reset = reverse("accounts:official-password-reset", args=[alice.pk])
    with freeze_time(timezone.now()) as frozen:
        client.force_login(city_official)
        frozen.tick(LATER)
        response = client.post(reset)
        assert response["Location"].startswith(reverse("accounts:reauth"))
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.parametrize("view", ["worker", "organization", "station"])
def test_subject_and_station_password_resets_ask_again(client, alice, view, regions):
    from stations.models import Station
    from tests.conftest import make_user
    from tests.factories import SocialWorkerFactory

    if view == "worker":
        url = reverse("accounts:worker-password-reset",
                      args=[SocialWorkerFactory(work_region=regions["洪桥街道"]).pk])
    elif view == "organization":
        from tests.test_organizations import make_organization

        url = reverse("accounts:organization-password-reset", args=[make_organization(
            make_user("org_r", "organization", regions["洪桥街道"]), regions["洪桥街道"]).pk])
    else:
        url = reverse("stations:password", args=[Station.objects.create(
            code="440104001000001", name="洪桥街道社工站", tier="station", region=regions["洪桥街道"],
            address="洪桥街1号", contact_person="陈", contact_phone="020-1", created_by=alice).pk])
    client.force_login(alice)
    stale(client)
    response = client.post(url)
    assert response.status_code == 302 and response["Location"].startswith(reverse("accounts:reauth")), view


# --- The re-authentication page ---------------------------------------------------------------------------


def test_wrong_password_is_logged_and_five_end_the_session(client, alice):
    client.force_login(alice)
    stale(client)
    for _i in range(4):
        response = client.post(reverse("accounts:reauth"), {"password": "wrong"})
        assert response.status_code == 200
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.REAUTH_FAILED, target=alice,
                                        success=False).count() == 4
    response = client.post(reverse("accounts:reauth"), {"password": "wrong"})
    assert response["Location"] == reverse("accounts:login")
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example/x", "http://testserver.evil/"])
def test_next_must_be_a_local_path(client, alice, evil):
    client.force_login(alice)
    stale(client)
    response = client.post(reverse("accounts:reauth") + "?next=" + evil, {"password": PASSWORD, "next": evil})
    assert response.status_code == 302 and response["Location"] == reverse("reports:workbench")


def test_with_an_authenticator_reauth_needs_the_code_too(client, alice, settings):
    settings.SWMS_MFA_REQUIRED = True
    device = TOTPDevice.objects.create(user=alice, name=mfa.TOTP_NAME, confirmed=True)
    client.force_login(alice)
    session = client.session
    session[mfa.SESSION_VERIFIED] = alice.pk
    session.pop(reauth.SESSION_AUTH_AT)
    session.save()
    assert client.post(reverse("accounts:reauth"), {"password": PASSWORD}).status_code == 200
    assert reauth.SESSION_AUTH_AT not in client.session
    code = f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits):06d}"
    response = client.post(reverse("accounts:reauth"), {"password": PASSWORD, "code": code})
    assert response.status_code == 302 and reauth.SESSION_AUTH_AT in client.session


def test_decorator_and_helper_names_for_other_views():
    from accounts.reauth import has_recent_auth, recent_auth_required

    assert callable(has_recent_auth) and callable(recent_auth_required)
