"""The review dashboard (审核督办, issue #13) at province scale: p95 ≤ 200 ms for the province.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/swms_perf .venv/bin/python manage.py migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/swms_perf .venv/bin/python bench/bench_review_dashboard.py

Requests the dashboard through Django's test client as the province (广东省), a city (广州市) and a
county (越秀区) official (`off_<region code>` from ../shared/scale/gen.py) — 30 timed requests after 3
warm-ups — and prints p50/p95 and the query count; then the queue page one figure opens (the province's
applications decided this month by offices in 广州市), and its export. `--explain` prints EXPLAIN ANALYZE
of the dashboard's slowest queries.
"""

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/swms_perf")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")

TARGET_P95_MS = 200


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    import django
    from timing import time_get

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from accounts.models import Region, User

    settings.ALLOWED_HOSTS = ["*"]
    # ../shared/scale/gen.py COPYs review-log rows without the submission each decision acted on.
    from swms.models import fill_review_log_submissions

    filled = fill_review_log_submissions(connection)
    if filled:
        print(f"filled the submission time of {filled} reviewers' log rows")
    dashboard = reverse("reports:review-dashboard")
    guangzhou = Region.objects.get(code="440100000000")
    pages = [
        ("province 广东省", "review dashboard", "off_440000000000", dashboard),
        ("city 广州市", "review dashboard", "off_440100000000", dashboard),
        ("county 越秀区", "review dashboard", "off_440104000000", dashboard),
        ("province 广东省", "applications decided this month in 广州市", "off_440000000000",
         reverse("registration:review-queue") + f"?scope=all&decided=month&offices={guangzhou.pk}"),
        ("province 广东省", "applications waiting in 广州市", "off_440000000000",
         reverse("registration:review-queue") + f"?scope=all&offices={guangzhou.pk}"),
    ]

    failures = 0
    print(f"{'role':<16}{'page':<44}{'p50 ms':>8}{'p95 ms':>8}{'queries':>9}")
    for label, name, username, url in pages:
        client = Client()
        client.force_login(User.objects.get(username=username))
        p50, p95, queries = time_get(client, url, args.requests)
        verdict = "" if p95 <= TARGET_P95_MS else "  over target"
        failures += bool(verdict) and url == dashboard and "province" in label
        print(f"{label:<16}{name:<44}{p50:8.1f}{p95:8.1f}{len(queries):9d}{verdict}")
        if args.explain and url == dashboard:
            slow = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
            for q in slow:
                print(f"  {q['time']} s  {q['sql'][:160]}")
                with connection.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + q["sql"])
                    for (line,) in cursor.fetchall():
                        print("    " + line)
    print(f"target p95 ≤ {TARGET_P95_MS} ms for the province: {'met' if not failures else 'not met'}")


if __name__ == "__main__":
    main()
