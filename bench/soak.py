"""Soak benchmark (issue #17): gunicorn as in production under 50 simulated users for 30 minutes; errors,
latency per window and the memory of every gunicorn process, to show 0 errors and flat memory.

    .venv/bin/python bench/soak.py                                  # 50 users, 30 minutes
    .venv/bin/python bench/soak.py --minutes 2 --users 50 --out var/bench/soak-2min.json

Not part of CI. What it does (pieces reused from bench/scale.py: scalelib.load, scalelib.weight):
  - database: DATABASE_URL, else `swms_scale` when it exists, else `swms_soak` (make it once with
    `DATABASE_URL=postgres://postgres@127.0.0.1:5432/swms_soak .venv/bin/python bench/scale.py generate
    --scale 0.02 --force`, about 45 s);
  - gunicorn with the production settings (swms.settings_prod: DEBUG off, persistent checked database
    connections, compressed pages, collected static files served by WhiteNoise), --workers sync workers
    (default 4), on 127.0.0.1 and a free port, started and stopped here by its PID; the cache is Redis
    (CACHE_URL, default rediscache://127.0.0.1:6379/10) as in production. Production refuses the
    development field and hash keys, so the server gets a settings module that imports swms.settings_prod
    under throw-away keys and then puts back the keys this database was written with (those of this
    process: SWMS_FIELD_KEYS / SWMS_HASH_KEY or the development ones);
  - users signed in like scale.py's `load` (force_login sessions signed with the server's secret key):
    40 % social workers (home, profile, history, CE ledger, courseware, notices, their application, their
    certificate PDF — issued once beforehand where missing, into SWMS_PRIVATE_MEDIA_ROOT, default
    var/bench/soak-private/, or into the object store when SWMS_STORAGE_URL is set), the rest through
    scalelib.load.make_sessions: province, city and county officials (workbench, review queues, statistics,
    registry, lists, exports) and station accounts (workbench, clients, activities, staff list);
  - each user: GET a random page of its role, then think (uniform 0.5–1.5 × --think seconds); --timeout per
    request; bounded by --minutes;
  - every --sample seconds (30): requests, errors (status other than 2xx/3xx, exceptions, timeouts),
    p50/p95 of that window, the RSS of the gunicorn master and of each worker (/proc), the database's
    connections (pg_stat_activity);
  - memory flat: mean total RSS over the first K minutes against the last K minutes (K = 5, or a third
    of a shorter run), and the largest growth of one worker; flat when total growth <= --flat-pct and
    no worker grew more than --flat-mb.
Writes --out (JSON) and prints a table; exits 1 on any error or memory that is not flat.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SERVER = "postgres://postgres@127.0.0.1:5432"
DEFAULT_CACHE = "rediscache://127.0.0.1:6379/10"
LOGIN_BACKEND = "accounts.backends.IdentifierBackend"
SETTINGS_MODULE = "swms_soak_settings"
# The server's settings: production, with the keys the bench database was written with (see the docstring).
SETTINGS_SOURCE = '''"""Written by bench/soak.py: swms.settings_prod with the bench database's field and hash keys."""
import os

from swms.settings_prod import *  # noqa: F403

