"""Exports of the officials' lists (#13) at province scale: rows, queries and seconds of each builder written to
an .xlsx file as the background job writes it (builder with a fake request, then swms.exports.write_xlsx).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/swms_perf .venv/bin/python bench/bench_list_exports.py

Read-only. The queries of an export must not grow with its rows (a handful per list, whatever the size).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_QUERIES = 6


def main() -> int:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test import RequestFactory
    from django.test.utils import CaptureQueriesContext
    from django.utils import translation

    from accounts.models import User
    from accounts.views import official_table
    from notices.audience import sent_by_office
    from notices.views_notices import notice_receipts_table, sent_table
    from registration.views_registry import certificate_table
    from registration.views_review import window_table
    from services.views_summaries import summary_completeness_table
    from stations.views import worker_overview_table
    from swms.exports import write_xlsx

    translation.activate("zh-hans")
    factory = RequestFactory()
    failed = False

    def run(label, builder, username, params):
        nonlocal failed
        user = User.objects.select_related("region").get(username=username)
        request = factory.get("/", params)
        request.user = user
        start = time.perf_counter()
        with CaptureQueriesContext(connection) as queries, tempfile.TemporaryFile() as handle:
            table = builder(request)
            rows = write_xlsx(handle, table.headers, table.rows, table.sheet_title)
        seconds = time.perf_counter() - start
        ok = len(queries.captured_queries) <= MAX_QUERIES and rows == table.total
        failed |= not ok
        print(f"{label:34s} {username:17s} rows={rows:7d} queries={len(queries.captured_queries):2d} "
              f"{seconds:6.2f} s  {'PASS' if ok else 'FAIL'}")

    province, city, county = "off_440000000000", "off_440100000000", "off_440104000000"
    run("certificates issued", certificate_table, province, {})
    run("station workers, incl. those left", worker_overview_table, province, {"status": "all"})
    run("station workers", worker_overview_table, city, {})
    run("summary completeness", summary_completeness_table, province, {})
    run("officials", official_table, province, {})
    run("sent notices", sent_table, province, {})
    run("registration windows", window_table, county, {})
    notice = (sent_by_office(User.objects.get(username=province)).filter(status="published")
              .order_by("-audience_count").first())
    if notice is not None:
        run("receipts: read", notice_receipts_table, province, {"notice": str(notice.pk), "show": "read"})
        run("receipts: not read yet", notice_receipts_table, province, {"notice": str(notice.pk)})
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
