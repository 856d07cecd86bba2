"""Rate limits (SECURITY.md D3, swms/throttle.py): exports, PDF generation, registry look-ups and password-reset
requests — N allowed, N+1 refused with 429, per user and per client address, a fresh window after expiry,
one RATE_LIMITED event per window, and a forged X-Forwarded-For gives no new allowance."""

import pytest
from captcha.models import CaptchaStore
from django.core import mail
from django.core.cache import cache
from django.urls import reverse
from freezegun import freeze_time

from accounts.models import SecurityEvent
from tests.factories import SocialWorkerFactory
from tests.registration_fixtures import submitted_application


@pytest.fixture(autouse=True)
def _fresh_counters(settings):
    cache.clear()
    settings.SWMS_RATE_LIMIT_IP_FACTOR = 2
    settings.SWMS_TRUSTED_PROXY_COUNT = 0
    yield
    cache.clear()


def _export(client):
    return client.get(reverse("accounts:official-list"), {"export": "csv"})


def _limited_events():
    return SecurityEvent.objects.filter(kind=SecurityEvent.Kind.RATE_LIMITED)


def test_export_n_allowed_then_429_per_user(client, settings, alice, english):
    settings.SWMS_EXPORT_PER_HOUR = 3
    client.force_login(alice)
    assert [_export(client).status_code for _ in range(3)] == [200, 200, 200]
    refused = _export(client)
    assert refused.status_code == 429
    assert "Too many requests" in refused.content.decode() and refused["Retry-After"] == "3600"
    assert _export(client).status_code == 429
    # One security event for the window, not one per refused request.
    (event,) = _limited_events()
    assert event.actor == alice and not event.success and "export per user" in event.detail


def test_export_limit_per_address(client, settings, alice, bob, charlie):
    settings.SWMS_EXPORT_PER_HOUR = 2  # per address: 2 x SWMS_RATE_LIMIT_IP_FACTOR = 4
    for user in (alice, bob):
        client.force_login(user)
        assert [_export(client).status_code for _ in range(2)] == [200, 200]
    client.force_login(charlie)  # own allowance untouched, but the shared address has used its 4
    assert _export(client).status_code == 429
    # From another address charlie exports.
    assert client.get(reverse("accounts:official-list"), {"export": "csv"},
                      REMOTE_ADDR="192.0.2.7").status_code == 200
    assert "export per ip" in _limited_events().get().detail


def test_export_window_expires(client, settings, alice):
    settings.SWMS_EXPORT_PER_HOUR = 1
    with freeze_time("2026-03-02 09:00:00") as clock:
        client.force_login(alice)
        assert _export(client).status_code == 200
        assert _export(client).status_code == 429
        clock.tick(3601)
        client.force_login(alice)  # a new login: the re-authentication of exports is fresh too
        assert _export(client).status_code == 200


def test_pdf_generation_is_limited(client, settings, worker_in, alice, city_official):
    settings.SWMS_PDF_PER_HOUR = 1
    worker = worker_in()
    application = submitted_application(worker)
    url = reverse("registration:application-form", kwargs={"pk": application.pk})
    client.force_login(worker.user)
    assert client.get(url).status_code == 200
    assert client.get(url).status_code == 429
    client.force_login(alice)  # another user, but the address has had its 2 (refused requests count too)
    assert client.get(url).status_code == 429
    client.force_login(city_official)  # another user from another address
    assert client.get(url, REMOTE_ADDR="192.0.2.8").status_code == 200


def test_registry_lookups_are_limited_but_paging_is_not(client, settings, alice):
    settings.SWMS_REGISTRY_LOOKUP_PER_MINUTE = 2
    client.force_login(alice)
    url = reverse("registration:registry")
    assert client.get(url, {"q": "张"}).status_code == 200
    # An ID number is searched by POST (answered with the list, or a redirect to it by the number's hash).
    assert client.post(url, {"id_number": "11010519491231002X"}).status_code in (200, 302)
    assert client.get(url, {"q": "李"}).status_code == 429
    # The list itself (no search typed) still opens.
    assert client.get(url).status_code == 200
    with freeze_time() as clock:
        clock.tick(61)
        assert client.get(url, {"q": "李"}).status_code == 200


def test_registry_worker_file_counts_as_a_lookup(client, settings, regions, alice):
    settings.SWMS_REGISTRY_LOOKUP_PER_MINUTE = 1
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"])
    client.force_login(alice)
    url = reverse("registration:registry-worker", kwargs={"pk": worker.pk})
    first = client.get(url).status_code
    assert first != 429
    assert client.get(url).status_code == 429


def _reset(client, email, **extra):
    return client.post(reverse("accounts:password-reset"),
                       {"email": email, "captcha_0": CaptchaStore.generate_key(), "captcha_1": "PASSED"}, **extra)


def test_password_reset_limited_per_address_and_answer_does_not_tell(client, settings, regions):
    settings.SWMS_PASSWORD_RESET_PER_HOUR = 2
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"])
    worker.user.email = "known@example.org"
    worker.user.save()
    known = [_reset(client, "known@example.org", REMOTE_ADDR="198.51.100.1") for _ in range(3)]
    unknown = [_reset(client, "nobody@example.org", REMOTE_ADDR="198.51.100.2") for _ in range(3)]
    # The same answers whether the address has an account or not.
    assert [r.status_code for r in known] == [r.status_code for r in unknown] == [302, 302, 429]
    assert known[0]["Location"] == unknown[0]["Location"]
    assert len(mail.outbox) == 2  # the third request for the known address sent nothing
    # The typed address is counted whatever the client's address: a new one does not help.
    assert _reset(client, "Known@example.org", REMOTE_ADDR="198.51.100.3").status_code == 429
    assert _limited_events().count() == 2  # one per address limited, none for the repeat


def test_password_reset_limited_per_client_address(client, settings, db):
    settings.SWMS_PASSWORD_RESET_PER_HOUR = 2  # per address of the client: 4
    codes = [_reset(client, f"user{i}@example.org").status_code for i in range(5)]
    assert codes == [302, 302, 302, 302, 429]


def test_forged_forwarded_for_does_not_bypass(client, settings, db):
    settings.SWMS_PASSWORD_RESET_PER_HOUR = 1  # per client address: 2
    settings.SWMS_TRUSTED_PROXY_COUNT = 1
    # Behind one proxy the client is the last X-Forwarded-For entry; what the client wrote before it varies.
    codes = [_reset(client, f"a{i}@example.org", REMOTE_ADDR="10.0.0.2",
                    HTTP_X_FORWARDED_FOR=f"203.0.113.{i}, 198.51.100.9").status_code for i in range(4)]
    assert codes == [302, 302, 429, 429]
    # Another client behind the same proxy has its own allowance.
    assert _reset(client, "b@example.org", REMOTE_ADDR="10.0.0.2",
                  HTTP_X_FORWARDED_FOR="198.51.100.10").status_code == 302
    cache.clear()
    settings.SWMS_TRUSTED_PROXY_COUNT = 0
    # Without a trusted proxy the header is ignored entirely: forged addresses give no new allowance.
    codes = [_reset(client, f"x{i}@example.org", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
             for i in range(4)]
    assert codes == [302, 302, 429, 429]
