"""pytest plugin of the CI step "tests through PgBouncer" (.ci/pgbouncer/run-tests.sh loads it with -p): of
the files it is given, it keeps the tests marked `pgbouncer` and every test of the files named in
PGBOUNCER_TEST_FILES (run whole); the other tests of files given only for their marked tests are deselected."""

import os
from pathlib import Path


def pytest_collection_modifyitems(config, items):
    whole = {Path(name).resolve() for name in os.environ.get("PGBOUNCER_TEST_FILES", "").split()}
    keep, drop = [], []
    for item in items:
        wanted = item.get_closest_marker("pgbouncer") is not None or Path(item.path).resolve() in whole
        (keep if wanted else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
