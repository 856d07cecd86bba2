"""Time a province-wide spot-check draw at province scale (swms_perf): all cities, 5 % per city.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/swms_perf .venv/bin/python bench/bench_spotchecks.py

The draw is rolled back (the database is read-only for data)."""

import os
import sys
import time

import django

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")
django.setup()

import datetime  # noqa: E402

from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from accounts.models import User  # noqa: E402
from spotchecks import services  # noqa: E402
from spotchecks.models import SampleMode  # noqa: E402


class Rollback(Exception):
    pass


def main():
    official = User.objects.get(username="off_440000000000")
    province = official.region
    for mode, amount in ((SampleMode.PERCENT, 5), (SampleMode.COUNT, 20)):
        for _run in range(3):
            try:
                with transaction.atomic(), CaptureQueriesContext(connection) as queries:
                    start = time.perf_counter()
                    batch = services.batch_draw(actor=official, province=province,
                                                approved_from=datetime.date(2000, 1, 1),
                                                approved_to=datetime.date(2030, 12, 31), cities=None, mode=mode,
                                                amount=amount, seed="bench")
                    elapsed = time.perf_counter() - start
                    items = batch.items.count()
                    print(f"{mode} {amount}: {batch.candidate_count} candidates, {items} items, "
                          f"{elapsed * 1000:.0f} ms, {len(queries)} queries")
                    raise Rollback
            except Rollback:
                pass


if __name__ == "__main__":
    main()
