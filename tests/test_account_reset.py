"""Password recovery: organizations by email like social workers; officials reset the passwords of the
social workers and organizations of their subtree (one-time password, security event, sessions ended)."""

import re

import pytest
from captcha.models import CaptchaStore
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from accounts import services
from accounts.models import SecurityEvent, UserKind
from registration.models import Organization
from tests.conftest import PASSWORD, make_user
from tests.factories import SocialWorkerFactory
from tests.test_organizations import make_organization, signup_data

pytestmark = pytest.mark.usefixtures("english")  # messages asserted in their English source

NEW_PASSWORD = "Hq#Reset2026x"


@pytest.fixture
def organization(regions):
    account = make_user("org_reset", UserKind.ORGANIZATION, regions["洪桥街道"], phone="13700000021",
                        email="office@chenxi.org")
    return make_organization(account, regions["洪桥街道"], name="越秀区晨曦社会工作服务中心")


@pytest.fixture
def worker(regions):
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"])
    worker.user.set_password(PASSWORD)
    worker.user.save()
    return worker


def _request_reset(client, email):
    return client.post(reverse("accounts:password-reset"),
                       {"email": email, "captcha_0": CaptchaStore.generate_key(), "captcha_1": "PASSED"})


def _reset_link(mail):
    match = re.search(r"https?://[^/\s]+(/accounts/password/reset/[^\s]+/)", mail.body)
    assert match, mail.body
    return match.group(1)


def _can_log_in(username, password) -> bool:
    fresh = Client()
    response = fresh.post(reverse("accounts:login"), {
        "username": username, "password": password, "captcha_0": CaptchaStore.generate_key(), "captcha_1": "PASSED"})
    return response.status_code == 302


# --- Organizations recover their password by email ---------------------------------------------------


def test_signup_keeps_the_email_on_the_account(client, regions):
    response = client.post(reverse("registration:organization-signup"), signup_data(regions))
    assert response.status_code == 302
    assert Organization.objects.get().account.email == "qiming@example.org"


def test_signup_requires_an_email(client, regions):
    response = client.post(reverse("registration:organization-signup"), signup_data(regions, email=""))
    assert response.status_code == 200 and "email" in response.context["form"].errors
    assert not Organization.objects.exists()


def test_organization_resets_its_password_through_the_email_link(client, organization, mailoutbox):
    assert _request_reset(client, "OFFICE@chenxi.org")["Location"] == reverse("accounts:password-reset-done")
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["office@chenxi.org"]
    set_url = client.get(_reset_link(mailoutbox[0]))["Location"]
    response = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response["Location"] == reverse("accounts:password-reset-complete")
    account = organization.account
    account.refresh_from_db()
    assert account.check_password(NEW_PASSWORD) and not account.must_change_password
    assert SecurityEvent.objects.filter(kind=SecurityEvent.Kind.PASSWORD_RESET, target=account,
                                        detail="by email link").exists()
    assert _can_log_in("org_reset", NEW_PASSWORD)


def test_stations_and_officials_still_get_no_reset_mail(client, regions, alice, mailoutbox):
    alice.email = "alice@example.com"
    alice.save()
    make_user("st_reset", UserKind.STATION, regions["洪桥街道"], email="station@example.com")
    for email in ("alice@example.com", "station@example.com"):
        assert _request_reset(client, email).status_code == 302
    assert mailoutbox == []


def test_an_organization_sets_its_email_with_the_contact_data(client, organization, alice, city_official):
    from swms.workflow import review_submit

    review_submit(organization, actor=organization.account)
    client.force_login(organization.account)
    page = client.get(reverse("registration:organization-profile")).content.decode()
    assert 'value="office@chenxi.org"' in page
    response = client.post(reverse("registration:organization-contact"), {
        "contact_person": "李四", "contact_phone": "13700000021", "address": "广州市越秀区中山五路 1 号",
        "email": "new@chenxi.org"})
    assert response.status_code == 302
    organization.account.refresh_from_db()
    assert organization.account.email == "new@chenxi.org"


# --- Officials reset the passwords of workers and organizations of their subtree -------------------


def _assert_reset(response, account, actor):
    assert response.status_code == 200
    password = response.context["password"]
    assert re.search(r'data-testid="shown-password">([^<]+)<', response.content.decode()).group(1) == password
    account.refresh_from_db()
    assert account.must_change_password
    assert account.check_password(password) and not account.check_password(PASSWORD)
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.PASSWORD_RESET, target=account)
    assert (event.actor, event.detail, event.success) == (actor, "by official", True)
    assert not _can_log_in(account.username, PASSWORD)
    return password


def test_county_resets_a_workers_password_from_the_profile_page(client, worker, alice):
    session = Client()
    session.force_login(worker.user)
    client.force_login(alice)
    page = client.get(reverse("registration:profile-review", args=[worker.pk])).content.decode()
    action = reverse("accounts:worker-password-reset", args=[worker.pk])
    assert f'action="{action}"' in page and "data-confirm=" in page
    password = _assert_reset(client.post(action), worker.user, alice)
    # Every session of the worker ended; the new password works and must be changed at once.
    assert session.get(reverse("reports:workbench"))["Location"].startswith(reverse("accounts:login"))
    assert _can_log_in(worker.user.username, password)


def test_city_resets_an_organizations_password_from_the_review_page(client, organization, city_official):
    organization.account.set_password(PASSWORD)
    organization.account.save()
    client.force_login(city_official)
    page = client.get(reverse("registration:organization-review", args=[organization.pk])).content.decode()
    action = reverse("accounts:organization-password-reset", args=[organization.pk])
    assert f'action="{action}"' in page
    _assert_reset(client.post(action), organization.account, city_official)


def test_sibling_county_gets_404_and_changes_nothing(client, worker, organization, charlie):
    organization.account.set_password(PASSWORD)
    organization.account.save()
    client.force_login(charlie)
    assert client.post(reverse("accounts:worker-password-reset", args=[worker.pk])).status_code == 404
    assert client.post(reverse("accounts:organization-password-reset", args=[organization.pk])).status_code == 404
    for account in (worker.user, organization.account):
        account.refresh_from_db()
        assert account.check_password(PASSWORD) and not account.must_change_password
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.PASSWORD_RESET).exists()


def test_other_roles_may_not_reset(client, worker, organization):
    client.force_login(organization.account)
    assert client.post(reverse("accounts:worker-password-reset", args=[worker.pk])).status_code == 403
    client.force_login(worker.user)
    assert client.post(reverse("accounts:organization-password-reset", args=[organization.pk])).status_code == 403


def test_the_service_refuses_accounts_outside_its_rule(regions, alice, charlie, worker):
    station = make_user("st_svc", UserKind.STATION, regions["洪桥街道"])
    town = make_user("hq_svc", UserKind.OFFICIAL, regions["洪桥街道"])
    for actor, target in ((alice, station), (alice, town), (charlie, worker.user), (worker.user, worker.user)):
        with pytest.raises(PermissionDenied):
            services.subject_password_reset(actor=actor, target=target)
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.PASSWORD_RESET).exists()
