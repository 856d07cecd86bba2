"""1,000 certificates through a real Celery worker.

    .venv/bin/python bench/bench_certificates_worker.py [--n 1000] [--concurrency 2]

Creates N registrations in the PostgreSQL database `swms_bench` (DATABASE_URL overrides; it is
emptied of workers, registrations and certificates first), starts `celery worker` (prefork, one
process per core by default) against Redis (CELERY_BROKER_URL, default redis://127.0.0.1:6379/14),
queues `issue_certificate` for every registration and waits until every one has its certificate.
Then it queues all N again and checks that no second certificate appears (the task is idempotent).
Prints the wall time, certificates per second and per core, and exits non-zero if any certificate is
missing, duplicated or unreadable.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/swms_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")
os.environ.setdefault("SWMS_PRIVATE_MEDIA_ROOT", tempfile.mkdtemp(prefix="swms-bench-"))
BROKER = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")


def wait_for(predicate, timeout, poll=0.5):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--timeout", type=int, default=1800, help="seconds to wait for the worker")
    args = parser.parse_args()

    import django

    django.setup()
    from bench_certificates import ensure_database
    from django.conf import settings
    from django.contrib.auth import hashers

    ensure_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    # The fixture accounts never log in: a fast hasher keeps set-up to seconds, not minutes.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    hashers.get_hashers.cache_clear()
    hashers.get_hashers_by_algorithm.cache_clear()

    from celery import Celery

    from accounts.models import Region, User
    from registration.models import Certificate, Qualification, Registration, SocialWorker
    from registration.tasks import issue_certificate
    from tests.factories import RegistrationFactory, SocialWorkerFactory

    if not Region.objects.filter(code="440104001000").exists():
        call_command("import_regions", str(ROOT / "data/regions/guangdong-2025.csv"), verbosity=0)
    town = Region.objects.get(code="440104001000")
    Certificate.objects.all().delete()
    Registration.objects.all().delete()
    SocialWorker.objects.all().delete()
    Qualification.objects.all().delete()
    User.objects.filter(kind="social_worker").delete()

    started = time.perf_counter()
    ids = [RegistrationFactory(worker=SocialWorkerFactory(work_region=town)).pk for _ in range(args.n)]
    print(f"set-up: {args.n} registrations in {time.perf_counter() - started:.1f} s")

    queue = f"bench-{os.getpid()}"
    env = {**os.environ, "CELERY_BROKER_URL": BROKER, "CELERY_RESULT_BACKEND": "", "SWMS_CELERY_EAGER": "0"}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "swms", "worker", "--pool", "prefork",
         "--concurrency", str(args.concurrency), "-Q", queue, "--without-heartbeat", "--without-gossip",
         "--without-mingle", "--loglevel", "WARNING"],
        cwd=ROOT, env=env,
    )
    sender = Celery("swms-bench-client", broker=BROKER)
    ok = True
    try:
        started = time.perf_counter()
        for pk in ids:
            sender.send_task(issue_certificate.name, args=(pk,), queue=queue)
        queued = time.perf_counter() - started
        done = wait_for(lambda: Certificate.objects.filter(registration_id__in=ids).count() >= args.n, args.timeout)
        elapsed = time.perf_counter() - started
        issued = Certificate.objects.filter(registration_id__in=ids).count()
        print(f"queued {args.n} tasks in {queued:.1f} s; {issued} certificates after {elapsed:.1f} s "
              f"({issued / elapsed:.1f}/s, {elapsed / max(issued, 1) * 1000:.0f} ms each on {args.concurrency} "
              f"worker processes)")
        ok &= done and issued == args.n

        # Idempotency at scale: the whole batch again must add nothing.
        for pk in ids:
            sender.send_task(issue_certificate.name, args=(pk,), queue=queue)
        redis_len = _queue_length(queue)
        wait_for(lambda: _queue_length(queue) == 0, args.timeout)
        time.sleep(2)  # the last tasks taken off the queue finish
        again = Certificate.objects.filter(registration_id__in=ids).count()
        print(f"re-queued all {args.n} (backlog {redis_len}): {again} certificates (want {args.n})")
        ok &= again == args.n

        sizes = list(Certificate.objects.filter(registration_id__in=ids).values_list("file", flat=True)[:5])
        from django.core.files.storage import storages

        storage = Certificate._meta.get_field("file").storage or storages["default"]
        for name in sizes:
            with storage.open(name, "rb") as fh:
                ok &= fh.read(5) == b"%PDF-"
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
        sender.close()
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


def _queue_length(queue: str) -> int:
    import redis

    return redis.Redis.from_url(BROKER).llen(queue)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    sys.exit(main())
