"""Whole-province exports: rows/s and peak RSS of our export engine against django-import-export.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/swms_perf .venv/bin/python bench/bench_exports.py \
        [--user off_440000] [--lists clients,activities] [--formats xlsx,csv] [--ie-limit 200000]

Each measurement runs in a child process of its own (a fresh interpreter, Django set up, nothing
cached) that builds the list's export table for the province official exactly as the background job
does (the builder with a fake request, then swms.exports.write_xlsx / write_csv into a temporary
file) and reports its rows, seconds and peak RSS (VmHWM from /proc, i.e. the child's own high-water
mark; the parent also prints getrusage(RUSAGE_CHILDREN).ru_maxrss, the largest child so far).

django-import-export (a dev-only dependency) exports the same queryset with the same columns
(ModelResource + dehydrate, masked ID and phone) through tablib; it holds the whole dataset in memory,
so it runs on the first --ie-limit rows (0 = all). Targets: ≥ 20,000 rows/s and ≤ 150 MB peak RSS for
the whole province. Exits non-zero when a target of ours is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_ROWS_PER_S = 20_000
TARGET_RSS_MB = 150


def _setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")
    import django

    django.setup()
    from django.utils import translation

    translation.activate("zh-hans")


def _peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _official(username):
    from accounts.models import User

    # The generator names officials by their 12-digit region code (off_440000000000).
    return User.objects.filter(username__in=[username, username.ljust(16, "0")]).get()


def _request(user):
    from django.http import QueryDict

    class FakeRequest:
        GET = QueryDict("")

    request = FakeRequest()
    request.user = user
    return request


def _builder(name):
    from services.views_activities import activity_table
    from services.views_clients import client_table

    return {"clients": client_table, "activities": activity_table}[name]


def _ie_resource(name):
    """django-import-export resources with the same columns as our builders."""
    from django.utils import timezone
    from import_export import fields, resources

    from services.models import Activity, Client, PersonType
    from swms.domains import ServiceDomain
    from swms.pii import mask_id_number, mask_phone

    today = timezone.localdate()

    if name == "clients":
        types = dict(PersonType.choices)

        class ClientResource(resources.ModelResource):
            gender = fields.Field(attribute="get_gender_display", column_name="gender")
            age = fields.Field(column_name="age")
            id_number = fields.Field(column_name="ID number")
            person_types = fields.Field(column_name="person types")
            phone = fields.Field(column_name="phone")
            filed = fields.Field(column_name="filed")
            source = fields.Field(attribute="get_source_display", column_name="how added")
            station_name = fields.Field(attribute="station__name", column_name="station name")
            station_code = fields.Field(attribute="station__code", column_name="station code")
            region = fields.Field(attribute="station__region__name", column_name="region")
            created_at = fields.Field(attribute="created_at", column_name="created at")

            class Meta:
                model = Client
                fields = ("name", "gender", "age", "id_number", "person_types", "phone", "filed", "source",
                          "station_name", "station_code", "region", "created_at")
                chunk_size = 2000

            def dehydrate_age(self, c):
                return c.age_on(today)

            def dehydrate_id_number(self, c):
                return mask_id_number(c.id_number)

            def dehydrate_person_types(self, c):
                return "、".join(str(types[t]) for t in c.person_types if t in types)

            def dehydrate_phone(self, c):
                return mask_phone(c.phone)

            def dehydrate_filed(self, c):
                return "是" if c.filed else "否"

        return ClientResource()

    domains = dict(ServiceDomain.choices)

    class ActivityResource(resources.ModelResource):
        category = fields.Field(attribute="get_category_display", column_name="category")
        status = fields.Field(attribute="get_status_display", column_name="status")
        station_name = fields.Field(attribute="station__name", column_name="station")
        station_code = fields.Field(attribute="station__code", column_name="station code")
        region = fields.Field(attribute="station__region__name", column_name="region")
        lead = fields.Field(attribute="lead_worker__name", column_name="responsible worker")
        domains = fields.Field(column_name="service domains")
        client_count = fields.Field(attribute="client_count", column_name="clients served")
        worker_count = fields.Field(attribute="worker_count", column_name="workers taking part")

        class Meta:
            model = Activity
            fields = ("code", "category", "name", "status", "station_name", "station_code", "region", "lead",
                      "contact_phone", "domains", "started_at", "ended_at", "location", "client_count",
                      "worker_count", "volunteer_count")
            chunk_size = 2000

        def dehydrate_domains(self, a):
            return "、".join(str(domains.get(d, d)) for d in a.service_domains)

    return ActivityResource()


def child(list_name: str, fmt: str, engine: str, limit: int) -> dict:
    _setup()
    from swms.exports import write_csv, write_xlsx

    user = _official(os.environ.get("BENCH_USER", "off_440000"))
    table = _builder(list_name)(_request(user))
    start = time.perf_counter()
    with tempfile.TemporaryFile() as handle:
        if engine == "ours":
            rows = table.rows
            if limit:
                import itertools

                rows = itertools.islice(rows, limit)
            if fmt == "csv":
                n = write_csv(handle, table.headers, rows)
            else:
                n = write_xlsx(handle, table.headers, rows, table.sheet_title)
        else:
            # The same scoped, filtered, ordered queryset the builder uses.
            if list_name == "clients":
                from services.views_clients import _official_rows

                qs = _official_rows(_request(user))[0]
            else:
                from services.views_activities import _official_rows

                qs = _official_rows(_request(user))[0]
            if limit:
                qs = qs[:limit]
            dataset = _ie_resource(list_name).export(queryset=qs)
            n = len(dataset)
            handle.write(dataset.export(fmt) if fmt == "xlsx" else dataset.export(fmt).encode("utf-8-sig"))
        size = handle.tell()
    seconds = time.perf_counter() - start
    return {"list": list_name, "format": fmt, "engine": engine, "rows": n, "seconds": round(seconds, 1),
            "rows_per_s": round(n / seconds), "peak_rss_mb": round(_peak_rss_mb()), "size_mb": round(size / 2**20, 1)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--user", default="off_440000")
    parser.add_argument("--lists", default="clients,activities")
    parser.add_argument("--formats", default="xlsx,csv")
    parser.add_argument("--ie-limit", type=int, default=200_000, help="rows for django-import-export (0 = all)")
    parser.add_argument("--skip-ie", action="store_true", help="only our whole-province runs")
    parser.add_argument("--skip-full", action="store_true", help="only the side-by-side runs at --ie-limit")
    parser.add_argument("--child", nargs=4, metavar=("LIST", "FORMAT", "ENGINE", "LIMIT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        list_name, fmt, engine, limit = args.child
        print(json.dumps(child(list_name, fmt, engine, int(limit))))
        return 0

    runs = []
    for list_name in args.lists.split(","):
        for fmt in args.formats.split(","):
            if not args.skip_full:
                runs.append((list_name, fmt, "ours", 0))
            if not args.skip_ie:
                runs.append((list_name, fmt, "ours", args.ie_limit))
                runs.append((list_name, fmt, "import-export", args.ie_limit))
    failed = False
    print(f"{'list':<11}{'format':<7}{'engine':<15}{'rows':>10}{'s':>8}{'rows/s':>9}{'peak RSS MB':>13}{'file MB':>9}")
    for list_name, fmt, engine, limit in runs:
        out = subprocess.run([sys.executable, __file__, "--child", list_name, fmt, engine, str(limit)],
                             cwd=ROOT, env={**os.environ, "BENCH_USER": args.user}, capture_output=True, text=True)
        if out.returncode:
            print(out.stderr[-2000:], file=sys.stderr)
            failed = True
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        verdict = ""
        if engine == "ours" and not limit:
            ok = r["rows_per_s"] >= TARGET_ROWS_PER_S and r["peak_rss_mb"] <= TARGET_RSS_MB
            failed |= not ok
            verdict = "  PASS" if ok else "  FAIL"
        print(f"{r['list']:<11}{r['format']:<7}{r['engine']:<15}{r['rows']:>10,}{r['seconds']:>8}{r['rows_per_s']:>9,}"
              f"{r['peak_rss_mb']:>13}{r['size_mb']:>9}{verdict}", flush=True)
        runs_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"largest child so far (RUSAGE_CHILDREN ru_maxrss): {runs_children:.0f} MB")
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
