"""`bench/scale.py load`: gunicorn with the production settings (swms.settings_prod) on 127.0.0.1
under a closed-loop load of N concurrent authenticated users (threads, no think time), mixed GETs of the
four roles; bounded in time (--seconds) and in count (--max-requests). Prints and writes req/s,
p50/p95/p99 and errors, per role and per page.

Ported from ../shared/scale/bench_load.py. Sessions are created with the test Client's force_login
(database sessions, shared with gunicorn). Virtual users: 10 % the province official, 20 % city
officials, 30 % county officials (random cities and counties), 40 % station accounts (random
stations). gunicorn is started and stopped here, by its PID.
"""

from __future__ import annotations

import http.client
import json
import random
import resource
import secrets
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import quote

from .pages import pct
from .weight import collectstatic, prod_env, prod_setting, session_for, start_gunicorn
from .weight import stop as stop_server


def add_arguments(ap):
    ap.add_argument(
        "--users", type=int, nargs="+", default=[10], help="concurrent users (several: one run each)"
    )
    ap.add_argument("--seconds", type=float, default=20, help="timed seconds per run")
    ap.add_argument("--max-requests", type=int, default=100_000, help="stop a run after this many requests")
    ap.add_argument("--warm", type=float, default=5, help="warm-up seconds (discarded)")
    ap.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    ap.add_argument("--settings", default="swms.settings_prod",
                    help="settings module of the server (default the production settings)")
    ap.add_argument("--port", type=int, default=8113)
    ap.add_argument("--out", default="load.json")


def official_pages():
    from django.urls import reverse

    return [
        reverse("reports:workbench"),
        reverse("registration:review-queue"),
        reverse("registration:review-queue") + "?scope=all",
        reverse("registration:profile-queue") + "?scope=all",
        reverse("registration:registry"),
        reverse("registration:registry") + "?ce_short=1",
        reverse("stations:list"),
        reverse("stations:worker-overview"),
        reverse("services:official-client-list"),
        reverse("services:official-activity-list"),
        reverse("services:summary-queue"),
        reverse("services:summary-completeness"),
        reverse("notices:received"),
        reverse("notices:sent"),
        reverse("accounts:official-list"),
        reverse("reports:review-dashboard"),
        reverse("reports:statistics"),
        reverse("services:official-client-list") + "?q=张伟",
        reverse("services:official-activity-list") + "?category=group&status=ongoing",
        reverse("registration:review-queue") + "?scope=all&q=李",
        reverse("services:official-client-list") + "?page=2",
    ]


def station_pages():
    from django.urls import reverse

    return [
        reverse("reports:station-workbench"),
        reverse("services:client-list"),
        reverse("services:client-list") + "?q=张",
        reverse("services:activity-overview"),
        reverse("services:activity-list", args=["group"]),
        reverse("services:activity-list", args=["visit"]),
        reverse("services:summary-list"),
        reverse("stations:workers"),
        reverse("notices:received"),
    ]


def make_sessions(n, rnd, secret_key):
    from django.utils import timezone

    from accounts.models import Region, User
    from stations.models import Station

    province = Region.objects.get(code="440000000000")
    cities = list(Region.objects.filter(level="city", tree_id=province.tree_id))
    counties = list(Region.objects.filter(level="county", tree_id=province.tree_id))
    stations = list(
        Station.objects.filter(deleted_at__isnull=True, region__tree_id=province.tree_id).select_related(
            "account"
        )
    )
    official, station = official_pages(), station_pages()
    plan = []
    for i in range(n):
        x = i % 10
        if x == 0:
            plan.append(("province", User.objects.get(username=f"off_{province.code}"), official))
        elif x in (1, 2):
            plan.append(("city", User.objects.get(username=f"off_{rnd.choice(cities).code}"), official))
        elif x in (3, 4, 5):
            plan.append(("county", User.objects.get(username=f"off_{rnd.choice(counties).code}"), official))
        else:
            plan.append(("station", rnd.choice(stations).account, station))
    User.objects.filter(pk__in=[u.pk for _r, u, _p in plan]).update(
        password_changed_at=timezone.now(), must_change_password=False
    )
    # Sessions signed with the server's secret key (the session's auth hash depends on it).
    return [(role, session_for(user, secret_key), pages) for role, user, pages in plan]


