"""`bench/scale.py pages`: every list, queue, statistics and workbench page for the province (广东省), a
city (广州市), a county (越秀区) and a station account, with filtered, searched and deep-page variants.

Ported from ../shared/scale/bench_pages.py. In-process Django test Client (full middleware stack and
templates, no HTTP server), force_login. Per iteration, in this order: the page, the plain Django admin
changelist of the same model and scope (scalelib.admin_urls registers it), and a replay of the page's
own SELECTs on one cursor — so the three are measured side by side under the same machine load.
The review queues come from `swms.review_queues.all_queues()`, so a new queue is measured without an
edit here. Output: one JSON row per page and role with page, role, p50_ms, p95_ms, queries,
admin_p50_ms, sql_p50_ms (and the URLs, admin query count, response size, OFFSET/COUNT flags).
"""

from __future__ import annotations

import json
import re
import statistics
import time
from pathlib import Path

ADMIN = "/ops-admin/"
NONDRAFT = "status__in=submitted,county_approved,approved,rejected,returned"
WAITING = "status__in=submitted,county_approved"
REGION_CODES = {"province": "440000000000", "city": "440100000000", "county": "440104000000"}


LOGIN_BACKEND = "accounts.backends.IdentifierBackend"

def add_arguments(ap):
    ap.add_argument("--out", default="results.json", help="JSON rows (default results.json)")
    ap.add_argument("--n", type=int, default=30, help="timed requests per page (default 30)")
    ap.add_argument("--warm", type=int, default=2)
    ap.add_argument(
        "--pages", default="", help="comma-separated substrings of page labels (registry,activities)"
    )
    ap.add_argument("--roles", default="", help="comma-separated roles: province,city,county,station")
    ap.add_argument(
        "--explain", default="", help="directory for EXPLAIN (ANALYZE, BUFFERS) of the slowest queries"
    )
    ap.add_argument("--list", action="store_true", help="list the pages and exit")


def pct(values, p):
    values = sorted(values)
    if not values:
        return None
    k = (len(values) - 1) * p / 100
    f = int(k)
    c = min(f + 1, len(values) - 1)
    return values[f] + (values[c] - values[f]) * (k - f)


def rng(prefix, r):
    return f"{prefix}__tree_id={r.tree_id}&{prefix}__lft__gte={r.lft}&{prefix}__rght__lte={r.rght}"


def accounts():
    from django.utils import timezone

    from accounts.models import Region, User
    from stations.models import Station

    regions = {role: Region.objects.get(code=code) for role, code in REGION_CODES.items()}
    county = regions["county"]
    station = (
        Station.objects.filter(region__parent=county, tier="station", deleted_at__isnull=True)
        .order_by("code")
        .first()
        or Station.objects.filter(deleted_at__isnull=True).order_by("code").first()
    )
    users = {role: User.objects.get(username=f"off_{r.code}") for role, r in regions.items()}
    users["station"] = station.account
    users["admin"] = User.objects.get(username="perf_admin")
    # Keep the benchmark accounts out of the password expiry.
    User.objects.filter(pk__in=[u.pk for u in users.values()]).update(
        password_changed_at=timezone.now(), must_change_password=False
    )
    return regions, station, users


def admin_url(model, query):
    return f"{ADMIN}{model._meta.app_label}/{model._meta.model_name}/?{query}"


def queue_pages(role, r):
    """Every registered review queue: the official's own queue, everything in the region, and (province)
    a name search and page 100."""
    from django.urls import reverse

    from swms.review_queues import all_queues

    out = []
    mine = (
        f"initial_region__id__exact={r.pk}&status__exact=submitted"
        if role == "county"
        else (f"final_region__id__exact={r.pk}&{WAITING}")
    )
    for q in all_queues():
        url = reverse(q.list_url)
        label = f"queue {q.key}"
        out.append((f"{label} (mine)", role, url, admin_url(q.model, mine)))
        out.append(
            (f"{label} (all)", role, f"{url}?scope=all", admin_url(q.model, f"{rng('final_region', r)}"))
        )
        if role == "province":
            out.append((f"{label}: search 张伟", role, f"{url}?scope=all&q=张伟", None))
            out.append(
                (
                    f"{label}: page 100",
                    role,
                    f"{url}?scope=all&page=100",
                    admin_url(q.model, f"{rng('final_region', r)}&p=100"),
                )
            )
    return out


