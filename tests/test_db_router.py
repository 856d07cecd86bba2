"""The read-replica router (swms/db_router.py): statistics, the review dashboard, export files and the exchange
package read from the "replica" alias when one is configured; writes, and reads right after a write, never do.

The test settings define "replica" as a test mirror of the default database: its own connection to the same
test database, so the tests see which connection each query took (CaptureQueriesContext per alias). The
routing tests commit (transaction=True): the mirror's connection sees only committed rows, as a real replica."""

import csv
import io
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache
from django.db import connections, router, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Region, User
from exchange.services import export_package
from swms.db_router import PIN_COOKIE, REPLICA, read_alias, reads_from_replica, reset_replica_health
from swms.models import ExportJob
from tests.test_stations import create_station

ROOT = Path(__file__).resolve().parent.parent
BOTH = pytest.mark.django_db(transaction=True, databases=["default", "replica"])
WRITES = ("INSERT", "UPDATE", "DELETE", "COPY", "CREATE", "DROP", "TRUNCATE")


@pytest.fixture
def replica_on(settings):
    """What DATABASE_REPLICA_URL turns on; every test starts with an empty figure cache and no lag check."""
    settings.SWMS_REPLICA_READS = True
    reset_replica_health()
    cache.clear()
    yield settings
    reset_replica_health()


@contextmanager
def captured():
    with CaptureQueriesContext(connections["default"]) as primary, \
            CaptureQueriesContext(connections[REPLICA]) as replica:
        yield primary, replica


def sql(queries) -> str:
    return "\n".join(q["sql"] for q in queries.captured_queries)


def writes(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].lstrip().upper().startswith(WRITES) or " INSERT INTO " in q["sql"].upper()]


