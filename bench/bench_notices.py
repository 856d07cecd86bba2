"""A province-wide notice to 150,000 social workers.

    .venv/bin/python bench/bench_notices.py [--workers 150000]

Creates the Guangdong regions and N social workers spread over its towns in the PostgreSQL database
`swms_bench` (DATABASE_URL overrides; when the worker count differs, every account and what hangs on
accounts there is TRUNCATEd first — never point it at data you keep), then times:
publishing a notice of 广东省 to every social worker (audience count included), the sender's read
rate page data (count of reads, first page of the unread), a worker's receive list and unread count,
and a reminder's first batch. Targets: each step under 1 s; publishing writes no per-recipient rows.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/swms_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")


def timed(label, fn, target=1.0, repeat=3):
    times = []
    result = None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    best = statistics.median(times)
    verdict = "PASS" if best <= target else "FAIL"
    print(f"{label:<48}{best * 1000:8.1f} ms  (target {target * 1000:.0f} ms)  {verdict}")
    return result, verdict == "PASS"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=150_000)
    args = parser.parse_args()

    import django

    django.setup()
    from bench_certificates import ensure_database

    ensure_database()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from accounts.models import Region, User
    from notices import notice_services
    from notices.audience import audience_users, notices_for
    from notices.models import Message, Notice, NoticeRead
    from registration.models import SocialWorker

    if not Region.objects.filter(code="440000000000").exists():
        call_command("import_regions", str(ROOT / "data/regions/guangdong-2025.csv"), verbosity=0)
    province = Region.objects.get(code="440000000000")
    towns = list(Region.objects.filter(tree_id=province.tree_id, level="town").values_list("pk", flat=True))

    if SocialWorker.objects.count() != args.workers:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            # Every account and what hangs on accounts (workers, registrations, notices, messages).
            cursor.execute("TRUNCATE accounts_user CASCADE")
            cursor.execute("TRUNCATE registration_historicalsocialworker")
        batch = 5000
        for start in range(0, args.workers, batch):
            users = User.objects.bulk_create([
                User(username=f"bench{n:07d}", kind="social_worker", password="!", full_name=f"社工{n}")
                for n in range(start, min(start + batch, args.workers))
            ])
            SocialWorker.objects.bulk_create([
                SocialWorker(user=u, name=u.full_name, id_number=f"B{u.pk:017d}", work_region_id=towns[i % len(towns)])
                for i, u in enumerate(users, start)
            ])
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        print(f"set-up: {args.workers} social workers over {len(towns)} towns in {time.perf_counter() - started:.1f} s")
    Notice.objects.all().delete()
    Message.objects.all().delete()

    official, _ = User.objects.get_or_create(username="bench_province", defaults={"kind": "official",
                                                                                    "region": province})
    ok = True
    rows_before = Message.objects.count()

    def publish():
        notice = notice_services.notice_save(actor=official, notice=None, regions=[], data=dict(
            title="关于开展全省社会工作者继续教育的通知", category="ce", content="各位社会工作者：请按时完成学时。",
            to_workers=True))
        return notice_services.notice_publish(actor=official, notice=notice)

    notice, passed = timed("publish to the province's social workers", publish)
    ok &= passed
    print(f"  audience: {notice.audience_count} (want {args.workers}); rows written per recipient: "
          f"{Message.objects.count() - rows_before + NoticeRead.objects.count()}")
    ok &= notice.audience_count == args.workers

    # A third of them read it.
    reader_ids = list(audience_users(notice).order_by("pk").values_list("pk", flat=True)[: args.workers // 3])
    NoticeRead.objects.bulk_create([NoticeRead(notice=notice, user_id=pk) for pk in reader_ids], batch_size=10000)

    _, passed = timed("sender: read count", lambda: NoticeRead.objects.filter(notice=notice).count())
    ok &= passed
    _, passed = timed("sender: first page of the unread", lambda: list(
        audience_users(notice).exclude(pk__in=NoticeRead.objects.filter(notice=notice).values("user_id"))
        .order_by("pk")[:50]))
    ok &= passed
    worker = User.objects.filter(kind="social_worker").order_by("-pk").first()
    _, passed = timed("worker: receive list (first page)", lambda: list(notices_for(worker).order_by("-published_at")[:20]))
    ok &= passed
    _, passed = timed("worker: unread count (every page's top bar)", lambda: notice_services.unread_notice_count(worker))
    ok &= passed
    _, passed = timed("reminder: next batch of 500 unread ids", lambda: list(
        audience_users(notice).exclude(pk__in=NoticeRead.objects.filter(notice=notice).values("user_id"))
        .filter(pk__gt=0).order_by("pk").values_list("pk", flat=True)[:500]))
    ok &= passed
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
