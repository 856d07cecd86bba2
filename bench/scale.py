"""The project's province-scale harness (issue #14): generate a province- or country-size database, time
every list page against the Django admin and its own SQL, and load gunicorn with mixed GETs.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/swms_scale .venv/bin/python bench/scale.py generate --scale province
    DATABASE_URL=... .venv/bin/python bench/scale.py pages --out results.json [--pages registry,activities] [--roles province,station]
    DATABASE_URL=... .venv/bin/python bench/scale.py load --users 10 --seconds 20
    DATABASE_URL=... .venv/bin/python bench/scale.py weight [--out weight.json] [--roles anonymous,official]
    .venv/bin/python bench/scale.py report [--pages var/bench/pages.json --load ... --weight ...] [--print]

`make bench-scale` runs generate (province), pages, load, weight and report in turn.

Started from the reference harness in ../shared/scale/ (gen.py, bench_pages.py, bench_load.py); see
bench/README.md, "Province-scale harness — bench/scale.py". Helpers live in bench/scalelib/.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/swms_scale")
# The harness signs its users in directly (force_login); the second factor would send every page to 2FA.
os.environ.setdefault("SWMS_MFA_REQUIRED", "0")


def create_database(url: str) -> None:
    """Create the target database when it does not exist yet (a fresh machine)."""
    import psycopg
    from psycopg import sql

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            print(f"created database {name}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    from scalelib import generate, load, pages, report, weight

    generate.add_arguments(
        sub.add_parser("generate", help="TRUNCATE + COPY a province/national-size dataset")
    )
    pages.add_arguments(sub.add_parser("pages", help="time every list/queue/statistics/workbench page"))
    load.add_arguments(sub.add_parser("load", help="gunicorn + mixed authenticated GETs"))
    weight.add_arguments(
        sub.add_parser("weight", help="bytes a browser transfers per page, cold cache and later, production settings")
    )
    report.add_arguments(sub.add_parser("report", help="write bench/README.md's tables from the JSON results"))
    args = ap.parse_args(argv)
    if args.command == "report":
        return report.run(args)
    if args.command == "generate":
        create_database(os.environ["DATABASE_URL"])
    # The page benchmark registers plain admin changelists of the same models (scalelib.settings).
    os.environ["DJANGO_SETTINGS_MODULE"] = "scalelib.settings" if args.command == "pages" else "swms.settings"
    import django

    django.setup()
    {"generate": generate.run, "pages": pages.run, "load": load.run, "weight": weight.run}[args.command](args)


if __name__ == "__main__":
    main()
