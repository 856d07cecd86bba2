"""Benchmark: import the whole country's regions (41,909 rows) into PostgreSQL.

Run from the project root:

    .venv/bin/python bench/bench_import_regions.py [--target 5] [--file data/regions/cn-regions-2025.csv]

Uses DATABASE_URL, default postgres://postgres@127.0.0.1:5432/swms_bench (created if missing and
migrated). The region table (and the users pointing at it) is emptied first. It times a fresh
import and then a re-run of the same file (nothing to change) and exits non-zero if either takes
longer than the target.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/swms_bench"


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if it does not exist yet."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        return
    import psycopg
    from psycopg import sql

    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", default=str(ROOT / "data/regions/cn-regions-2025.csv"))
    parser.add_argument("--target", type=float, default=5.0, help="seconds allowed per run (default 5)")
    args = parser.parse_args()

    url = os.environ.setdefault("DATABASE_URL", DEFAULT_URL)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")
    sys.path.insert(0, str(ROOT))
    ensure_database(url)

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from accounts.models import Region, User
    from accounts.regions_import import regions_import

    call_command("migrate", verbosity=0, interactive=False)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}")

    def empty():
        if connection.vendor == "postgresql":
            tables = [User._meta.db_table, Region._meta.db_table]
            with connection.cursor() as cursor:
                cursor.execute(
                    "TRUNCATE {} CASCADE".format(", ".join(connection.ops.quote_name(t) for t in tables))
                )
        else:
            User.objects.exclude(region=None).delete()
            Region._base_manager.all().update(parent=None)
            Region._base_manager.all().delete()

    empty()
    failed = False
    results = []
    for label in ("fresh import", "re-run (no-op)"):
        started = time.perf_counter()
        result = regions_import(path=args.file)
        seconds = time.perf_counter() - started
        ok = seconds <= args.target
        failed |= not ok
        results.append(result)
        print(
            f"{label:16s} {seconds:6.2f} s  (target {args.target:.0f} s)  {'PASS' if ok else 'FAIL'}"
            f"  created={result.created} updated={result.updated} unchanged={result.unchanged}"
            f" renumbered={result.renumbered}"
        )
    count = Region.objects.count()
    print(f"regions in the database: {count}")
    if results[1].created or results[1].updated or results[1].renumbered:
        print("FAIL: the re-run changed rows")
        failed = True
    print("FAIL" if failed else "PASS")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
