"""What the long lists stand on at province scale (issue #14): counts and person types kept on the activity,
and name search through the n-gram index, two-character Chinese names included."""

import pytest
from django.db import connection
from django.urls import reverse

from services.activities import activity_save, refresh_activity_people, refresh_all_activity_people
from services.categories import CATEGORIES
from services.clients import client_save
from services.models import Activity, Client
from swms.search import ngrams, text_contains
from tests import test_activities
from tests.test_activities import add_client, add_worker, declared, make_activity
from tests.test_clients import data as client_data

pytestmark = pytest.mark.usefixtures("english")

hq = test_activities.hq  # the 洪桥街道 station with a worker and two clients (fixture)


def stored(activity):
    activity.refresh_from_db()
    return activity.client_count, activity.worker_count, sorted(activity.client_types)


def test_counts_and_client_types_follow_every_change(hq):
    station, worker = hq["station"], hq["worker"]
    elderly, disabled = hq["clients"]
    activity = make_activity(station, worker, [elderly, disabled])
    assert stored(activity) == (2, 1, ["dibao", "disabled", "elderly"])
    other = add_worker(station, "刘社工")
    spec = CATEGORIES["case"]
    activity_save(station=station, activity=activity, category="case",
                  data={"status": "ongoing", "name": "长者关爱", "lead_worker": worker, "contact_phone": "020-1",
                        "service_domains": ["elderly_care"], "started_at": activity.started_at, "ended_at": None,
                        "location": "", "volunteer_count": 0},
                  details=declared(spec.basic, form=False), summary={}, clients=[elderly],
                  workers=[worker, other], actor=station.account)
    assert stored(activity) == (1, 2, ["elderly"])
    # A client's person types change: the activities it took part in are found by the new types.
    client_save(station=station, client=elderly, actor=station.account,
                data=client_data(name=elderly.name, gender="female", person_types=["orphan"], phone="13800000009"))
    assert stored(activity) == (1, 2, ["orphan"])


def test_the_bulk_fill_agrees_with_the_per_activity_refresh(hq):
    station, worker = hq["station"], hq["worker"]
    elderly, disabled = hq["clients"]
    activities = [make_activity(station, worker, clients) for clients in ([elderly], [elderly, disabled])]
    activities.append(make_activity(station, worker, [], category="community"))
    expected = [stored(a) for a in activities]
    Activity.objects.update(client_count=99, worker_count=99, client_types=["vagrant"])
    refresh_all_activity_people()
    assert [stored(a) for a in activities] == expected
    Activity.objects.update(client_count=99, worker_count=99, client_types=["vagrant"])
    refresh_activity_people(a.pk for a in activities)
    assert [stored(a) for a in activities] == expected == [(1, 1, ["elderly"]),
                                                           (2, 1, ["dibao", "disabled", "elderly"]), (0, 1, [])]


def test_official_list_shows_the_stored_counts(hq, client, alice):
    activity = make_activity(hq["station"], hq["worker"], hq["clients"])
    client.force_login(alice)
    page = client.get(reverse("services:official-activity-list"))
    row = next(a for a in page.context["page"] if a.pk == activity.pk)
    assert (row.client_count, row.worker_count) == (2, 1)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the n-gram function is PostgreSQL's")
def test_sql_ngrams_are_the_characters_and_pairs(db):
    with connection.cursor() as cursor:
        cursor.execute("SELECT swms_ngrams(%s)", ["张伟Ab张"])
        grams = set(cursor.fetchone()[0])
    assert grams == {"张", "伟", "a", "b", "张伟", "伟a", "ab", "b张"}
    assert set(ngrams("伟AB")) <= grams and ngrams("张") == ["张"]


def test_name_search_finds_two_and_one_character_names(hq):
    station = hq["station"]
    names = ["张伟", "张伟明", "李张伟", "王伟", "张三", "Anna Li"]
    for name in names:
        add_client(station, name)
    found = lambda value: set(Client.objects.filter(text_contains("name", value)).values_list("name", flat=True))  # noqa: E731
    assert found("张伟") == {"张伟", "张伟明", "李张伟"}
    assert found("伟") == {"张伟", "张伟明", "李张伟", "王伟"}
    assert found("anna") == {"Anna Li"} and found("na l") == {"Anna Li"}
    assert found("伟张") == set()
    # The stored n-grams follow a renamed client.
    Client.objects.filter(name="王伟").update(name="赵六")
    assert found("王伟") == set() and found("赵六") == {"赵六"}


@pytest.mark.skipif(connection.vendor != "postgresql", reason="GIN indexes are PostgreSQL's")
def test_name_search_and_person_types_can_use_their_indexes(hq):
    add_client(hq["station"], "张伟")
    plans = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        for qs in (Client.objects.filter(text_contains("name", "张伟")),
                   Activity.objects.filter(client_types__contains=["elderly"]),
                   Activity.objects.filter(text_contains("name", "长者"))):
            cursor.execute("EXPLAIN " + str(qs.query.sql_with_params()[0]), qs.query.sql_with_params()[1])
            plans.append("\n".join(r[0] for r in cursor.fetchall()))
    assert "client_name_ngram_idx" in plans[0]
    assert "activity_client_types_idx" in plans[1]
    assert "activity_name_ngram_idx" in plans[2]


def test_columns_without_ngrams_are_searched_with_like_alone(db):
    from registration.models import Organization
    from swms.search import has_ngrams

    assert has_ngrams(Client, "name") and has_ngrams(Activity, "name")
    assert not has_ngrams(Activity, "station__name") and not has_ngrams(Organization, "name")
    assert "ngrams" not in str(Activity.objects.filter(text_contains("station__name", "街道", model=Activity)).query)
    assert "ngrams" in str(Activity.objects.filter(text_contains("name", "长者", model=Activity)).query)
