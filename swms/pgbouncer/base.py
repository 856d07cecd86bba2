"""The PostgreSQL backend for a DATABASE_URL that goes through PgBouncer in transaction pooling mode
(DATABASE_PGBOUNCER=1; settings.py swaps it in for Django's postgresql engine).

PgBouncer lends a server connection to a client for one transaction, then to another client. Whatever a
session keeps beyond its transaction is therefore lost or, worse, seen by someone else. SWMS keeps none:

- Server-side cursors. Django's ``QuerySet.iterator()`` declares a cursor; outside a transaction it is
  ``WITH HOLD``, kept on the server after the statement's transaction ends and fetched from later, possibly
  through another server connection ("cursor does not exist"). This backend declares one only inside a
  transaction (``WITHOUT HOLD``, closed with it, legal in transaction mode); outside one, ``iterator()``
  reads the result through an ordinary cursor (the whole result is sent at once, turned into rows a chunk
  at a time). The large readers (list exports, export jobs, the exchange package) iterate inside a
  transaction, so they keep streaming (swms/exports.py, exchange/services.py).
  ``DISABLE_SERVER_SIDE_CURSORS`` stays False: it would make those large readers hold whole results too.
- Prepared statements: Django's psycopg 3 connections are opened with ``prepare_threshold=None`` (never
  prepare); refused here if the settings turn them on.
- Session state: no ``SET`` outside a transaction (``SET TRANSACTION`` / ``set_config(..., true)`` only),
  advisory locks are the transaction-level ``pg_advisory_xact_lock``, temporary tables ``ON COMMIT DROP``,
  no ``LISTEN``. The time zone Django sets on a new connection is one of the parameters PgBouncer itself
  tracks per client and restores on every server connection it lends.
"""

from django.core.exceptions import ImproperlyConfigured
from django.db.backends.postgresql import base, creation


class DatabaseCreation(creation.DatabaseCreation):
    def _destroy_test_db(self, test_database_name, verbosity):
        # PgBouncer keeps idle server connections to the test database in its pool; FORCE (PostgreSQL 13+)
        # ends them, where a plain DROP DATABASE would find the database "being accessed by other users".
        self.connection.close_pool()
        with self._nodb_cursor() as cursor:
            name = self.connection.ops.quote_name(test_database_name)
            cursor.execute(f"DROP DATABASE {name} WITH (FORCE)")  # noqa: S608 - a quoted identifier


class DatabaseWrapper(base.DatabaseWrapper):
    creation_class = DatabaseCreation

    def get_connection_params(self):
        params = super().get_connection_params()
        if params.get("prepare_threshold") is not None:
            raise ImproperlyConfigured("Prepared statements do not survive PgBouncer's transaction pooling: "
                                       "leave OPTIONS['prepare_threshold'] unset with DATABASE_PGBOUNCER.")
        return params

    def chunked_cursor(self):
        """A server-side cursor inside a transaction; an ordinary one in autocommit (no WITH HOLD cursor)."""
        if self.get_autocommit():
            return self._cursor()
        return super().chunked_cursor()
