"""The CI step through PgBouncer (.ci/pgbouncer/run-tests.sh) really runs through PgBouncer in transaction
pooling mode, and what that mode breaks in stock Django does not break here (swms/pgbouncer/base.py).

The class is collected only in that step (PGBOUNCER_ADMIN_URL set, the admin console of the run's PgBouncer):
in the ordinary run there is no PgBouncer, and its tests would have nothing to prove. The backend's own rules
(the two tests before it) hold on any PostgreSQL and run in both."""

import os

import psycopg
import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import DatabaseError, connection, transaction
from django.db.backends.postgresql.base import DatabaseWrapper as StockWrapper

ADMIN_URL = os.environ.get("PGBOUNCER_ADMIN_URL", "")

pytestmark = pytest.mark.pgbouncer


def _admin(query: str) -> list[dict]:
    with psycopg.connect(ADMIN_URL, autocommit=True, cursor_factory=psycopg.ClientCursor) as admin:
        cursor = admin.execute(query)
        names = [c.name for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _client() -> psycopg.Connection:
    """A second client of the same PgBouncer database, beside Django's connection."""
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], dbname=db["NAME"], autocommit=True)


def _pid(conn) -> int:
    return conn.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_the_pgbouncer_backend_refuses_prepared_statements():
    from django.core.exceptions import ImproperlyConfigured

    from swms.pgbouncer.base import DatabaseWrapper

    assert DatabaseWrapper({**connection.settings_dict, "OPTIONS": {}}, "pgb").get_connection_params()[
        "prepare_threshold"] is None
    with pytest.raises(ImproperlyConfigured, match="prepare_threshold"):
        DatabaseWrapper({**connection.settings_dict, "OPTIONS": {"prepare_threshold": 5}}, "pgb").get_connection_params()


@pytest.mark.django_db(transaction=True)
def test_the_pgbouncer_backend_declares_cursors_only_inside_transactions():
    """What iterator() gets from the backend: an ordinary cursor in autocommit (where stock Django declares a
    WITH HOLD cursor), a named server-side cursor inside a transaction."""
    from swms.pgbouncer.base import DatabaseWrapper

    stock = StockWrapper.chunked_cursor(connection)
    assert stock.cursor.name.startswith("_django_curs_") and stock.cursor.withhold is True
    stock.close()
    ours = DatabaseWrapper(connection.settings_dict.copy(), "pgbouncer_backend_test")  # the same test database
    try:
        plain = ours.chunked_cursor()
        assert getattr(plain.cursor, "name", None) is None
        plain.execute("SELECT 1")
        plain.close()
        ours.set_autocommit(False)
        named = ours.chunked_cursor()
        assert named.cursor.name.startswith("_django_curs_") and named.cursor.withhold is False
        named.execute("SELECT id FROM auth_permission")
        assert named.fetchmany(3)
        named.close()
        ours.rollback()
    finally:
        ours.close()