def test_settings_without_a_replica_url_have_no_replica_and_pgbouncer_swaps_the_engine():
    """settings.py itself: no DATABASE_REPLICA_URL, no "replica" alias and nothing routed; with it, the alias
    (never migrated: a test mirror); DATABASE_PGBOUNCER puts the PgBouncer backend under both."""
    code = ("import json; from swms import settings as s; print('JSON' + json.dumps({'aliases': sorted(s.DATABASES),"
            " 'reads': s.SWMS_REPLICA_READS, 'engines': sorted({d['ENGINE'] for d in s.DATABASES.values()}),"
            " 'routers': s.DATABASE_ROUTERS}))")

    def load(**env):
        base = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "DJANGO_SETTINGS"))}
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                             env={**base, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/swms_x", **env})
        assert out.returncode == 0, out.stderr
        import json

        return json.loads(next(line for line in out.stdout.splitlines() if line.startswith("JSON"))[4:])

    plain = load()
    assert plain["aliases"] == ["default"] and plain["reads"] is False
    assert plain["engines"] == ["django.db.backends.postgresql"]
    assert plain["routers"] == ["swms.db_router.ReplicaRouter"]
    both = load(DATABASE_REPLICA_URL="postgres://postgres@10.0.0.2:5432/swms", DATABASE_PGBOUNCER="1")
    assert both["aliases"] == ["default", "replica"] and both["reads"] is True
    assert both["engines"] == ["swms.pgbouncer"]


@BOTH
def test_without_replica_reads_every_query_goes_to_the_primary(client, regions, alice, settings):
    assert settings.SWMS_REPLICA_READS is False
    create_station(alice, regions)
    client.force_login(alice)
    cache.clear()
    with captured() as (primary, replica):
        with reads_from_replica():
            assert read_alias() == "default"
        assert client.get(reverse("reports:statistics")).status_code == 200
        assert client.get(reverse("reports:review-dashboard")).status_code == 200
        assert client.get(reverse("stations:list"), {"export": "csv"}).status_code == 200
        response = client.post(reverse("reports:statistics"))
    assert replica.captured_queries == []
    assert "reports_statrollup" in sql(primary)
    assert PIN_COOKIE not in response.cookies  # no replica, no pinning cookie


@BOTH
def test_statistics_figures_are_read_from_the_replica(client, regions, alice, replica_on):
    create_station(alice, regions)
    client.force_login(alice)
    with captured() as (primary, replica):
        response = client.get(reverse("reports:statistics"))
    assert response.status_code == 200
    assert "reports_statrollup" in sql(replica) and "reports_statrollup" not in sql(primary)
    assert writes(replica) == []
    # The replica's committed copy has the station: the figures are right, not just routed.
    with captured() as (primary, replica):
        response = client.get(reverse("reports:workbench"))  # the official's workbench figures
    assert response.status_code == 200 and response.context["stats"]["stations"] == 1
    assert "reports_statrollup" in sql(replica) and "reports_statrollup" not in sql(primary)
    # Who is signed in, and the session, are read from the primary only.
    assert "accounts_user" not in sql(replica) and "django_session" not in sql(replica)


@BOTH
def test_review_dashboard_is_read_from_the_replica(client, regions, alice, replica_on):
    client.force_login(alice)
    with captured() as (primary, replica):
        response = client.get(reverse("reports:review-dashboard"))
    assert response.status_code == 200
    assert "swms_reviewlog" in sql(replica) and "swms_reviewlog" not in sql(primary)
    assert writes(replica) == []


@BOTH
@pytest.mark.pgbouncer  # also through PgBouncer: the rows stream inside a replica transaction
def test_export_rows_come_from_the_replica_and_the_job_writes_the_primary(client, regions, alice, replica_on,
                                                                         media):
    create_station(alice, regions, name="甲站")
    create_station(alice, regions, name="乙站", region=regions["北京街道"])
    client.force_login(alice)
    # A small list: written in the request.
    with captured() as (primary, replica):
        response = client.get(reverse("stations:list"), {"export": "csv"})
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    assert sorted(row[1] for row in list(csv.reader(io.StringIO(body)))[1:]) == ["乙站", "甲站"]
    assert "stations_station" in sql(replica) and writes(replica) == []
    assert "accounts_securityevent" in sql(primary)  # the export is logged on the primary
    # A large one: a background job (run inline by the tests) whose rows come from the replica, while the job
    # itself (claim, progress, result) is written to the primary.
    replica_on.SWMS_EXPORT_SYNC_ROWS = 1
    with captured() as (primary, replica):
        response = client.get(reverse("stations:list"), {"export": "csv"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and job.status == "done" and job.total == 2
    assert "stations_station" in sql(replica) and writes(replica) == []
    assert any(q.startswith("UPDATE") and "swms_exportjob" in q for q in writes(primary))


@BOTH
@pytest.mark.pgbouncer  # also through PgBouncer: the rows stream inside a replica transaction
def test_exchange_package_is_read_from_one_snapshot_on_the_replica(regions, alice, replica_on, media):
    create_station(alice, regions)
    with captured() as (primary, replica):
        package = export_package(regions["广东省"], full=True)
    assert package.manifest["files"]["stations.csv"]["rows"] == 1
    text = sql(replica)
    assert "REPEATABLE READ, READ ONLY" in text and "stations_station" in text and writes(replica) == []
    assert "stations_station" not in sql(primary)
    assert any("exchange_exchangepackage" in q for q in writes(primary))


@BOTH
def test_a_user_who_has_just_written_reads_the_primary(client, regions, alice, replica_on):
    replica_on.SWMS_REPLICA_PIN_SECONDS = 10
    client.force_login(alice)
    with captured() as (_primary, replica):
        response = client.post(reverse("reports:statistics"))  # any non-safe request: it may have written
    assert response.status_code == 200 and replica.captured_queries == []
    pin = response.cookies[PIN_COOKIE]
    assert pin["max-age"] == 10 and pin["httponly"] and pin["path"] == "/"
    cache.clear()
    with captured() as (_primary, replica):
        assert client.get(reverse("reports:statistics")).status_code == 200  # within the pin: the cookie
    assert replica.captured_queries == []
    # Once the cookie has expired (the browser drops it after SWMS_REPLICA_PIN_SECONDS), reads go back.
    del client.cookies[PIN_COOKIE]
    cache.clear()
    with captured() as (_primary, replica):
        assert client.get(reverse("reports:statistics")).status_code == 200
    assert "reports_statrollup" in sql(replica)


@BOTH
def test_writes_never_go_to_the_replica_and_a_write_ends_replica_reads(regions, alice, replica_on):
    region = regions["洪桥街道"]
    with captured() as (primary, replica):
        with reads_from_replica():
            assert Region.objects.get(pk=region.pk).name == "洪桥街道"
            assert router.db_for_write(Region) == "default"
            # Who is signed in and sessions: the primary, even inside.
            assert read_alias(User) == read_alias(Session) == "default"
            Region.objects.filter(pk=region.pk).update(name="洪桥")  # a write: the rest of the block reads the primary
            assert read_alias() == "default"
            assert Region.objects.get(pk=region.pk).name == "洪桥"
        with reads_from_replica(), transaction.atomic():  # inside a transaction on the primary: the primary
            assert read_alias() == "default"
            Region.objects.get(pk=region.pk)
        with reads_from_replica():
            instance = Region.objects.get(pk=region.pk)  # read from the replica, saved to the primary
            assert instance._state.db == REPLICA
            instance.name = "洪桥街道"
            instance.save(update_fields=["name"])
    assert len([q for q in replica.captured_queries if "accounts_region" in q["sql"]]) >= 2
    assert writes(replica) == []
    assert len([q for q in writes(primary) if q.startswith("UPDATE") and "accounts_region" in q]) >= 2
    assert read_alias() == "default"  # outside any block


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@BOTH
def test_a_lagging_stale_or_unreachable_replica_is_not_read(client, regions, alice, replica_on):
    with reads_from_replica():
        assert read_alias() == REPLICA
    # Behind by more than SWMS_REPLICA_MAX_LAG_SECONDS (a mirror is never behind: no lag is allowed here).
    replica_on.SWMS_REPLICA_MAX_LAG_SECONDS = -1
    reset_replica_health()
    with reads_from_replica():
        assert read_alias() == "default"
    replica_on.SWMS_REPLICA_MAX_LAG_SECONDS = 5
    reset_replica_health()
    # Not yet replayed the moment asked for (the cached statistics ask for their version's time).
    with reads_from_replica(fresh_after=time.time() + 60):
        assert read_alias() == "default"
    with reads_from_replica(fresh_after=time.time() - 1):
        assert read_alias() == REPLICA
    # Unreachable: the pages still answer, from the primary.
    replica = connections[REPLICA]
    port = replica.settings_dict["PORT"]
    replica.close()
    replica.settings_dict["PORT"] = str(_free_port())
    reset_replica_health()
    try:
        with reads_from_replica():
            assert read_alias() == "default"
        client.force_login(alice)
        cache.clear()
        response = client.get(reverse("reports:statistics"))
        assert response.status_code == 200 and response.context["root"] == regions["越秀区"]
        # Back again, but this process looks only after a back-off (requests do not each wait to connect).
        replica.settings_dict["PORT"] = port
        with reads_from_replica():
            assert read_alias() == "default"
        reset_replica_health()
        with reads_from_replica():
            assert read_alias() == REPLICA
    finally:
        replica.close()
        replica.settings_dict["PORT"] = port
        reset_replica_health()
