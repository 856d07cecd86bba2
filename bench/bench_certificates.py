"""Certificate rendering benchmark.

    .venv/bin/python bench/bench_certificates.py [--n 50]

Median time to issue one certificate through `certificate_issue` (template + QR + WeasyPrint +
storage + database) against a bare WeasyPrint render of the same HTML and stylesheet with WeasyPrint's
defaults (stylesheet parsed and fonts configured per document); goal ≤ 1.1×. Uses the
PostgreSQL database `swms_bench` (DATABASE_URL overrides), creating what it needs.
WeasyPrint needs Debian's libharfbuzz-subset0: without it one certificate takes ~1.3 s, not ~0.1 s.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/swms_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")
os.environ.setdefault("SWMS_PRIVATE_MEDIA_ROOT", tempfile.mkdtemp(prefix="swms-bench-"))


def ensure_database():
    import psycopg
    from django.conf import settings

    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                         dbname="postgres", autocommit=True) as conn:
        if not conn.execute("select 1 from pg_database where datname = %s", (db["NAME"],)).fetchone():
            conn.execute(f'create database "{db["NAME"]}"')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=50)
    args = parser.parse_args()

    import django

    django.setup()
    ensure_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import weasyprint

    from accounts.models import Region, User
    from registration.certificates import PDF_STYLESHEETS, certificate_issue, render_certificate_html
    from registration.models import Certificate, Qualification, Registration, SocialWorker
    from tests.factories import RegistrationFactory, SocialWorkerFactory

    if not Region.objects.filter(code="440104001000").exists():
        call_command("import_regions", str(ROOT / "data/regions/guangdong-2025.csv"), verbosity=0)
    town = Region.objects.get(code="440104001000")
    Certificate.objects.all().delete()
    Registration.objects.all().delete()
    SocialWorker.objects.all().delete()
    Qualification.objects.all().delete()
    User.objects.filter(kind="social_worker").delete()

    registrations = []
    for _ in range(args.n):
        worker = SocialWorkerFactory(work_region=town)
        registrations.append(RegistrationFactory(worker=worker))

    issue_times, bare_times = [], []
    for registration in registrations:
        started = time.perf_counter()
        certificate = certificate_issue(registration_id=registration.pk)
        issue_times.append(time.perf_counter() - started)
        html = render_certificate_html(certificate)
        started = time.perf_counter()
        # The same HTML and stylesheet with WeasyPrint's defaults: parsed and font-configured afresh.
        weasyprint.HTML(string=html, base_url=str(ROOT)).write_pdf(
            stylesheets=[weasyprint.CSS(filename=str(PDF_STYLESHEETS / "certificate.css"))]
        )
        bare_times.append(time.perf_counter() - started)

    issue, bare = statistics.median(issue_times), statistics.median(bare_times)
    ratio = issue / bare
    verdict = "PASS" if ratio <= 1.1 else "FAIL"
    print(f"certificates: {args.n}")
    print(f"median issue (render + QR + store + DB): {issue * 1000:.1f} ms")
    print(f"median bare WeasyPrint render:          {bare * 1000:.1f} ms")
    print(f"ratio {ratio:.2f} (goal <= 1.10)  {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