def session_headers(cookie_name: str, sid: str) -> dict:
    """The headers of a signed-in user's requests, as behind the TLS proxy (SECURE_SSL_REDIRECT stays on)."""
    return {"Cookie": f"{cookie_name}={sid}", "Host": "127.0.0.1", "Accept-Encoding": "gzip",
            "X-Forwarded-Proto": "https"}


def get_page(conn, url: str, headers: dict) -> int:
    """GET `url` on a kept connection and read the whole answer; closes the connection when the server says
    so (the next request reconnects). Returns the status; connection errors raise."""
    conn.request("GET", quote(url, safe="/?=&"), headers=headers)
    resp = conn.getresponse()
    resp.read()
    if resp.getheader("Connection", "").lower() == "close":
        conn.close()
    return resp.status


def drive(sessions, seconds, max_requests, seed, port, cookie_name):
    stop = time.monotonic() + seconds
    lock = threading.Lock()
    lat, errors, by_page, by_role = [], defaultdict(int), defaultdict(list), defaultdict(list)
    sent = [0]

    def worker(i, role, sid, pages):
        rnd = random.Random(seed * 1000 + i)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        headers = session_headers(cookie_name, sid)
        while time.monotonic() < stop:
            with lock:
                if sent[0] >= max_requests:
                    break
                sent[0] += 1
            url = rnd.choice(pages)
            t = time.perf_counter()
            try:
                status = get_page(conn, url, headers)
            except Exception as e:  # noqa: BLE001
                status = type(e).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            ms = (time.perf_counter() - t) * 1000
            with lock:
                if status == 200:
                    lat.append(ms)
                    by_page[url].append(ms)
                    by_role[role].append(ms)
                else:
                    errors[f"{status} {url}"] += 1

    threads = [threading.Thread(target=worker, args=(i, *s)) for i, s in enumerate(sessions)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - t0
    r2 = lambda v: round(v, 1) if v is not None else None  # noqa: E731
    return {
        "users": len(sessions),
        "seconds": round(wall, 1),
        "ok": len(lat),
        "errors": sum(errors.values()),
        "error_detail": dict(errors),
        "rps": round(len(lat) / wall, 1),
        "p50_ms": r2(pct(lat, 50)),
        "p95_ms": r2(pct(lat, 95)),
        "p99_ms": r2(pct(lat, 99)),
        "max_ms": r2(max(lat) if lat else None),
        "by_role": {
            r: {"n": len(v), "p50_ms": r2(pct(v, 50)), "p95_ms": r2(pct(v, 95))} for r, v in by_role.items()
        },
        "by_page": {
            u: {"n": len(v), "p50_ms": r2(pct(v, 50)), "p95_ms": r2(pct(v, 95))}
            for u, v in sorted(by_page.items())
        },
    }


def run(args):
    rnd = random.Random(7)
    # The production settings, as `weight` runs them: hashed and compressed static files collected into a
    # temporary STATIC_ROOT, a random production-length secret key shared with this process for the sessions.
    secret_key = secrets.token_urlsafe(48)
    static_root = Path(tempfile.mkdtemp(prefix="swms-load-static-"))
    env = prod_env(secret_key, static_root, args.settings)
    collectstatic(env)
    cookie_name = prod_setting(env, "SESSION_COOKIE_NAME")
    gunicorn = start_gunicorn(env, args.port, args.workers)
    print(f"gunicorn pid {gunicorn.pid}, {args.workers} workers, 127.0.0.1:{args.port}, {args.settings}", flush=True)
    results = []
    try:
        for n in args.users:
            sessions = make_sessions(n, rnd, secret_key)
            drive(sessions, args.warm, args.max_requests, seed=n + 1, port=args.port,
                  cookie_name=cookie_name)  # warm-up, discarded
            ru0 = resource.getrusage(resource.RUSAGE_SELF)
            r = drive(sessions, args.seconds, args.max_requests, seed=n, port=args.port, cookie_name=cookie_name)
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            r["loadgen_cpu_s"] = round(ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime, 1)
            r["gunicorn_workers"] = args.workers
            r["settings"] = args.settings
            results.append(r)
            print(json.dumps({k: v for k, v in r.items() if k != "by_page"}, ensure_ascii=False), flush=True)
            for u, v in r["by_page"].items():
                print(f"   {u:60} n={v['n']:5} p50={v['p50_ms']:8.1f} p95={v['p95_ms']:8.1f}")
    finally:
        stop_server(gunicorn)
        shutil.rmtree(static_root, ignore_errors=True)
    Path(args.out).write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print(f"wrote {args.out}")
