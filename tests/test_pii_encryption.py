"""Personal data at rest (SECURITY.md P2, #16): ID and mobile numbers encrypted in every table that holds them,
history tables included, found through a keyed hash; key rotation; workers' usernames; no ID numbers in URLs."""

import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from accounts.models import SecurityEvent, User, UserKind
from registration.models import Qualification, SocialWorker
from registration.services.profiles import socialworker_signup
from services.clients import client_save
from services.models import Client
from stations import services as station_services
from stations.models import StationWorker, WorkerLevel
from swms import crypto
from swms.encrypted_fields import (
    TOKEN_PREFIX,
    encrypt_existing,
    encrypted_models,
    hash_value,
)
from tests.conftest import PASSWORD, login
from tests.factories import (
    QualificationFactory,
    RegistrationFactory,
    SocialWorkerFactory,
    UserFactory,
    make_id_number,
)
from tests.test_login_security import is_logged_in, post_login
from tests.test_stations import create_station

WORKER_ID = "44010419900101103X"
WORKER_MOBILE = "13912345678"


def raw_values(table: str, column: str) -> list:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {connection.ops.quote_name(column)} FROM {connection.ops.quote_name(table)}")  # noqa: S608
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def everything(alice, regions):
    """One row with a known ID and mobile number in each model that holds them (and their history rows)."""
    worker = SocialWorkerFactory(user__id_number=WORKER_ID, user__phone=WORKER_MOBILE, mobile=WORKER_MOBILE)
    QualificationFactory(id_number=WORKER_ID)
    station, _pw = create_station(alice, regions)
    station_services.station_worker_add_manual(station=station, data=dict(
        name="手工录入", gender="male", id_number=WORKER_ID, mobile=WORKER_MOBILE, employer="站点",
        level=WorkerLevel.NONE, certificate_no="", is_head=False, practice_since=None,
        joined_on=datetime.date(2024, 1, 1)), actor=station.account)
    client_save(station=station, actor=station.account, data=dict(
        name="王伟", gender="male", id_number=WORKER_ID, birth_date=datetime.date(1990, 1, 1), age=None,
        person_types=["elderly"], phone=WORKER_MOBILE, address="洪桥街2号", notes="", filed=True))
    return worker, station


def test_every_encrypted_column_holds_ciphertext_history_included(everything):
    """P2: raw SQL on every table with an encrypted column (the live and the history tables) reads Fernet
    tokens that open to the number, never the number itself."""
    checked = set()
    for model in encrypted_models():
        for field in model._meta.concrete_fields:
            if type(field).__name__ != "EncryptedCharField":
                continue
            values = [v for v in raw_values(model._meta.db_table, field.column) if v]
            plain = WORKER_MOBILE if field.name in ("phone", "mobile") else WORKER_ID
            assert values, f"{model._meta.db_table}.{field.column} has no row to check"
            for value in values:
                assert plain not in value and value.startswith(TOKEN_PREFIX)
            assert plain in {crypto.decrypt(v) for v in values}
            hashes = raw_values(model._meta.db_table, f"{field.column}_hash")
            assert hash_value(plain) in hashes
            checked.add(model._meta.db_table)
    assert {"accounts_user", "accounts_historicaluser", "registration_socialworker",
            "registration_historicalsocialworker", "registration_qualification",
            "registration_historicalqualification", "stations_stationworker", "stations_historicalstationworker",
            "services_client", "services_historicalclient"} <= checked


def test_lookups_go_through_the_hash_and_values_are_plaintext(everything):
    """filter/exclude/get_or_create/in/Q on an encrypted field match through the keyed hash (the value
    normalized: a lower-case x finds the capital X); values_list decrypts; partial lookups are refused."""
    worker, _station = everything
    assert SocialWorker.objects.get(id_number=WORKER_ID.lower()) == worker
    assert list(SocialWorker.objects.filter(id_number__in=[WORKER_ID, "110105194912310029"])) == [worker]
    assert not SocialWorker.objects.exclude(id_number=WORKER_ID).filter(pk=worker.pk).exists()
    assert User.objects.get(phone=WORKER_MOBILE) == worker.user
    assert SocialWorker.objects.get_or_create(id_number=WORKER_ID, defaults={"user": worker.user})[1] is False
    assert Client.objects.filter(id_number=WORKER_ID).count() == 1
    assert Client.objects.filter(id_number="").count() == 0
    assert list(StationWorker.objects.values_list("id_number", "mobile")) == [(WORKER_ID, WORKER_MOBILE)]
    # A join on the encrypted column compares hashes (OuterRef to another table's encrypted column).
    from django.db.models import Exists, OuterRef

    assert SocialWorker.objects.filter(
        Exists(Qualification.objects.filter(id_number=OuterRef("id_number")))).get() == worker
    # QuerySet.update() writes the hash beside the value, save(update_fields=...) too.
    Client.objects.filter(id_number=WORKER_ID).update(phone="13700000000")
    assert Client.objects.get(phone="13700000000").id_number == WORKER_ID
    worker.mobile = "13600000000"
    worker.save(update_fields=["mobile"])
    assert SocialWorker.objects.get(mobile="13600000000") == worker
    for lookup in ("id_number__startswith", "id_number__icontains", "id_number__gt"):
        with pytest.raises(FieldError):
            list(SocialWorker.objects.filter(**{lookup: "440104"}))