class TestThroughPgBouncer:
    __test__ = bool(ADMIN_URL)  # not collected without the PgBouncer of the CI step

    @pytest.mark.django_db
    def test_the_test_database_is_reached_through_pgbouncer_in_transaction_mode(self):
        assert settings.DATABASE_PGBOUNCER is True
        assert settings.DATABASES["default"]["ENGINE"] == "swms.pgbouncer"
        assert connection.settings_dict["NAME"].startswith("test_")
        config = {row["key"]: row["value"] for row in _admin("SHOW CONFIG")}
        assert config["pool_mode"] == "transaction"
        assert int(config["listen_port"]) == int(connection.settings_dict["PORT"])
        # PgBouncer has a pool for the test database, in transaction mode, and Django's connection is a client.
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_database()")
            name = cursor.fetchone()[0]
        pools = [p for p in _admin("SHOW POOLS") if p["database"] == name]
        assert pools and pools[0]["pool_mode"] == "transaction"
        assert any(c["database"] == name for c in _admin("SHOW CLIENTS"))
        # Django never prepares statements (prepared statements would not survive transaction pooling).
        assert connection.connection.prepare_threshold is None

    @pytest.mark.django_db(transaction=True)
    def test_server_connections_change_hands_between_transactions(self):
        """A server connection serves one client per transaction, not per session: right after one client's
        statement, another client's transaction gets that very server connection (PgBouncer reuses the
        last one freed), and the first client meanwhile gets another. In session mode neither could be."""
        first, second = _client(), _client()
        try:
            used = _pid(first)
            with second.transaction():
                assert _pid(second) == used
                assert _pid(first) != used  # first's next statement: another server connection
        finally:
            first.close()
            second.close()

    @pytest.mark.django_db(transaction=True)
    def test_iterator_outside_a_transaction_survives_other_clients_between_chunks(self):
        """Stock Django declares a WITH HOLD cursor for iterator() in autocommit and fetches from it later,
        possibly through another server connection; here the rows come through an ordinary cursor."""
        expected = Permission.objects.count()
        assert expected > 50
        other = _client()
        try:
            seen = 0
            for seen, _permission in enumerate(Permission.objects.order_by("pk").iterator(chunk_size=10), 1):
                if seen % 10 == 1:
                    with other.transaction():  # holds the server connection Django's last statement freed
                        _pid(other)
                        with connection.cursor() as cursor:  # Django meanwhile: another server connection
                            cursor.execute("SELECT 1")
            assert seen == expected
        finally:
            other.close()

    @pytest.mark.django_db(transaction=True)
    def test_stock_djangos_with_hold_cursor_breaks_through_pgbouncer(self):
        """The failure the backend avoids, on the same PgBouncer: a WITH HOLD cursor declared in one
        transaction is gone when the next FETCH lands on another server connection."""
        other = _client()
        try:
            with pytest.raises(DatabaseError, match="does not exist"):
                cursor = StockWrapper.chunked_cursor(connection)
                try:
                    cursor.execute("SELECT id FROM auth_permission ORDER BY id")
                    cursor.fetchmany(5)
                    with other.transaction():
                        _pid(other)  # takes the server connection that holds the cursor
                        cursor.fetchmany(5)
                finally:
                    try:
                        cursor.close()
                    except Exception:  # noqa: BLE001 - closing a cursor that is already gone
                        pass
        finally:
            other.close()
            connection.close()

    @pytest.mark.django_db(transaction=True)
    def test_iterator_inside_a_transaction_streams_from_a_server_side_cursor(self):
        """Inside a transaction (where the exports iterate) iterator() still declares a cursor, WITHOUT HOLD,
        which lives and dies with the transaction's server connection."""
        with transaction.atomic():
            rows = Permission.objects.order_by("pk").values_list("pk", flat=True).iterator(chunk_size=10)
            first = next(rows)
            with connection.cursor() as cursor:
                cursor.execute("SELECT name, is_holdable FROM pg_cursors")
                cursors = cursor.fetchall()
            assert [holdable for name, holdable in cursors if name.startswith("_django_curs_")] == [False]
            assert [first, *rows] == list(Permission.objects.order_by("pk").values_list("pk", flat=True))

    @pytest.mark.django_db(transaction=True)
    def test_the_time_zone_django_sets_reaches_every_server_connection(self):
        """Django sets its connection's time zone once, when it connects (the server's default here differs:
        Etc/UTC); PgBouncer must carry it to each server connection it lends that client afterwards."""
        connection.close()
        connection.ensure_connection()
        seen, holders = [], []
        try:
            for _ in range(3):
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_backend_pid(), current_setting('TimeZone')")
                    seen.append(cursor.fetchone())
                holder = _client()  # keeps the server connection just used, so the next one is another
                holder.execute("BEGIN")
                _pid(holder)
                holders.append(holder)
        finally:
            for holder in holders:
                holder.close()
        assert len({pid for pid, _zone in seen}) == 3
        assert {zone for _pid, zone in seen} == {connection.timezone_name}