SWMS_FIELD_KEYS = os.environ["SWMS_SOAK_DB_FIELD_KEYS"].split(",")
SWMS_HASH_KEY = os.environ["SWMS_SOAK_DB_HASH_KEY"]
SWMS_HASH_KEY_PREVIOUS = os.environ.get("SWMS_SOAK_DB_HASH_KEY_PREVIOUS", "")
'''


def add_arguments(ap):
    ap.add_argument("--minutes", type=float, default=30, help="timed minutes (default 30)")
    ap.add_argument("--users", type=int, default=50, help="concurrent simulated users (default 50)")
    ap.add_argument("--worker-share", type=float, default=0.4, help="share of social workers among the users")
    ap.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    ap.add_argument("--think", type=float, default=1.0, help="mean think time between a user's requests, s")
    ap.add_argument("--timeout", type=float, default=30, help="per-request timeout, s (counted as an error)")
    ap.add_argument("--sample", type=float, default=30, help="seconds per window / memory sample (default 30)")
    ap.add_argument("--warm", type=float, default=30, help="warm-up seconds before the timed run (discarded)")
    ap.add_argument("--compare-minutes", type=float, default=5,
                    help="memory: first K minutes against the last K (clipped to a third of the run)")
    ap.add_argument("--flat-pct", type=float, default=5.0, help="largest total RSS growth still 'flat', %%")
    ap.add_argument("--flat-mb", type=float, default=16.0, help="largest growth of one worker still 'flat', MB")
    ap.add_argument("--cache-url", default=os.environ.get("CACHE_URL", DEFAULT_CACHE))
    ap.add_argument("--port", type=int, default=0, help="loopback port (default: a free one)")
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--out", default="var/bench/soak.json")


def database_url():
    """DATABASE_URL, else swms_scale when it exists, else swms_soak; refuses a database that is not there."""
    import psycopg

    url = os.environ.get("DATABASE_URL")
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        names = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
    if not url:
        url = f"{SERVER}/" + ("swms_scale" if "swms_scale" in names else "swms_soak")
    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    if url.startswith(SERVER) and name not in names:
        raise SystemExit(
            f"database {name} does not exist; make a small one (about 45 s):\n"
            f"  DATABASE_URL={SERVER}/swms_soak .venv/bin/python bench/scale.py generate --scale 0.02 --force"
        )
    return url


# --- Users ----------------------------------------------------------------------------------------


def worker_pages(user):
    """A social worker's pages: home, profile, history, CE, courseware, notices, own application and
    certificate."""
    from django.urls import reverse

    from registration.certificates import certificate_issue
    from registration.models import Certificate, Registration, RegistrationApplication

    pages = [
        reverse("reports:workbench"),
        reverse("registration:profile"),
        reverse("registration:history"),
        reverse("registration:ce"),
        reverse("registration:courseware-library"),
        reverse("notices:received"),
    ]
    application = RegistrationApplication.objects.owned_by(user).order_by("-pk").first()
    if application:
        pages.append(reverse("registration:application-detail", args=[application.pk]))
    registration = Registration.objects.owned_by(user).order_by("-valid_from").first()
    if registration:
        certificate = Certificate.objects.filter(registration=registration).current().first()
        if certificate is None:
            certificate = certificate_issue(registration_id=registration.pk)
        if certificate.file.storage.exists(certificate.file.name):
            pages.append(reverse("registration:certificate-file", args=[certificate.pk]))
        else:  # issued by an earlier run into another store (SWMS_PRIVATE_MEDIA_ROOT / SWMS_STORAGE_URL)
            print(f"  {user.username}: certificate {certificate.pk} has no file in this store; its page is left out")
    return pages


def worker_sessions(n, rnd, secret_key):
    from django.utils import timezone
    from scalelib.weight import session_for

    from accounts.models import User, UserKind
    from registration.models import Registration

    registered = Registration.objects.filter(status="valid").values("worker__user")
    pool = list(
        User.objects.filter(kind=UserKind.SOCIAL_WORKER, is_active=True, pk__in=registered)
        .order_by("pk").values_list("pk", flat=True)[:2000]
    )
    if len(pool) < n:
        raise SystemExit(f"only {len(pool)} registered social workers in this database, {n} wanted")
    users = list(User.objects.filter(pk__in=rnd.sample(pool, n)))
    User.objects.filter(pk__in=[u.pk for u in users]).update(
        password_changed_at=timezone.now(), must_change_password=False
    )
    return [("worker", session_for(u, secret_key), worker_pages(u)) for u in users]


# --- Server processes -----------------------------------------------------------------------------


def rss_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def children(pid):
    """PIDs whose parent is `pid` (the gunicorn workers), from /proc."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(d))
    return sorted(out)


def memory_sample(master):
    workers = {pid: rss_kb(pid) for pid in children(master)}
    workers = {pid: kb for pid, kb in workers.items() if kb is not None}
    master_kb = rss_kb(master) or 0
    return {"master_kb": master_kb, "workers_kb": workers, "total_kb": master_kb + sum(workers.values())}


def db_connections(url):
    import psycopg

    name = url.rsplit("/", 1)[1].split("?", 1)[0]
    try:
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True, connect_timeout=5) as c:
            return c.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [name]).fetchone()[0]
    except psycopg.Error:
        return None


# --- Load -----------------------------------------------------------------------------------------


class Window:
    def __init__(self):
        self.ok, self.redirects, self.lat = 0, 0, []
        self.errors = defaultdict(int)


class Soak:
    def __init__(self, sessions, port, cookie_name, think, timeout, seed):
        self.sessions, self.port, self.cookie_name = sessions, port, cookie_name
        self.think, self.timeout, self.seed = think, timeout, seed
        self.lock = threading.Lock()
        self.window = Window()
        self.stop_at = 0.0
        self.by_role, self.by_page = defaultdict(list), defaultdict(list)
        self.record_roles = False

    def swap(self):
        with self.lock:
            w, self.window = self.window, Window()
        return w

    def user(self, i, role, sid, pages):
        rnd = random.Random(self.seed * 1000 + i)
        from scalelib import load

        headers = load.session_headers(self.cookie_name, sid)
        conn = None
        # Users start spread over one think time, as people do, not all in the same millisecond.
        time.sleep(rnd.uniform(0, self.think))
        while time.monotonic() < self.stop_at:
            url = rnd.choice(pages)
            t = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                status = load.get_page(conn, url, headers)
                if conn.sock is None:  # closed at the server's word: the next request reconnects
                    conn = None
            except TimeoutError:
                status = "timeout"
            except Exception as e:  # noqa: BLE001 - every failure is counted, none stops the user
                status = type(e).__name__
            if not isinstance(status, int) and conn is not None:
                conn.close()
                conn = None
            ms = (time.perf_counter() - t) * 1000
            with self.lock:
                w = self.window
                if isinstance(status, int) and 200 <= status < 300:
                    w.ok += 1
                    w.lat.append(ms)
                    if self.record_roles:
                        self.by_role[role].append(ms)
                        self.by_page[re.sub(r"/\d+/", "/<pk>/", url)].append(ms)
                elif isinstance(status, int) and 300 <= status < 400:
                    w.redirects += 1  # not an error, but which page answered 3xx is reported
                    w.errors[f"(redirect {status}) {url}"] += 1
                else:
                    w.errors[f"{status} {url}"] += 1
            time.sleep(rnd.uniform(0.5, 1.5) * self.think)
        if conn is not None:
            conn.close()

    def run(self, seconds, on_sample=None, sample=30.0):
        self.stop_at = time.monotonic() + seconds
        threads = [threading.Thread(target=self.user, args=(i, *s), daemon=True) for i, s in enumerate(self.sessions)]
        for t in threads:
            t.start()
        t0 = time.monotonic()
        n = 0
        while on_sample is not None and time.monotonic() < self.stop_at:
            n += 1
            time.sleep(max(0.0, min(t0 + n * sample, self.stop_at) - time.monotonic()))
            on_sample(time.monotonic() - t0)
        # A user may be in a request of up to --timeout seconds, then in a think time.
        for t in threads:
            t.join(self.timeout + 3 * self.think + 5)
        if on_sample is not None:  # requests finished after the last sample
            on_sample(time.monotonic() - t0, tail=True)


# --- Report ---------------------------------------------------------------------------------------


def summarize(windows, minutes, compare, flat_pct, flat_mb):
    from scalelib.pages import pct

    k = min(compare, minutes / 3)
    span = k * 60
    end = windows[-1]["t_s"] if windows else 0
    first = [w for w in windows if w["t_s"] <= span + 1e-6]
    last = [w for w in windows if w["t_s"] > end - span - 1e-6 and not w.get("tail")]
    mean = lambda xs: statistics.fmean(xs) if xs else None  # noqa: E731
    total_first = mean([w["rss_total_mb"] for w in first])
    total_last = mean([w["rss_total_mb"] for w in last])
    growth = {}
    for pid in {p for w in first for p in w["rss_workers_mb"]} & {p for w in last for p in w["rss_workers_mb"]}:
        a = mean([w["rss_workers_mb"][pid] for w in first if pid in w["rss_workers_mb"]])
        b = mean([w["rss_workers_mb"][pid] for w in last if pid in w["rss_workers_mb"]])
        growth[pid] = round(b - a, 1)
    pids = [set(w["rss_workers_mb"]) for w in windows if not w.get("tail")]
    replaced = len(set().union(*pids) - pids[0]) if pids else 0
    lat = [x for w in windows for x in w.pop("_lat")]
    total_growth_mb = round(total_last - total_first, 1) if total_first is not None else None
    total_growth_pct = round(100 * (total_last - total_first) / total_first, 1) if total_first else None
    worker_max = max(growth.values()) if growth else None
    flat = (
        total_growth_pct is not None
        and total_growth_pct <= flat_pct
        and worker_max is not None
        and worker_max <= flat_mb
        and replaced == 0
    )
    errors = defaultdict(int)
    redirects = defaultdict(int)
    for w in windows:
        for key, n in w["error_detail"].items():
            (redirects if key.startswith("(redirect") else errors)[key] += n
    r1 = lambda v: round(v, 1) if v is not None else None  # noqa: E731
    return {
        "requests": sum(w["requests"] for w in windows),
        "ok": sum(w["ok"] for w in windows),
        "redirects": sum(w["redirects"] for w in windows),
        "errors": sum(w["errors"] for w in windows),
        "error_detail": dict(errors),
        "redirect_detail": dict(redirects),
        "p50_ms": r1(pct(lat, 50)),
        "p95_ms": r1(pct(lat, 95)),
        "p99_ms": r1(pct(lat, 99)),
        "max_ms": r1(max(lat) if lat else None),
        "memory": {
            "compare_minutes": round(k, 2),
            "total_first_mb": r1(total_first),
            "total_last_mb": r1(total_last),
            "total_growth_mb": total_growth_mb,
            "total_growth_pct": total_growth_pct,
            "worker_growth_mb": {str(p): g for p, g in sorted(growth.items())},
            "worker_max_growth_mb": worker_max,
            "workers_replaced": replaced,
            "flat": flat,
            "flat_rule": f"total growth <= {flat_pct} % and every worker <= {flat_mb} MB, no worker replaced",
        },
    }


def print_table(result):
    print()
    print(f"{'t (s)':>7} {'req':>6} {'ok':>6} {'err':>4} {'req/s':>6} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'master MB':>9} {'workers MB':>28} {'total MB':>9} {'db conn':>7} {'load':>5}")
    for w in result["windows"]:
        workers = " ".join(f"{v:.0f}" for _p, v in sorted(w["rss_workers_mb"].items()))
        fmt = lambda v: f"{v:8.1f}" if v is not None else f"{'-':>8}"  # noqa: E731
        print(f"{w['t_s']:7.0f} {w['requests']:6} {w['ok']:6} {w['errors']:4} {w['rps']:6.1f} {fmt(w['p50_ms'])} "
              f"{fmt(w['p95_ms'])} {w['rss_master_mb']:9.1f} {workers:>28} {w['rss_total_mb']:9.1f} "
              f"{w['db_connections'] if w['db_connections'] is not None else '-':>7} {w.get('loadavg_1m', 0):5.1f}"
              + ("  (after the end)" if w.get("tail") else ""))
    s, m = result["summary"], result["summary"]["memory"]
    print()
    print(f"{result['users']} users, {result['minutes']} min, {result['gunicorn_workers']} gunicorn workers, "
          f"database {result['database']}")
    print(f"requests {s['requests']}, ok {s['ok']}, redirects {s['redirects']}, errors {s['errors']}; "
          f"p50 {s['p50_ms']} ms, p95 {s['p95_ms']} ms, p99 {s['p99_ms']} ms, max {s['max_ms']} ms")
    for key, n in sorted(s["error_detail"].items()):
        print(f"  error  {n:5}  {key}")
    for key, n in sorted(s["redirect_detail"].items()):
        print(f"  note   {n:5}  {key}")
    for role, v in sorted(result["by_role"].items()):
        print(f"  {role:9} n={v['n']:6}  p50 {v['p50_ms']} ms  p95 {v['p95_ms']} ms")
    if None in (m["total_growth_mb"], m["total_growth_pct"], m["worker_max_growth_mb"]):  # too short a run
        print("memory: too few samples to compare (run longer than two sample intervals)")
        print("PASS" if s["errors"] == 0 else "FAIL")
        return
    print(f"memory: total RSS {m['total_first_mb']} MB (first {m['compare_minutes']} min) -> {m['total_last_mb']} MB "
          f"(last {m['compare_minutes']} min): {m['total_growth_mb']:+} MB ({m['total_growth_pct']:+} %); "
          f"largest worker growth {m['worker_max_growth_mb']:+} MB; workers replaced {m['workers_replaced']}")
    print(f"memory flat: {'yes' if m['flat'] else 'NO'} ({m['flat_rule']})")
    print("PASS" if s["errors"] == 0 and m["flat"] else "FAIL")


# --- Main -----------------------------------------------------------------------------------------


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(ap)
    args = ap.parse_args(argv)
    url = database_url()
    os.environ["DATABASE_URL"] = url
    os.environ["CACHE_URL"] = args.cache_url
    os.environ.setdefault("SWMS_MFA_REQUIRED", "0")  # force_login sessions, as scale.py signs in
    if not os.environ.get("SWMS_STORAGE_URL"):
        os.environ.setdefault("SWMS_PRIVATE_MEDIA_ROOT", str(ROOT / "var" / "bench" / "soak-private"))
    # Certificates issued here for the social workers are signed; the server only checks the files exist.
    from swms import signing  # no settings read at import

    if not (os.environ.get("SWMS_SIGNING_KEY_FILE") and os.environ.get("SWMS_SIGNING_CERT_FILE")):
        folder = signing.make_dev_key(ROOT / "var" / "bench" / "soak-signing")
        os.environ["SWMS_SIGNING_KEY_FILE"] = str(folder / signing.DEV_KEY)
        os.environ["SWMS_SIGNING_CERT_FILE"] = str(folder / signing.DEV_CERT)
    os.environ["DJANGO_SETTINGS_MODULE"] = "swms.settings"
    import django

    django.setup()
    from cryptography.fernet import Fernet
    from django.conf import settings
    from django.contrib.sessions.models import Session
    from scalelib.load import make_sessions
    from scalelib.pages import pct
    from scalelib.weight import collectstatic, free_port, prod_env, prod_setting, start_gunicorn
    from scalelib.weight import stop as stop_server

    dbname = settings.DATABASES["default"]["NAME"]
    rnd = random.Random(args.seed)
    secret_key = secrets.token_urlsafe(48)  # production-length: settings_prod accepts it
    n_workers = round(args.users * args.worker_share)
    t = time.perf_counter()
    sessions = worker_sessions(n_workers, rnd, secret_key) + make_sessions(args.users - n_workers, rnd, secret_key)
    print(f"database {dbname}: {len(sessions)} sessions ({n_workers} social workers) in "
          f"{time.perf_counter() - t:.1f} s", flush=True)

    from django.db import connections

    connections.close_all()  # the database's connections during the run are then the server's alone
    tmp = Path(tempfile.mkdtemp(prefix="swms-soak-"))
    static_root = tmp / "static"
    (tmp / f"{SETTINGS_MODULE}.py").write_text(SETTINGS_SOURCE)
    env = prod_env(secret_key, static_root, SETTINGS_MODULE)
    env.update(
        PYTHONPATH=os.pathsep.join([str(tmp), str(ROOT)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else [])),
        # Throw-away production keys for settings_prod's check, then the database's own (SETTINGS_SOURCE).
        SWMS_FIELD_KEYS=Fernet.generate_key().decode(),
        SWMS_HASH_KEY=secrets.token_urlsafe(32),
        SWMS_SOAK_DB_FIELD_KEYS=",".join(settings.SWMS_FIELD_KEYS),
        SWMS_SOAK_DB_HASH_KEY=settings.SWMS_HASH_KEY,
        SWMS_SOAK_DB_HASH_KEY_PREVIOUS=settings.SWMS_HASH_KEY_PREVIOUS,
    )
    port = args.port or free_port()
    proc = None
    windows = []
    try:
        collectstatic(env)
        cookie_name = prod_setting(env, "SESSION_COOKIE_NAME")
        proc = start_gunicorn(env, port, args.workers)
        print(f"gunicorn pid {proc.pid}, {args.workers} workers, 127.0.0.1:{port}, {SETTINGS_MODULE} "
              f"(swms.settings_prod), cache {args.cache_url}", flush=True)
        if args.warm > 0:
            Soak(sessions, port, cookie_name, args.think, args.timeout, args.seed + 1).run(args.warm)
            print(f"warm-up {args.warm:.0f} s done", flush=True)
        soak = Soak(sessions, port, cookie_name, args.think, args.timeout, args.seed)
        soak.record_roles = True
        last_t = [0.0]

        def on_sample(t_s, tail=False):
            w = soak.swap()
            mem = memory_sample(proc.pid)
            dt = max(t_s - last_t[0], 1e-6)
            last_t[0] = t_s
            errors = sum(n for k, n in w.errors.items() if not k.startswith("(redirect"))
            row = {
                "t_s": round(t_s, 1),
                "requests": w.ok + w.redirects + errors,
                "ok": w.ok,
                "redirects": w.redirects,
                "errors": errors,
                "error_detail": dict(w.errors),
                "rps": round((w.ok + w.redirects + errors) / dt, 1),
                "p50_ms": round(pct(w.lat, 50), 1) if w.lat else None,
                "p95_ms": round(pct(w.lat, 95), 1) if w.lat else None,
                "rss_master_mb": round(mem["master_kb"] / 1024, 1),
                "rss_workers_mb": {str(p): round(kb / 1024, 1) for p, kb in mem["workers_kb"].items()},
                "rss_total_mb": round(mem["total_kb"] / 1024, 1),
                "db_connections": db_connections(url),
                "loadavg_1m": round(os.getloadavg()[0], 2),  # the machine's, other work included
                "_lat": w.lat,
            }
            if tail:
                row["tail"] = True
            windows.append(row)
            print(f"  {row['t_s']:7.0f} s  req {row['requests']:5}  err {row['errors']:3}  p50 {row['p50_ms']}  "
                  f"p95 {row['p95_ms']}  RSS total {row['rss_total_mb']} MB  db conn {row['db_connections']}",
                  flush=True)

        print(f"soak: {args.users} users for {args.minutes:g} min, a sample every {args.sample:g} s", flush=True)
        soak.run(args.minutes * 60, on_sample=on_sample, sample=args.sample)
    finally:
        if proc is not None:
            stop_server(proc)
        shutil.rmtree(tmp, ignore_errors=True)
        Session.objects.filter(session_key__in=[sid for _r, sid, _p in sessions]).delete()

    result = {
        "database": dbname,
        "users": args.users,
        "social_workers": n_workers,
        "minutes": args.minutes,
        "think_s": args.think,
        "timeout_s": args.timeout,
        "gunicorn_workers": args.workers,
        "settings": "swms.settings_prod",
        "cache": args.cache_url,
        "sample_s": args.sample,
        "by_role": {
            r: {"n": len(v), "p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1)}
            for r, v in soak.by_role.items()
        },
        "by_page": {
            u: {"n": len(v), "p50_ms": round(pct(v, 50), 1), "p95_ms": round(pct(v, 95), 1)}
            for u, v in sorted(soak.by_page.items())
        },
    }
    result["summary"] = summarize(windows, args.minutes, args.compare_minutes, args.flat_pct, args.flat_mb)
    result["windows"] = windows
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1))
    print_table(result)
    print(f"wrote {out}")
    return 0 if result["summary"]["errors"] == 0 and result["summary"]["memory"]["flat"] else 1


if __name__ == "__main__":
    sys.exit(main())
