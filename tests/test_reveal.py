"""显示完整号码 (swms/reveal.py): numbers masked on the page, shown only after a fresh password, each
showing written to the security log; out-of-scope records 404 (P1, A6, L1)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import SecurityEvent
from accounts.reauth import SESSION_AUTH_AT
from tests.registration_fixtures import submitted_application
from tests.test_clients import add, id_number
from tests.test_clients import station as station  # noqa: F401 (fixture)
from tests.test_stations import station_login


def stale_auth(client):
    session = client.session
    session[SESSION_AUTH_AT] = (timezone.now() - timedelta(minutes=16)).isoformat()
    session.save()


@pytest.fixture
def application(worker_in):
    return submitted_application(worker_in())


def reveal_url(kind, pk, field):
    return reverse("reveal", args=[kind, pk, field])


def test_review_page_shows_numbers_masked_with_reveal_buttons(client, alice, application):
    worker = application.worker
    client.force_login(alice)
    page = client.get(reverse("registration:review-detail", kwargs={"pk": application.pk})).content.decode()
    assert worker.id_number not in page and worker.mobile not in page
    assert worker.id_number[:6] + "********" + worker.id_number[-4:] in page
    assert reveal_url("worker", worker.pk, "id_number") in page
    assert reveal_url("worker", worker.pk, "mobile") in page


def test_reveal_after_fresh_password_shows_number_and_logs_it(client, alice, application):
    worker = application.worker
    client.force_login(alice)  # a login is a fresh proof of the password
    response = client.post(reveal_url("worker", worker.pk, "id_number"), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert worker.id_number in response.content.decode()
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.ID_REVEALED)
    assert (event.actor, event.target, event.detail) == (alice, worker.user, f"worker:{worker.pk}:id_number")
    assert worker.id_number not in event.username + event.detail
    assert response["Cache-Control"].startswith("no-store") or "no-store" in response["Cache-Control"]


def test_reveal_without_recent_password_goes_to_reauth_and_logs_nothing(client, alice, application):
    worker = application.worker
    client.force_login(alice)
    stale_auth(client)
    page = reverse("registration:review-detail", kwargs={"pk": application.pk})
    response = client.post(reveal_url("worker", worker.pk, "id_number"), {"next": page}, HTTP_HX_REQUEST="true")
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("accounts:reauth"))
    # After the password the user comes back to the confirmation step (a GET), never a replayed POST.
    assert "next=%2Fpii%2Fworker%2F" in response["HX-Redirect"]
    plain = client.post(reveal_url("worker", worker.pk, "id_number"), {"next": page})
    assert plain.status_code == 302 and plain["Location"].startswith(reverse("accounts:reauth"))
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ID_REVEALED).exists()
    confirm = client.get(reveal_url("worker", worker.pk, "id_number"), {"next": page})
    assert confirm.status_code == 200 and worker.id_number not in confirm.content.decode()


def test_reveal_is_scoped_and_declared(client, alice, charlie, application):
    worker = application.worker
    client.force_login(charlie)  # 荔湾区: the worker is in 越秀区
    assert client.post(reveal_url("worker", worker.pk, "id_number")).status_code == 404
    client.force_login(alice)
    assert client.post(reveal_url("worker", worker.pk, "password")).status_code == 404  # undeclared field
    assert client.post(reveal_url("nobody", worker.pk, "id_number")).status_code == 404
    assert client.get(reveal_url("worker", worker.pk, "id_number") + "?next=//evil.example").context["next"] == ""
    assert not SecurityEvent.objects.filter(kind=SecurityEvent.Kind.ID_REVEALED).exists()


def test_station_reveals_its_clients_numbers_officials_do_not(client, station, alice):
    person = add(station, id_number=id_number())
    station_login(client, station)
    detail = client.get(reverse("services:client-detail", args=[person.pk])).content.decode()
    assert person.id_number not in detail and person.phone not in detail
    response = client.post(reveal_url("client", person.pk, "phone"), HTTP_HX_REQUEST="true")
    assert person.phone in response.content.decode()
    assert SecurityEvent.objects.get(kind=SecurityEvent.Kind.ID_REVEALED).detail == f"client:{person.pk}:phone"
    client.force_login(alice)  # minimum necessary: an official oversees clients with masked numbers
    assert client.post(reveal_url("client", person.pk, "id_number")).status_code == 404