def page_list(regions, station):
    """(label, role, url, admin url or None)."""
    from django.urls import reverse

    from registration.models import Certificate, Registration, RegistrationApplication, SocialWorker
    from services.models import Activity, MonthlySummary
    from services.models import Client as SClient
    from spotchecks.models import SpotCheckBatch, SpotCheckItem
    from stations.models import Station, StationWorker

    out = []
    for role, r in regions.items():
        sc = rng("station__region", r) + "&station__deleted_at__isnull=True"
        reg = admin_url(Registration, rng("region", r))
        registry = reverse("registration:registry")
        out += [
            ("workbench", role, reverse("reports:workbench"), None),
            ("statistics", role, reverse("reports:statistics"), None),
            ("review dashboard", role, reverse("reports:review-dashboard"), None),
            *queue_pages(role, r),
            ("registry", role, registry, reg),
            ("registry: status=expiring", role, f"{registry}?status=expiring", None),
            ("registry: ce_short=1", role, f"{registry}?ce_short=1", None),
            ("registry: search 张伟", role, f"{registry}?q=张伟", f"{reg}&q=张伟"),
            (
                "certificates",
                role,
                reverse("registration:certificate-list"),
                admin_url(Certificate, rng("registration__region", r)),
            ),
            (
                "officials",
                role,
                reverse("accounts:official-list"),
                f"{ADMIN}accounts/user/?kind__exact=official&{rng('region', r)}",
            ),
            (
                "stations",
                role,
                reverse("stations:list"),
                admin_url(Station, f"{rng('region', r)}&deleted_at__isnull=True"),
            ),
            (
                "station workers",
                role,
                reverse("stations:worker-overview"),
                admin_url(StationWorker, f"{sc}&left_on__isnull=True"),
            ),
            (
                "clients",
                role,
                reverse("services:official-client-list"),
                admin_url(SClient, f"{sc}&deleted_at__isnull=True"),
            ),
            (
                "activities",
                role,
                reverse("services:official-activity-list"),
                admin_url(Activity, f"{sc}&deleted_at__isnull=True"),
            ),
            ("summary completeness", role, reverse("services:summary-completeness"), None),
            ("notices received", role, reverse("notices:received"), f"{ADMIN}notices/notice/"),
            (
                "notices sent",
                role,
                reverse("notices:sent"),
                f"{ADMIN}notices/notice/?sender_region__id__exact={r.pk}",
            ),
            ("spot-check batches", role, reverse("spotchecks:batch-list"), admin_url(SpotCheckBatch, "")),
            ("rectifications", role, reverse("spotchecks:rectification-list"), None),
            ("my exports", role, reverse("export-list"), None),
        ]
    prov, city, county = regions["province"], regions["city"], regions["county"]
    for role, r in (("province", prov), ("city", city), ("county", county)):
        sc = rng("station__region", r) + "&station__deleted_at__isnull=True&deleted_at__isnull=True"
        clients, activities = (
            reverse("services:official-client-list"),
            reverse("services:official-activity-list"),
        )
        apps = reverse("registration:review-queue")
        out += [
            ("clients: search name 张伟", role, f"{clients}?q=张伟", admin_url(SClient, f"{sc}&q=张伟")),
            (
                "clients: filed=yes gender=female",
                role,
                f"{clients}?filed=yes&gender=female",
                admin_url(SClient, f"{sc}&filed__exact=1&gender__exact=female"),
            ),
            ("activities: search 长者", role, f"{activities}?q=长者", admin_url(Activity, f"{sc}&q=长者")),
            (
                "activities: category=group status=ongoing",
                role,
                f"{activities}?category=group&status=ongoing",
                admin_url(Activity, f"{sc}&category__exact=group&status__exact=ongoing"),
            ),
            (
                "applications: search 张伟",
                role,
                f"{apps}?scope=all&q=张伟",
                admin_url(RegistrationApplication, f"{rng('region', r)}&{NONDRAFT}&q=张伟"),
            ),
        ]
    sc = rng("station__region", prov) + "&station__deleted_at__isnull=True&deleted_at__isnull=True"
    scc = rng("station__region", city) + "&station__deleted_at__isnull=True&deleted_at__isnull=True"
    clients, activities = reverse("services:official-client-list"), reverse("services:official-activity-list")
    apps, profiles = reverse("registration:review-queue"), reverse("registration:profile-queue")
    registry = reverse("registration:registry")
    from swms.encrypted_fields import hash_value

    some_client = (
        SClient.objects.filter(station__region__parent=county, deleted_at__isnull=True)
        .exclude(id_number="")
        .order_by("id")
        .first()
    )
    if some_client:
        out.append(
            (
                "clients: search ID number",
                "province",
                # The page takes an ID number only as its keyed hash (swms.id_search).
                f"{clients}?idh={hash_value(some_client.id_number)}",
                admin_url(SClient, f"{sc}&id_number={some_client.id_number}"),
            )
        )
    reg = admin_url(Registration, rng("region", prov))
    out += [
        ("clients: person_type=elderly", "province", f"{clients}?person_type=elderly", None),
        ("clients: region=广州市 (tree)", "province", f"{clients}?region={city.pk}", admin_url(SClient, scc)),
        ("clients: page 100", "province", f"{clients}?page=100", admin_url(SClient, f"{sc}&p=100")),
        ("clients: page 1000", "province", f"{clients}?page=1000", admin_url(SClient, f"{sc}&p=1000")),
        ("clients: page 100", "city", f"{clients}?page=100", admin_url(SClient, f"{scc}&p=100")),
        (
            "activities: region=广州市 (tree)",
            "province",
            f"{activities}?region={city.pk}",
            admin_url(Activity, scc),
        ),
        ("activities: person_type=orphan", "province", f"{activities}?person_type=orphan", None),
        ("activities: page 100", "province", f"{activities}?page=100", admin_url(Activity, f"{sc}&p=100")),
        ("activities: page 1000", "province", f"{activities}?page=1000", admin_url(Activity, f"{sc}&p=1000")),
        (
            "applications: status=approved",
            "province",
            f"{apps}?scope=all&status=approved",
            admin_url(RegistrationApplication, f"{rng('region', prov)}&status__exact=approved"),
        ),
        (
            "applications: region=广州市 (tree)",
            "province",
            f"{apps}?scope=all&region={city.pk}",
            admin_url(RegistrationApplication, f"{rng('region', city)}&{NONDRAFT}"),
        ),
        (
            "worker profiles: search 张伟",
            "province",
            f"{profiles}?scope=all&q=张伟",
            admin_url(SocialWorker, f"{rng('work_region', prov)}&{NONDRAFT}&q=张伟"),
        ),
        ("registry: page 100", "province", f"{registry}?page=100", f"{reg}&p=100"),
        ("registry: region=广州市 ce_short=1", "province", f"{registry}?region={city.pk}&ce_short=1", None),
        (
            "stations: search 街道",
            "province",
            f"{reverse('stations:list')}?q=街道",
            admin_url(Station, f"{rng('region', prov)}&deleted_at__isnull=True&q=街道"),
        ),
        (
            "stations: page 60",
            "province",
            f"{reverse('stations:list')}?page=60",
            admin_url(Station, f"{rng('region', prov)}&deleted_at__isnull=True&p=60"),
        ),
        (
            "station workers: search 王",
            "province",
            f"{reverse('stations:worker-overview')}?q=王",
            admin_url(
                StationWorker,
                f"{rng('station__region', prov)}&station__deleted_at__isnull=True&left_on__isnull=True&q=王",
            ),
        ),
        (
            "summaries: page 100",
            "province",
            f"{reverse('services:summary-queue')}?scope=all&page=100",
            admin_url(MonthlySummary, f"{rng('station__region', prov)}&{NONDRAFT}&p=100"),
        ),
        (
            "summary completeness: region=广州市",
            "province",
            f"{reverse('services:summary-completeness')}?region={city.pk}",
            None,
        ),
        ("statistics: 广州市", "province", reverse("reports:statistics-region", args=[city.pk]), None),
    ]
    batch = SpotCheckBatch.objects.filter(region=prov).order_by("pk").first()
    if batch:
        out += [
            (
                "spot-check batch",
                "province",
                reverse("spotchecks:batch-detail", args=[batch.pk]),
                admin_url(SpotCheckItem, f"batch__id__exact={batch.pk}"),
            ),
            ("spot-check report", "province", reverse("spotchecks:batch-report", args=[batch.pk]), None),
        ]
    s = station.pk
    out += [
        ("station workbench", "station", reverse("reports:station-workbench"), None),
        (
            "station: clients",
            "station",
            reverse("services:client-list"),
            admin_url(SClient, f"station__id__exact={s}&deleted_at__isnull=True"),
        ),
        (
            "station: clients search 张",
            "station",
            f"{reverse('services:client-list')}?q=张",
            admin_url(SClient, f"station__id__exact={s}&deleted_at__isnull=True&q=张"),
        ),
        ("station: activity overview", "station", reverse("services:activity-overview"), None),
        (
            "station: activities (group)",
            "station",
            reverse("services:activity-list", args=["group"]),
            admin_url(Activity, f"station__id__exact={s}&category__exact=group&deleted_at__isnull=True"),
        ),
        (
            "station: activities (visit)",
            "station",
            reverse("services:activity-list", args=["visit"]),
            admin_url(Activity, f"station__id__exact={s}&category__exact=visit&deleted_at__isnull=True"),
        ),
        (
            "station: monthly summaries",
            "station",
            reverse("services:summary-list"),
            admin_url(MonthlySummary, f"station__id__exact={s}"),
        ),
        (
            "station: workers",
            "station",
            reverse("stations:workers"),
            admin_url(StationWorker, f"station__id__exact={s}&left_on__isnull=True"),
        ),
        ("station: notices received", "station", reverse("notices:received"), None),
        ("station: my exports", "station", reverse("export-list"), None),
    ]
    return out


