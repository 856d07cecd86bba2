"""The roster import (#15) at 100,000 rows: first import, re-run, peak RSS, beside django-import-export.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/swms_perf_import .venv/bin/python bench/bench_import_roster.py \
        [--rows 100000] [--skip-ie]

DATABASE_URL defaults to swms_perf_import, which is created if missing and migrated. The database's name must
contain "perf" or "scale": its `Qualification` rows are deleted first. One .xlsx file of messy-but-valid rows (a
title row above the header, 2021年 years, lower-case x) is written once; then: ours (first import, re-run) each
in a fresh process for its peak RSS, and django-import-export's `ModelResource` (import_id_fields = certificate
number, bulk mode) reading the same file through tablib, first import. Each run reports wall seconds, its
process's CPU seconds (PostgreSQL's own work is not in them) and peak RSS. Goals (issue #15): ≤ 5 s for the
first import and for the re-run, ≤ 200 MB peak RSS, ≥ 10× django-import-export.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/swms_perf_import"
LEVELS = ["助理社会工作师", "社会工作师", "高级社会工作师"]


def setup():
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")
    import django

    django.setup()


def write_roster(path: Path, rows: int) -> None:
    from openpyxl import Workbook
    from stdnum.cn import ric

    rnd = random.Random(15)
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("合格名单")
    ws.append(["2021年度社会工作者职业水平考试合格人员名单"])
    ws.append(["姓名", "公民身份号码", "证书级别", "证书管理号", "考试年度"])
    for i in range(rows):
        body = f"440104{rnd.randint(1960, 2000)}{rnd.randint(1, 12):02d}{rnd.randint(1, 28):02d}{i % 1000:03d}"
        number = body + ric.calc_check_digit(body + "0")
        ws.append([f"社工{i:06d}", number.lower(), LEVELS[i % 3], f"ZS{2021}{i:07d}", f"{2019 + i % 3}年"])
    wb.save(path)


def peak_rss_mb() -> int:
    """This process's peak RSS (VmHWM). Not ru_maxrss: a spawned child keeps there the RSS its parent had (the
    bench, after writing the workbook, ~260 MB), so a child that stays below it would show the parent's."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ours(path: str) -> dict:
    from registration.roster_import import qualifications_import

    start, cpu = time.perf_counter(), cpu_seconds()
    report = qualifications_import(path=path, province="广东省")
    return {"seconds": round(time.perf_counter() - start, 2), "cpu": round(cpu_seconds() - cpu, 2),
            "created": report.created, "unchanged": report.unchanged, "errors": len(report.errors),
            "rss_mb": peak_rss_mb()}


def import_export(path: str) -> dict:
    import tablib
    from import_export import resources
    from openpyxl import load_workbook

    from registration.models import Qualification

    class QualificationResource(resources.ModelResource):
        class Meta:
            model = Qualification
            import_id_fields = ("certificate_no",)
            fields = ("name", "id_number", "level", "certificate_no", "exam_year", "issuing_province")
            use_bulk = True
            batch_size = 2000
            skip_unchanged = True

    start, cpu = time.perf_counter(), cpu_seconds()
    # tablib reads the first row as the header: give it the template's (English) columns, values as they are,
    # with the level and year already in the model's form (django-import-export has no such cleaning).
    sheet = load_workbook(path, read_only=True).worksheets[0]
    data = tablib.Dataset(headers=["name", "id_number", "level", "certificate_no", "exam_year", "issuing_province"])
    level_of = {"助理社会工作师": "assistant", "社会工作师": "intermediate", "高级社会工作师": "senior"}
    for row in list(sheet.iter_rows(values_only=True))[2:]:
        data.append([row[0], row[1].upper(), level_of[row[2]], row[3], int(str(row[4]).rstrip("年")), "广东省"])
    result = QualificationResource().import_data(data, dry_run=False, raise_errors=False)
    return {"seconds": round(time.perf_counter() - start, 2), "cpu": round(cpu_seconds() - cpu, 2),
            "created": result.totals.get("new", 0),
            "errors": len(result.row_errors()),
            "rss_mb": peak_rss_mb()}


def child(kind: str, path: str) -> None:
    setup()
    print(json.dumps(ours(path) if kind == "ours" else import_export(path)))


def run_child(kind: str, path: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path)], check=True, capture_output=True,
                         text=True, env=os.environ)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--skip-ie", action="store_true", help="leave out django-import-export (about 90 s)")
    ap.add_argument("--child", nargs=2)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return 0
    from bench_import_regions import ensure_database

    ensure_database(os.environ.setdefault("DATABASE_URL", DEFAULT_URL))
    setup()
    from django.core.management import call_command
    from django.db import connection

    from registration.models import Qualification

    name = connection.settings_dict["NAME"]
    if "perf" not in name and "scale" not in name:
        print(f"refusing to delete the qualifications of {name!r}: use a database named *perf* or *scale*")
        return 2
    call_command("migrate", verbosity=0, interactive=False)
    print(f"database: {name}; load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "roster.xlsx"
        start = time.perf_counter()
        write_roster(path, args.rows)
        print(f"wrote {args.rows} rows ({path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - start:.1f} s")
        Qualification.objects.all().delete()
        first = run_child("ours", path)
        again = run_child("ours", path)
        Qualification.objects.all().delete()
        theirs = None if args.skip_ie else run_child("import-export", path)
        Qualification.objects.all().delete()
    print(f"ours, first import:     {first}")
    print(f"ours, re-run:           {again}")
    if theirs:
        print(f"django-import-export:   {theirs}")
        print(f"speed-up on the first import: {theirs['seconds'] / first['seconds']:.1f}x")
    ok = (first["created"] == args.rows and again["unchanged"] == args.rows and first["seconds"] <= 5
          and again["seconds"] <= 5 and max(first["rss_mb"], again["rss_mb"]) <= 200)
    print("PASS" if ok else "FAIL (goals: 5 s, 5 s, 200 MB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
