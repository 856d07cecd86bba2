"""The statistics page and the official workbench at province scale (issue #12: p95 ≤ 200 ms).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/swms_perf SWMS_ROOT=. \
        .venv/bin/python ../shared/scale/gen.py          # 150k workers, 2k stations, 1M clients, 6M links
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/swms_perf .venv/bin/python bench/bench_statistics.py

Rebuilds the aggregates from the generated records (timed: the nightly job's cost), then requests each
page through Django's test client as the province (广东省), a city (广州市) and a county (越秀区)
official — 30 timed requests after 3 warm-ups — and prints p50/p95 and the query count. The generated
officials are `off_<region code>` (see gen.py).
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/swms_perf")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")

TARGET_P95_MS = 200


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--no-rebuild", action="store_true", help="use the aggregates as they are")
    args = parser.parse_args()

    import django
    from timing import time_get

    django.setup()
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Region, User
    from reports.aggregates import rebuild

    settings.ALLOWED_HOSTS = ["*"]
    if not args.no_rebuild:
        started = time.perf_counter()
        rows = rebuild()
        print(f"rebuild of the aggregates: {rows} rows in {time.perf_counter() - started:.1f} s")

    pages = []
    for code, label in (("440000000000", "province 广东省"), ("440100000000", "city 广州市"),
                        ("440104000000", "county 越秀区")):
        region = Region.objects.get(code=code)
        official = User.objects.get(username=f"off_{code}")
        pages += [
            (label, "workbench", official, reverse("reports:workbench")),
            (label, "statistics (this year)", official, reverse("reports:statistics")),
            (label, "statistics (a month)", official,
             reverse("reports:statistics") + "?period=month&month=" + time.strftime("%Y-%m")),
        ]
        child = region.get_children().order_by("code").first()
        if child is not None:
            pages.append((label, f"statistics of {child.name}", official,
                          reverse("reports:statistics-region", args=[child.pk])))

    failures = 0
    print(f"{'role':<16}{'page':<34}{'p50 ms':>8}{'p95 ms':>8}{'queries':>9}")
    for label, name, user, url in pages:
        client = Client()
        client.force_login(user)
        p50, p95, queries = time_get(client, url, args.requests)
        verdict = "" if p95 <= TARGET_P95_MS else "  over target"
        failures += bool(verdict)
        print(f"{label:<16}{name:<34}{p50:8.1f}{p95:8.1f}{len(queries):9d}{verdict}")
    print(f"target p95 ≤ {TARGET_P95_MS} ms: {'met' if not failures else f'{failures} page(s) over'}")


if __name__ == "__main__":
    main()