def replay(selects):
    from django.db import connection

    with connection.cursor() as cur:
        for sql in selects:
            cur.execute(sql)
            cur.fetchall()


def explain(sql):
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
        data = cur.fetchone()[0]
    return json.loads(data) if isinstance(data, str) else data


def run(args):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    regions, station, users = accounts()
    plist = page_list(regions, station)
    if args.pages:
        wanted = [w.strip() for w in args.pages.split(",") if w.strip()]
        plist = [p for p in plist if any(w in p[0] for w in wanted)]
    if args.roles:
        roles = {w.strip() for w in args.roles.split(",")}
        plist = [p for p in plist if p[1] in roles]
    if args.list:
        for label, role, url, admin in plist:
            print(f"{role:8} {label:45} {url}  {'admin' if admin else ''}")
        return
    clients = {}
    for role, user in users.items():
        c = Client()
        c.force_login(user, backend=LOGIN_BACKEND)  # as a password login signs in
        clients[role] = c
    print(f"{len(plist)} pages; station {station.code} ({station.name}); n={args.n}", flush=True)
    results, out = [], Path(args.out)
    explain_dir = Path(args.explain) if args.explain else None
    if explain_dir:
        explain_dir.mkdir(parents=True, exist_ok=True)
    for label, role, url, admin in plist:
        c, a = clients[role], clients["admin"]
        status = c.get(url).status_code
        if status != 200:
            print(f"{role:8} {label:45} HTTP {status} — skipped ({url})", flush=True)
            results.append({"page": label, "role": role, "url": url, "status": status})
            continue
        if admin and a.get(admin).status_code != 200:
            print(f"  admin changelist {admin} failed; timing the page alone", flush=True)
            admin = None
        for _ in range(args.warm - 1):
            c.get(url)
            if admin:
                a.get(admin)
        with CaptureQueriesContext(connection) as cq:
            resp = c.get(url)
        queries = [q["sql"] for q in cq.captured_queries]
        selects = [q for q in queries if q.lstrip().upper().startswith(("SELECT", "WITH"))]
        admin_nq = None
        if admin:
            with CaptureQueriesContext(connection) as caq:
                a.get(admin)
            admin_nq = len(caq.captured_queries)
        page_t, admin_t, sql_t = [], [], []
        for _ in range(args.n):
            t = time.perf_counter()
            c.get(url)
            page_t.append((time.perf_counter() - t) * 1000)
            if admin:
                t = time.perf_counter()
                a.get(admin)
                admin_t.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            replay(selects)
            sql_t.append((time.perf_counter() - t) * 1000)
        row = {
            "page": label,
            "role": role,
            "p50_ms": round(statistics.median(page_t), 1),
            "p95_ms": round(pct(page_t, 95), 1),
            "queries": len(queries),
            "admin_p50_ms": round(statistics.median(admin_t), 1) if admin_t else None,
            "sql_p50_ms": round(statistics.median(sql_t), 1),
            "admin_p95_ms": round(pct(admin_t, 95), 1) if admin_t else None,
            "admin_queries": admin_nq,
            "url": url,
            "admin_url": admin,
            "status": resp.status_code,
            "bytes": len(resp.content),
            "offset": any(" OFFSET " in q for q in selects),
            "counts": sum("COUNT(*)" in q.upper() for q in selects),
        }
        if explain_dir:
            timed = []
            for sql in selects:
                t = time.perf_counter()
                replay([sql])
                timed.append(((time.perf_counter() - t) * 1000, sql))
            slug = re.sub(r"[^a-z0-9]+", "_", f"{role}_{label}".lower()).strip("_")
            with open(explain_dir / f"{slug}.json", "w") as fh:
                plans = [
                    {"replay_ms": ms, "sql": sql, "plan": explain(sql)} for ms, sql in sorted(timed)[::-1][:2]
                ]
                json.dump(plans, fh, ensure_ascii=False, indent=1)
        results.append(row)
        ratio = f"{row['p50_ms'] / row['admin_p50_ms']:.2f}x admin" if admin_t else "no admin"
        print(
            f"{role:8} {label:45} p50 {row['p50_ms']:7.1f} p95 {row['p95_ms']:7.1f} q={row['queries']:3} | "
            f"admin p50 {row['admin_p50_ms'] or 0:7.1f} ({ratio}) | sql p50 {row['sql_p50_ms']:7.1f} "
            f"({row['p50_ms'] / max(row['sql_p50_ms'], 0.01):.1f}x)",
            flush=True,
        )
        out.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1))
    print(f"wrote {len(results)} rows to {out}")
