"""Audit events not tied to one feature (L1): authorization denials are logged, with who, when, where
from and what, and without the query string (which may carry search terms)."""

from django.urls import reverse

from accounts.models import SecurityEvent


def test_forbidden_page_writes_one_access_denied_event(client, social_worker):
    client.force_login(social_worker)
    response = client.get(reverse("accounts:official-list") + "?q=张三", REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 403
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.ACCESS_DENIED)
    assert (event.actor, event.target, event.success) == (social_worker, social_worker, False)
    assert event.ip_address == "10.1.2.3"
    assert event.detail == f"GET {reverse('accounts:official-list')}"  # no query string
    assert event.created_at is not None


def test_anonymous_denials_are_not_logged_as_access_denied(client, db):
    response = client.get(reverse("accounts:official-list"))
    assert response.status_code == 302  # to the login page
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ACCESS_DENIED).exists()