def test_uniqueness_is_enforced_on_the_hash(db):
    """The unique ID and mobile numbers of accounts (and of profiles) are unique hashes: the database refuses
    a second row with the same number, however its ciphertext differs."""
    first = UserFactory(id_number=WORKER_ID, phone=WORKER_MOBILE)
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(id_number=WORKER_ID)
    with pytest.raises(IntegrityError), transaction.atomic():
        UserFactory(phone=WORKER_MOBILE)
    SocialWorkerFactory(user=first, id_number=WORKER_ID)
    with pytest.raises(IntegrityError), transaction.atomic():
        SocialWorkerFactory(id_number=WORKER_ID)


@pytest.mark.parametrize("identifier", [WORKER_ID, WORKER_ID.lower(), WORKER_MOBILE])
def test_login_by_id_number_or_mobile(client, db, identifier):
    """Workers log in with their ID or mobile number (the login form, through the hash lookups)."""
    user = UserFactory(id_number=WORKER_ID, phone=WORKER_MOBILE)
    response = post_login(client, identifier, password="Swms#Test2026")
    assert response.status_code == 302 and is_logged_in(client, user)


def test_signup_gives_a_username_that_is_not_the_id_number(db):
    """P1/P2: a worker signing up gets a non-personal username; they log in with ID or mobile number."""
    number = make_id_number()
    user, _found = socialworker_signup(id_number=number, name="李雷", mobile="13711112222",
                                       email="", password="Swms#Signup2026")
    assert user.username != number and number not in user.username and user.username.startswith("sw")
    assert user.id_number == number


def test_rotate_field_keys_reencrypts_every_row_under_the_new_key(everything, settings):
    """P2 key rotation: a new key first in SWMS_FIELD_KEYS, the command run, and every row of every encrypted
    column (history tables included) opens under the new key alone; a KEY_ROTATION event is written."""
    old = settings.SWMS_FIELD_KEYS[0]
    new = Fernet.generate_key().decode()
    settings.SWMS_FIELD_KEYS = [new, old]
    call_command("rotate_field_keys", "--batch", "2")
    only_new = Fernet(new.encode())
    for model in encrypted_models():
        for field in model._meta.concrete_fields:
            if type(field).__name__ == "EncryptedCharField":
                for value in raw_values(model._meta.db_table, field.column):
                    if value:
                        only_new.decrypt(value.encode())  # raises InvalidToken if any row is still under the old key
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.KEY_ROTATION)
    assert event.success and "rotate_field_keys" in event.detail
    settings.SWMS_FIELD_KEYS = [new]
    assert SocialWorker.objects.get(id_number=WORKER_ID).mobile == WORKER_MOBILE
    # Run again: nothing left to rewrite.
    call_command("rotate_field_keys")
    assert "0 rows rewritten" in SecurityEvent.objects.filter(kind=SecurityEvent.Kind.KEY_ROTATION).first().detail


def test_rotate_hash_key(everything, settings):
    """The hash key rotated: lookups keep working under either key meanwhile, and the command recomputes every
    hash under the new key."""
    old = settings.SWMS_HASH_KEY
    settings.SWMS_HASH_KEY, settings.SWMS_HASH_KEY_PREVIOUS = "a-new-hash-key-of-enough-length-0123456789", old
    assert SocialWorker.objects.filter(id_number=WORKER_ID).exists()  # found under the previous key
    call_command("rotate_field_keys", "--hash-key-previous")
    assert raw_values("registration_socialworker", "id_number_hash") == [
        crypto.keyed_hash(WORKER_ID, "a-new-hash-key-of-enough-length-0123456789")]
    assert set(raw_values("accounts_historicaluser", "phone_hash")) - {None} == {
        crypto.keyed_hash(WORKER_MOBILE, "a-new-hash-key-of-enough-length-0123456789")}
    settings.SWMS_HASH_KEY_PREVIOUS = ""
    assert SocialWorker.objects.filter(id_number=WORKER_ID).exists()


