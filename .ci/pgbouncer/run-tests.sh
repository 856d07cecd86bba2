#!/usr/bin/env bash
# CI step "tests through PgBouncer (transaction mode)": starts a private PgBouncer on a free loopback port in
# front of the local PostgreSQL (transaction pooling, as in production), then runs through it, with
# DATABASE_PGBOUNCER=1, the tests marked `pgbouncer` and the test files below (transactions, row and
# advisory locks, select_for_update, exports through iterators, imports by COPY, real Celery workers).
# PgBouncer is stopped on exit. Extra arguments go to pytest.
#
#   .ci/pgbouncer/run-tests.sh                    (make test-pgbouncer)
#   PGBOUNCER_TEST_DB=swms_mine .ci/pgbouncer/run-tests.sh -x
#   PGBOUNCER_FILES=tests/test_pgbouncer.py .ci/pgbouncer/run-tests.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

PGBOUNCER_BIN=${PGBOUNCER_BIN:-/usr/sbin/pgbouncer}
TARGET_HOST=${PGBOUNCER_TARGET_HOST:-127.0.0.1}
TARGET_PORT=${PGBOUNCER_TARGET_PORT:-5432}
# The database name the test run derives its test database from (pytest-django: test_<name>).
TEST_DB=${PGBOUNCER_TEST_DB:-swms_pgbouncer}
PYTHON=${PYTHON:-.venv/bin/python}

# Files run whole; besides them, every test marked `pgbouncer` anywhere under tests/.
FILES=(
  tests/test_workflow_concurrency.py   # two real transactions racing for the same review (select_for_update)
  tests/test_audit_integrity.py        # the hash chain's writers serialized by pg_advisory_xact_lock
  tests/test_export_engine.py          # export jobs: iterator() rows, progress writes, thread and worker runners
  tests/test_list_exports.py           # every list's export through QuerySet.iterator()
  tests/test_roster_import.py          # roster import: COPY, advisory lock, batches
  tests/test_exchange.py               # REPEATABLE READ snapshot, temporary table ON COMMIT DROP, COPY
  tests/test_celery_worker.py          # real worker subprocesses, also through PgBouncer
  tests/test_import_centre.py          # import jobs: upload, check, confirm, COPY, progress
  tests/test_registration_flow.py      # the review workflow's row locks and state changes, end to end
)
MARKED=$(grep -l -E "mark\.pgbouncer" tests/test_*.py || true)
if [ -n "${PGBOUNCER_FILES:-}" ]; then  # only these files, whole (e.g. PGBOUNCER_FILES=tests/test_pgbouncer.py)
  read -ra FILES <<<"$PGBOUNCER_FILES"
  MARKED=""
fi

dir=$(mktemp -d /tmp/swms-pgbouncer.XXXXXX)
port=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" -e "s|@PGHOST@|$TARGET_HOST|g" -e "s|@PGPORT@|$TARGET_PORT|g" \
  .ci/pgbouncer/pgbouncer.ini.in >"$dir/pgbouncer.ini"
printf '"postgres" ""\n' >"$dir/userlist.txt"
run_as=()
if [ "$(id -u)" = 0 ]; then  # PgBouncer refuses to run as root
  chown -R postgres "$dir"
  run_as=(-u postgres)
fi

"$PGBOUNCER_BIN" "${run_as[@]}" "$dir/pgbouncer.ini" >"$dir/pgbouncer.out" 2>&1 &
pgbouncer_pid=$!
cleanup() {
  kill "$pgbouncer_pid" 2>/dev/null || true
  wait "$pgbouncer_pid" 2>/dev/null || true
  if [ "${status:-1}" != 0 ] && [ -f "$dir/pgbouncer.log" ]; then tail -n 30 "$dir/pgbouncer.log"; fi
  rm -rf "$dir"
}
trap cleanup EXIT

admin_url="postgres://postgres@127.0.0.1:$port/pgbouncer"
for _ in $(seq 1 50); do
  psql "$admin_url" -Atqc "SHOW VERSION" >/dev/null 2>&1 && break
  kill -0 "$pgbouncer_pid" 2>/dev/null || { echo "pgbouncer did not start"; cat "$dir/pgbouncer.out" || true; exit 1; }
  sleep 0.2
done
echo "pgbouncer $(psql "$admin_url" -Atqc "SHOW VERSION") on 127.0.0.1:$port (pool_mode=$(psql "$admin_url" -Atqc "SHOW CONFIG" | awk -F'|' '$1 == "pool_mode" {print $2}')) -> $TARGET_HOST:$TARGET_PORT"

status=0
DATABASE_URL="postgres://postgres@127.0.0.1:$port/$TEST_DB" DATABASE_PGBOUNCER=1 PGBOUNCER_ADMIN_URL="$admin_url" \
  PGBOUNCER_TEST_FILES="${FILES[*]}" \
  DJANGO_SETTINGS_MODULE=swms.settings_test DJANGO_ALLOW_ASYNC_UNSAFE=true PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" \
  timeout "${PGBOUNCER_TEST_TIMEOUT:-1200}" .venv/bin/pytest -q -p no:cacheprovider -p tests.pgbouncer_plugin \
  "${FILES[@]}" $MARKED "$@" || status=$?
exit $status