def test_migration_encrypts_existing_plain_rows(db):
    """The data migrations' step (encrypt_existing): plain numbers left by the old schema become tokens with
    their hashes; running it again changes nothing."""
    QualificationFactory(id_number=WORKER_ID)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE registration_qualification SET id_number = %s, id_number_hash = NULL", [WORKER_ID])
    from django.apps import apps

    class SchemaEditor:
        pass

    editor = SchemaEditor()
    editor.connection = connection
    encrypt_existing(["registration.Qualification"])(apps, editor)
    [value] = raw_values("registration_qualification", "id_number")
    assert value.startswith(TOKEN_PREFIX) and crypto.decrypt(value) == WORKER_ID
    assert raw_values("registration_qualification", "id_number_hash") == [hash_value(WORKER_ID)]
    encrypt_existing(["registration.Qualification"])(apps, editor)
    assert raw_values("registration_qualification", "id_number") == [value]


def test_registry_id_search_keeps_the_number_out_of_the_url(client, alice, regions):
    """P1: the registry's exact ID search is POSTed and answered by a redirect carrying the keyed hash; a number
    typed into the name box is replaced the same way; the result is the worker."""
    registration = RegistrationFactory(worker__user__id_number=WORKER_ID, worker__work_region=regions["越秀区"],
                                       region=regions["越秀区"])
    login(client, alice)
    url = reverse("registration:registry")
    response = client.post(f"{url}?level=assistant", {"id_number": WORKER_ID.lower()})
    assert response.status_code == 302
    location = response["Location"]
    assert WORKER_ID not in location.upper() and WORKER_ID[:6] not in location
    assert parse_qs(urlsplit(location).query) == {"level": ["assistant"], "idh": [hash_value(WORKER_ID)]}
    page = client.get(location)
    assert page.status_code == 200 and registration.worker.name in page.content.decode()
    response = client.get(url, {"q": WORKER_ID})
    assert response.status_code == 302 and WORKER_ID not in response["Location"]
    assert hash_value(WORKER_ID) in response["Location"]
    other = client.get(f"{url}?idh={hash_value(make_id_number())}")
    assert registration.worker.name not in other.content.decode()


def test_client_search_by_id_number_redirects_to_the_hash(client, alice, regions):
    station, _pw = create_station(alice, regions)
    saved = client_save(station=station, actor=station.account, data=dict(
        name="王伟", gender="male", id_number=WORKER_ID, birth_date=datetime.date(1990, 1, 1), age=None,
        person_types=["elderly"], phone=WORKER_MOBILE, address="洪桥街2号", notes="", filed=True))
    login(client, alice)
    response = client.get(reverse("services:official-client-list"), {"q": WORKER_ID})
    assert response.status_code == 302 and WORKER_ID not in response["Location"]
    page = client.get(response["Location"]).content.decode()
    assert saved.name in page and 'data-testid="id-search-note"' in page and WORKER_ID not in page


def test_worker_accounts_made_by_factories_and_fixtures_log_in(client, db):
    """Tests and demo data: a worker's username is not its ID number, and logging in by username still works."""
    user = UserFactory()
    assert user.username != user.id_number
    assert post_login(client, user.username, password="Swms#Test2026").status_code == 302
    assert UserKind.SOCIAL_WORKER == user.kind and PASSWORD


def test_migration_renames_workers_whose_username_is_their_id_number(db):
    """accounts.0006_worker_usernames: an account named by its ID number gets a non-personal username, in its
    history rows too; other accounts keep theirs."""
    import importlib

    from django.apps import apps

    from swms import append_only

    old = UserFactory(username=WORKER_ID, id_number=WORKER_ID)
    kept = UserFactory()
    migration = importlib.import_module("accounts.migrations.0006_worker_usernames")

    class SchemaEditor:
        pass

    editor = SchemaEditor()
    editor.connection = connection
    with append_only.rewrite(apps.get_model("accounts", "HistoricalUser"), operations=(append_only.UPDATE,)):
        migration.rename_workers(apps, editor)
    old.refresh_from_db()
    assert old.username.startswith("sw") and old.username != WORKER_ID
    assert WORKER_ID not in raw_values("accounts_historicaluser", "username")
    assert User.objects.get(pk=kept.pk).username == kept.username
