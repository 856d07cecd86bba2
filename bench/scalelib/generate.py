"""`bench/scale.py generate`: TRUNCATE + COPY generator of a province- or country-size SWMS database.

Ported from `../shared/scale/gen.py` (the reference harness) and kept current with the schema.

Re-runnable: every generated table is TRUNCATEd (RESTART IDENTITY ... CASCADE) first; the regions stay
(imported with `manage.py import_regions` when missing). Rows are written with COPY (psycopg 3) with
explicit ids; FK triggers are off during the load (session_replication_role = replica) and every FK of
the loaded tables is checked with an anti-join afterwards; CHECK constraints stay enforced. The
secondary indexes and unique constraints of the big tables are dropped before the load and rebuilt
after it (their definitions are saved in the database first, so a crashed run's next run restores
them). Activity links stream through two extra connections (no buffering of the link rows).
Then review-log submission times, spot-check batches, ANALYZE and the statistics aggregates.

Accounts (password unusable; the page and load harnesses use force_login):
  perf_admin (superuser), off_<12-digit region code> for every region (official),
  station accounts = station code, sw<7 digits> social workers, org<5 digits> organizations.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import time
from array import array
from collections import defaultdict
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[2]

TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
NOW = dt.datetime.now(UTC)
TODAY = NOW.astimezone(TZ).date()
THIS_MONTH = TODAY.replace(day=1)

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金"
    "石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强文杰晓东海燕玉兰婷婷丹丹俊杰嘉怡梓涵子轩浩然欣怡宇航思远雨彤"
    "佳琪诗涵一诺子墨梓萱梓豪紫涵欣妍浩宇鑫磊春梅建华国强"
)
CITY_WEIGHT = {  # resident population (millions), rough
    "广州市": 18.8,
    "深圳市": 17.8,
    "珠海市": 2.5,
    "汕头市": 5.5,
    "佛山市": 9.6,
    "韶关市": 2.9,
    "河源市": 2.8,
    "梅州市": 3.8,
    "惠州市": 6.1,
    "汕尾市": 2.7,
    "东莞市": 10.5,
    "中山市": 4.5,
    "江门市": 4.8,
    "阳江市": 2.6,
    "湛江市": 7.0,
    "茂名市": 6.2,
    "肇庆市": 4.1,
    "清远市": 4.0,
    "潮州市": 2.6,
    "揭阳市": 5.6,
    "云浮市": 2.4,
}
PERSON_TYPES = [
    "elderly",
    "disabled",
    "child",
    "left_behind",
    "distressed_child",
    "orphan",
    "dibao",
    "extreme_poverty",
    "low_income",
    "vagrant",
    "resident",
    "other",
]
PERSON_W = [30, 8, 10, 4, 2, 1, 8, 3, 6, 1, 25, 2]
DOMAINS = [
    "social_assistance",
    "child_welfare",
    "elderly_care",
    "community_governance",
    "disability",
    "marriage_family",
    "mental_health",
    "education",
    "employment",
    "worker_support",
    "crime_prevention",
    "drug_rehab",
    "corrections",
    "mediation",
    "emergency",
    "psychosocial",
    "charity",
    "other",
]
CATEGORIES = ["case", "group", "community", "visit", "consultation", "referral", "volunteer"]
CAT_W = [15, 10, 20, 25, 15, 8, 7]

# Tables holding generated rows (TRUNCATE ... CASCADE also empties what hangs on them, history tables included).
RESET_TABLES = [
    "accounts_user",
    "registration_qualification",
    "stations_stationcodesequence",
    "django_session",
    "notices_notice",
    "swms_reviewlog",
    "swms_exportjob",
    "registration_cerecord",
    "reports_statcount",
    "reports_statrollup",
]
# Big tables whose secondary indexes are dropped during the load and rebuilt after it.
REINDEX_TABLES = [
    "services_activity_clients",
    "services_activity_workers",
    "services_client",
    "services_activity",
    "swms_reviewlog",
    "notices_message",
    "registration_socialworker",
    "accounts_user",
    "registration_registrationapplication",
    "registration_registration",
    "registration_qualification",
    "notices_noticeread",
    "registration_cerecord",
]


STARTED = time.perf_counter()


def log(msg):
    print(f"[{time.perf_counter() - STARTED:7.1f}s] {msg}", flush=True)


def restore_indexes(cur, saved):
    """Recreate the saved indexes and unique constraints that are missing."""
    cur.execute("SET maintenance_work_mem = '512MB'")
    for _t, iname, idef in saved["indexes"]:
        cur.execute("SELECT 1 FROM pg_indexes WHERE indexname = %s", (iname,))
        if not cur.fetchone():
            cur.execute(idef)
    for t, conname, definition in saved["constraints"]:
        cur.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", (conname,))
        if not cur.fetchone():
            cur.execute(f'ALTER TABLE {t} ADD CONSTRAINT "{conname}" {definition}')


# Sizes at scale 1 (province: Guangdong; national: the whole country).
SIZES = {
    "province": {
        "workers": 150_000,
        "stations": 2_000,
        "clients": 1_000_000,
        "activities": 600_000,
        "participants": 10.0,
        "regions": "data/regions/guangdong-2025.csv",
        "root": "440000000000",
    },
    "national": {
        "workers": 1_000_000,
        "stations": 30_000,
        "clients": 5_000_000,
        "activities": 2_000_000,
        "participants": 10.0,
        "regions": "data/regions/cn-regions-2025.csv",
        "root": None,
    },
}


def add_arguments(ap):
    ap.add_argument(
        "--scale",
        default="province",
        help="province, national, or a factor of the province size (0.1); national:F for a "
        "factor of the national size",
    )
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workers", type=int)
    ap.add_argument("--stations", type=int)
    ap.add_argument("--clients", type=int)
    ap.add_argument("--activities", type=int)
    ap.add_argument("--participants", type=float, help="mean clients per activity (10)")
    ap.add_argument(
        "--ce-share",
        type=float,
        default=0.7,
        help="share of registered workers with continuing-education records",
    )
    ap.add_argument("--no-aggregates", action="store_true", help="skip rebuilding the statistics aggregates")
    ap.add_argument(
        "--force",
        action="store_true",
        help="run against a database whose name contains neither 'perf' nor 'scale'",
    )


def parse_scale(value: str) -> tuple[str, float]:
    kind, _, factor = value.partition(":")
    if kind in SIZES:
        return kind, float(factor or 1)
    return "province", float(value)


def run(args):
    kind, s = parse_scale(args.scale)
    size = SIZES[kind]
    n_workers = int((args.workers or size["workers"]) * s)
    n_stations = int((args.stations or size["stations"]) * s)
    n_clients = int((args.clients or size["clients"]) * s)
    n_activities = int((args.activities or size["activities"]) * s)
    participants = args.participants or size["participants"]
    rnd = random.Random(args.seed)
    started = time.perf_counter()

    from django.contrib.contenttypes.models import ContentType
    from django.core.management import call_command
    from django.db import connection
    from stdnum.cn import ric

    dbname = connection.settings_dict["NAME"]
    if connection.vendor != "postgresql":
        raise SystemExit("generate needs PostgreSQL (DATABASE_URL=postgres://...)")
    if not any(w in dbname for w in ("perf", "scale")) and not args.force:
        raise SystemExit(
            f"refusing to TRUNCATE database {dbname!r}: its name contains neither 'perf' nor "
            "'scale' (pass --force if you really mean it)"
        )
    print(
        f"generate {kind} x{s} into {dbname}: {n_workers} workers, {n_stations} stations, {n_clients} clients, "
        f"{n_activities} activities, ~{participants} clients per activity",
        flush=True,
    )

    call_command("migrate", verbosity=0)
    from accounts.models import Region, User

    region_file = ROOT / size["regions"]
    need_root = size["root"] or "110000000000"
    if not Region.objects.filter(code=need_root).exists() or (
        kind == "national" and Region.objects.count() < 40_000
    ):
        call_command("import_regions", str(region_file), verbosity=0)
        log(f"imported regions from {region_file.name}")
    connection.ensure_connection()
    pg = connection.connection  # psycopg 3 connection (autocommit)
    cur = pg.cursor()

    # ------------------------------------------------------------------ helpers
    def sql(q, params=None):
        cur.execute(q, params)

    from django.db import models as djm

    from swms.encrypted_fields import encrypt_row, encrypted_pairs

    def columns_of(model):
        cols = []
        for f in model._meta.concrete_fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                default = NOW
            elif f.has_default():
                default = f.get_default()
            elif f.null:
                default = None
            elif isinstance(f, (djm.CharField, djm.TextField, djm.FileField)):
                default = ""
            else:
                default = KeyError  # must be given
            cols.append((f.attname, f.column, default, isinstance(f, djm.JSONField)))
        return cols

    def copy_model(model, rows):
        """COPY dict rows (keys: attnames; missing keys take the model default)."""
        cols = columns_of(model)
        table = model._meta.db_table
        names = ", ".join(f'"{c[1]}"' for c in cols)
        # ID and mobile numbers as the columns hold them: a Fernet token and its keyed hash (P2).
        pairs = encrypted_pairs(model)
        n = 0
        with cur.copy(f"COPY {table} ({names}) FROM STDIN") as cp:
            for row in rows:
                if pairs:
                    row = encrypt_row(pairs, row)
                out = []
                for attname, _col, default, is_json in cols:
                    v = row.get(attname, default)
                    if v is KeyError:
                        raise ValueError(f"{table}.{attname} missing")
                    if is_json and v is not None:
                        v = json.dumps(v, ensure_ascii=False)
                    out.append(v)
                cp.write_row(out)
                n += 1
        return n

    def copy_raw(table, names, tuples):
        n = 0
        with cur.copy(f"COPY {table} ({', '.join(names)}) FROM STDIN") as cp:
            for t in tuples:
                cp.write_row(t)
                n += 1
        return n

    def name():
        return rnd.choice(SURNAMES) + "".join(rnd.choice(GIVEN) for _ in range(rnd.choice((1, 2, 2))))

    used_ric = set()

    def make_ric(area: str, birth: dt.date, male: bool | None = None, used=used_ric) -> str:
        while True:
            seq = rnd.randrange(0, 1000)
            if male is not None and (seq % 2 == 1) != male:
                seq = (seq + 1) % 1000
            body = f"{area}{birth:%Y%m%d}{seq:03d}"
            number = body + ric.calc_check_digit(body + "0")
            if number not in used:
                used.add(number)
                return number

    def rand_date(a: dt.date, b: dt.date) -> dt.date:
        return a + dt.timedelta(days=rnd.randrange((b - a).days + 1))

    def rand_dt(a: dt.datetime, b: dt.datetime) -> dt.datetime:
        return a + dt.timedelta(seconds=rnd.randrange(int((b - a).total_seconds())))

    # ------------------------------------------------------------------ reset
    sql("SET session_replication_role = replica")
    sql("TRUNCATE " + ", ".join(RESET_TABLES) + " RESTART IDENTITY CASCADE")
    # Drop secondary indexes and unique constraints of the big tables; rebuilt at the end. Their
    # definitions are saved to a file first, so that a crashed run's next run restores them.
    sql("CREATE TABLE IF NOT EXISTS bench_scale_saved_indexes (id int PRIMARY KEY, saved jsonb NOT NULL)")
    cur.execute("SELECT saved FROM bench_scale_saved_indexes WHERE id = 1")
    left = cur.fetchone()
    if left:
        log("restoring the indexes a crashed run left dropped")
        restore_indexes(cur, left[0] if isinstance(left[0], dict) else json.loads(left[0]))
        sql("DELETE FROM bench_scale_saved_indexes")
    saved = {"indexes": [], "constraints": []}
    for t in REINDEX_TABLES:
        cur.execute(
            """SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
                       WHERE conrelid = %s::regclass AND contype = 'u'""",
            (t,),
        )
        saved["constraints"] += [(t, c, d) for c, d in cur.fetchall()]
        cur.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
                       WHERE i.tablename = %s AND i.indexname NOT IN
                       (SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)""",
            (t, t),
        )
        saved["indexes"] += [(t, n, d) for n, d in cur.fetchall()]
    sql("INSERT INTO bench_scale_saved_indexes VALUES (1, %s)", (json.dumps(saved),))
    for t, conname, _d in saved["constraints"]:
        sql(f'ALTER TABLE {t} DROP CONSTRAINT "{conname}"')
    for _t, iname, _d in saved["indexes"]:
        sql(f'DROP INDEX "{iname}"')
    saved_indexes, saved_constraints = saved["indexes"], saved["constraints"]
    log(f"reset done; dropped {len(saved_indexes)} indexes and {len(saved_constraints)} unique constraints")

    # ------------------------------------------------------------------ regions
    # Province scale: the Guangdong tree only (even when the country's regions are in the database).
    scope = Region.objects.all()
    if size["root"]:
        scope = scope.filter(tree_id=Region.objects.get(code=size["root"]).tree_id)
    regions = {r.pk: r for r in scope.exclude(level="village")}
    provinces = sorted((r for r in regions.values() if r.level == "province"), key=lambda r: r.code)

    def ancestor(r, level):
        while r is not None and r.level != level:
            r = regions.get(r.parent_id)
        return r

    def city_like(r):  # a municipality (北京市) has no cities: its province stands in
        return ancestor(r, "city") or ancestor(r, "province")

    towns = [r for r in regions.values() if r.level == "town"]
    towns.sort(key=lambda r: r.code)
    counties = sorted((r for r in regions.values() if r.level == "county"), key=lambda r: r.code)
    cities = sorted((r for r in regions.values() if r.level == "city"), key=lambda r: r.code)
    city_of = {t.pk: city_like(t) for t in towns}
    {t.pk: ancestor(t, "county") for t in towns}
    towns_by_city = defaultdict(list)
    for t in towns:
        towns_by_city[city_of[t.pk].pk].append(t)
    # Per-town weight: the city's population spread evenly over its towns.
    town_w = [CITY_WEIGHT.get(city_of[t.pk].name, 3.0) / len(towns_by_city[city_of[t.pk].pk]) for t in towns]

    def area_of(region):
        c = ancestor(region, "county") or city_like(region)
        return c.code[:6]

    def review_chain(region):  # county initial (if any), city final (else province)
        return ancestor(region, "county"), city_like(region)

    def county_only(region):
        county, final = review_chain(region)
        return county or final

    # ------------------------------------------------------------------ users
    uid = 0
    user_rows = []

    def add_user(**kw):
        nonlocal uid
        uid += 1
        row = {
            "id": uid,
            "password": "!",
            "is_superuser": False,
            "is_staff": False,
            "is_active": True,
            "date_joined": NOW - dt.timedelta(days=400),
            "password_changed_at": NOW,
            "must_change_password": False,
            **kw,
        }
        user_rows.append(row)
        return uid

    add_user(username="perf_admin", kind="", is_superuser=True, is_staff=True, full_name="运维管理员")
    official_of = {}
    for r in sorted(regions.values(), key=lambda r: r.code):
        official_of[r.pk] = add_user(
            username=f"off_{r.code}",
            kind="official",
            region_id=r.pk,
            full_name=f"{r.name}民政干部",
            phone=f"1350{r.pk:07d}",
        )
    # Stations: one per town, a hub per county and city, the rest as second stations of populous towns.
    station_specs = []
    for c in cities:
        station_specs.append((c, "hub"))
    for c in counties:
        station_specs.append((c, "hub"))
    for t in towns:
        station_specs.append((t, "station"))
    extra = max(0, n_stations - len(station_specs))
    for t in rnd.choices(towns, weights=town_w, k=extra):
        station_specs.append((t, "station"))
    station_specs = station_specs[:n_stations] if n_stations < len(station_specs) else station_specs
    seq_of = defaultdict(int)
    stations = []  # dicts

    def province_of(region):  # as Region.province_pk(): the province on the path, else the tree's root
        while region.level != "province" and region.parent_id is not None:
            region = regions[region.parent_id]
        return region.pk

    for sid, (region, tier) in enumerate(station_specs, 1):
        seq_of[region.pk] += 1
        code = f"{region.code}{seq_of[region.pk]:03d}"
        label = "社会工作服务总站" if tier == "hub" else "社会工作服务站"
        sname = f"{region.name}{label}" + (f"（{seq_of[region.pk]}）" if seq_of[region.pk] > 1 else "")
        acct = add_user(username=code, kind="station", region_id=region.pk, full_name=sname)
        stations.append(
            {"id": sid, "code": code, "name": sname, "tier": tier, "region": region, "account": acct,
             "province": province_of(region)}
        )
    n_orgs = max(10, int(300 * s))
    org_accounts = [
        add_user(username=f"org{i:05d}", kind="organization", full_name=f"社工机构{i}") for i in range(n_orgs)
    ]
    # Social workers: weighted over towns.
    worker_towns = rnd.choices(towns, weights=town_w, k=n_workers)
    workers = []
    for i, town in enumerate(worker_towns):
        male = rnd.random() < 0.3
        birth = rand_date(dt.date(1965, 1, 1), dt.date(2001, 12, 31))
        number = make_ric(area_of(town), birth, male)
        nm = name()
        u = add_user(
            username=f"sw{i:07d}",
            kind="social_worker",
            full_name=nm,
            id_number=number,
            phone=f"139{i:08d}",
            date_joined=NOW - dt.timedelta(days=rnd.randrange(30, 1500)),
        )
        workers.append((u, nm, number, male, birth, town))
    log(f"building {len(user_rows)} users")
    copy_model(User, user_rows)
    n_users = len(user_rows)
    user_rows.clear()
    log(f"users: {n_users}")

    # ------------------------------------------------------------------ qualifications + profiles
    from registration.models import (
        Organization,
        Qualification,
        Registration,
        RegistrationApplication,
        SocialWorker,
    )

    levels = rnd.choices(["assistant", "intermediate", "senior"], weights=[70, 28, 2], k=n_workers)
    exam_years = [rnd.randint(2010, 2025) for _ in range(n_workers)]
    copy_model(
        Qualification,
        (
            {
                "id": i + 1,
                "id_number": w[2],
                "name": w[1],
                "level": levels[i],
                "certificate_no": f"Q{exam_years[i]}{i:08d}",
                "exam_year": exam_years[i],
                "issuing_province": "广东省",
                "source": "roster",
                "created_at": NOW - dt.timedelta(days=500),
            }
            for i, w in enumerate(workers)
        ),
    )
    log("qualifications")

    profile_status = rnd.choices(
        ["approved", "submitted", "draft", "returned"], weights=[95, 3, 1.5, 0.5], k=n_workers
    )

    def worker_rows():
        for i, (u, nm, number, male, birth, town) in enumerate(workers):
            st = profile_status[i]
            row = {
                "id": i + 1,
                "user_id": u,
                "name": nm,
                "id_number": number,
                "roster_locked": True,
                "gender": "male" if male else "female",
                "birth_date": birth,
                "ethnicity": "汉族",
                "hukou": "广东省",
                "native_place": "广东",
                "marital_status": "married",
                "political_status": "none",
                "education": "bachelor",
                "school": "某某大学",
                "major": "社会工作",
                "graduation_date": dt.date(birth.year + 22, 7, 1),
                "work_start_date": dt.date(birth.year + 22, 8, 1),
                "address": f"{town.name}某路{rnd.randint(1, 300)}号",
                "postcode": "510000",
                "mobile": f"139{i:08d}",
                "email": f"sw{i}@example.cn",
                "full_time": True,
                "years_in_social_work": rnd.randint(1, 20),
                "position": "frontline",
                "work_region_id": town.pk,
                "employer": f"{city_of[town.pk].name}某社工服务中心",
                "practice_domains": rnd.sample(
                    ["community", "elderly", "youth", "civil_affairs", "disability"], 2
                ),
                "experience": "从事社区社会工作。",
                "status": st,
                "updated_at": NOW - dt.timedelta(days=rnd.randrange(400)),
            }
            if st != "draft":
                row.update(
                    {
                        "final_region_id": county_only(town).pk,
                        "submitted_by_id": u,
                        "submitted_at": NOW - dt.timedelta(days=rnd.randrange(1, 700)),
                    }
                )
                if st in ("approved", "returned"):
                    row["decided_at"] = row["submitted_at"] + dt.timedelta(days=rnd.randrange(1, 10))
            yield row

    copy_model(SocialWorker, worker_rows())
    log("social worker profiles")

    # ------------------------------------------------------------------ applications, registrations
    from registration.models import CE_HOURS_REQUIRED, CERecord

    providers = ["广东省社会工作师联合会", "中国社会工作教育协会", "省社工人才培训基地", "市社会工作协会"]

    def ce_rows(regs):
        """The CE ledger: a share of registered workers have 1-6 records inside their registration period,
        about half of them enough hours for a renewal (the registry's CE filters have both kinds)."""
        cid = 0
        for reg in regs:
            if rnd.random() >= args.ce_share:
                continue
            need = float(CE_HOURS_REQUIRED[reg["level"]])
            total = need * rnd.uniform(0.3, 1.4)
            k = rnd.randint(1, 6)
            start = reg["valid_from"]
            end = max(start, min(reg["valid_to"], TODAY))
            for _j in range(k):
                cid += 1
                source = rnd.choices(["online", "offline", "imported"], weights=[60, 25, 15])[0]
                provider = rnd.choice(providers)
                yield {
                    "id": cid,
                    "worker_id": reg["worker_id"],
                    "source": source,
                    "hours": Decimal(max(1, round(total / k))),
                    "completed_on": rand_date(start, end),
                    "provider": provider,
                    "course": rnd.choice(["社会工作伦理", "个案管理实务", "社区治理", "督导技巧"]),
                    "external_ref": f"R{cid:09d}" if source == "imported" else "",
                    "status": "pending" if source == "offline" and rnd.random() < 0.05 else "accepted",
                    "created_at": dt.datetime.combine(start, dt.time(9), tzinfo=TZ),
                }

    ct = {m: ContentType.objects.get_for_model(m).pk for m in (RegistrationApplication, SocialWorker)}
    from services.models import MonthlySummary

    ct[MonthlySummary] = ContentType.objects.get_for_model(MonthlySummary).pk
    app_status = rnd.choices(
        ["approved", "submitted", "county_approved", "returned", "rejected", "draft"],
        weights=[94.5, 3, 2, 0.2, 0.15, 0.15],
        k=n_workers,
    )
    reviewlog = []  # tuples
    review_cols = [
        "object_id",
        "action",
        "step",
        "from_state",
        "to_state",
        "comment",
        "created_at",
        "actor_id",
        "actor_region_id",
        "content_type_id",
    ]
    reg_rows = []
    app_rows = []
    for i, (u, _nm, _number, _male, _birth, town) in enumerate(workers):
        st = app_status[i]
        county, final = review_chain(town)
        kind = rnd.choices(["first", "renewal", "late", "reissue"], weights=[70, 25, 4, 1])[0]
        created = NOW - dt.timedelta(days=rnd.randrange(5, 1000))
        row = {
            "id": i + 1,
            "applicant_id": u,
            "worker_id": i + 1,
            "kind": kind,
            "qualification_id": i + 1,
            "region_id": town.pk,
            "pickup": "electronic" if kind in ("renewal", "late") else "mail",
            "mailing_address": "",
            "pledge": True,
            "pledged_at": created,
            "created_at": created,
            "updated_at": created,
            "status": st,
        }
        if st != "draft":
            sub = created + dt.timedelta(hours=rnd.randrange(1, 48))
            if st in ("submitted", "county_approved"):
                sub = NOW - dt.timedelta(days=rnd.randrange(0, 40), hours=rnd.randrange(24))
            row.update(
                {
                    "initial_region_id": county.pk if county else None,
                    "final_region_id": final.pk,
                    "submitted_by_id": u,
                    "submitted_at": sub,
                }
            )
            reviewlog.append(
                (
                    i + 1,
                    "submit",
                    "applicant",
                    "draft",
                    "submitted",
                    "",
                    sub,
                    u,
                    None,
                    ct[RegistrationApplication],
                )
            )
            t = sub
            if st in ("approved", "county_approved") and county:
                t = t + dt.timedelta(days=rnd.randrange(1, 5))
                reviewlog.append(
                    (
                        i + 1,
                        "approve",
                        "initial",
                        "submitted",
                        "county_approved",
                        "",
                        t,
                        official_of[county.pk],
                        county.pk,
                        ct[RegistrationApplication],
                    )
                )
            if st == "approved":
                t = t + dt.timedelta(days=rnd.randrange(1, 5))
                reviewlog.append(
                    (
                        i + 1,
                        "approve",
                        "final",
                        "county_approved" if county else "submitted",
                        "approved",
                        "",
                        t,
                        official_of[final.pk],
                        final.pk,
                        ct[RegistrationApplication],
                    )
                )
                row["decided_at"] = t
                vf = t.astimezone(TZ).date()
                reg_rows.append(
                    {
                        "id": len(reg_rows) + 1,
                        "worker_id": i + 1,
                        "application_id": i + 1,
                        "registration_no": f"GD{vf:%Y}{i:08d}",
                        "kind": kind,
                        "level": levels[i],
                        "qualification_id": i + 1,
                        "region_id": town.pk,
                        "valid_from": vf,
                        "valid_to": vf.replace(year=vf.year + 3)
                        if not (vf.month == 2 and vf.day == 29)
                        else dt.date(vf.year + 3, 2, 28),
                        "status": "valid" if rnd.random() < 0.97 else "frozen",
                        "certificate_due_on": vf,
                        "created_at": t,
                    }
                )
            if st in ("returned", "rejected"):
                t = t + dt.timedelta(days=2)
                reviewer = county or final
                reviewlog.append(
                    (
                        i + 1,
                        "return" if st == "returned" else "reject",
                        "initial" if county else "final",
                        "submitted",
                        st,
                        "材料不全",
                        t,
                        official_of[reviewer.pk],
                        reviewer.pk,
                        ct[RegistrationApplication],
                    )
                )
                row["decided_at"] = t
        app_rows.append(row)
    copy_model(RegistrationApplication, app_rows)
    copy_model(Registration, reg_rows)
    n_apps, n_regs = len(app_rows), len(reg_rows)
    app_rows.clear()
    n_ce = copy_model(CERecord, ce_rows(reg_rows))
    log(f"continuing-education records {n_ce}")
    reg_rows.clear()
    # Profile review logs.
    for i, (u, _nm, _number, _male, _birth, town) in enumerate(workers):
        if profile_status[i] == "approved":
            t = NOW - dt.timedelta(days=rnd.randrange(30, 900))
            fin = county_only(town)
            reviewlog.append(
                (i + 1, "submit", "applicant", "draft", "submitted", "", t, u, None, ct[SocialWorker])
            )
            reviewlog.append(
                (
                    i + 1,
                    "approve",
                    "final",
                    "submitted",
                    "approved",
                    "",
                    t + dt.timedelta(days=2),
                    official_of[fin.pk],
                    fin.pk,
                    ct[SocialWorker],
                )
            )
    log(f"applications {n_apps}, registrations {n_regs}")

    # ------------------------------------------------------------------ organizations, stations, workers
    from stations.models import Station, StationCodeSequence, StationOperator, StationWorker

    org_rows = []
    for i, acct in enumerate(org_accounts):
        town = rnd.choices(towns, weights=town_w)[0]
        county, final = review_chain(town)
        org_rows.append(
            {
                "id": i + 1,
                "account_id": acct,
                "name": f"{city_of[town.pk].name}{name()}社会工作服务中心{i}",
                "uscc": f"52440000MJ{i:07d}X"[:18],
                "legal_representative": name(),
                "region_id": town.pk,
                "address": f"{town.name}某路1号",
                "contact_person": name(),
                "contact_phone": "020-12345678",
                "service_domains": ["elderly_care"],
                "registration_authority": "民政局",
                "status": "approved",
                "initial_region_id": county.pk if county else None,
                "final_region_id": final.pk,
                "submitted_by_id": acct,
                "submitted_at": NOW - dt.timedelta(days=700),
                "decided_at": NOW - dt.timedelta(days=690),
            }
        )
    copy_model(Organization, org_rows)
    orgs_by_city = defaultdict(list)
    for o in org_rows:
        orgs_by_city[city_of[o["region_id"]].pk].append(o["id"])

    created_min = dt.datetime(2022, 1, 1, tzinfo=TZ)
    station_created_cut = dt.datetime(2024, 10, 1, tzinfo=TZ)

    def station_rows():
        for st in stations:
            r = st["region"]
            creator = official_of[(ancestor(r, "county") or city_like(r)).pk]
            deleted = rnd.random() < 0.01
            st["deleted"] = deleted
            st["created_at"] = rand_dt(created_min, station_created_cut)
            yield {
                "id": st["id"],
                "code": st["code"],
                "name": st["name"],
                "tier": st["tier"],
                "region_id": r.pk,
                "address": f"{r.name}某路{rnd.randint(1, 200)}号",
                "contact_person": name(),
                "contact_phone": f"020-{rnd.randint(10000000, 99999999)}",
                "founded_on": st["created_at"].date(),
                "floor_area": Decimal(rnd.randint(80, 800)),
                "service_domains": rnd.sample(DOMAINS, 3),
                "service_scope": f"{r.name}辖区",
                "account_id": st["account"],
                "created_by_id": creator,
                "created_at": st["created_at"],
                "updated_at": st["created_at"],
                "deleted_at": NOW - dt.timedelta(days=30) if deleted else None,
                "deleted_by_id": creator if deleted else None,
                "deleted_reason": "撤并" if deleted else "",
            }

    copy_model(Station, station_rows())
    copy_model(StationCodeSequence, ({"region_id": rid, "last": n} for rid, n in seq_of.items()))
    op_rows = []
    for st in stations:
        city = city_like(st["region"])
        if orgs_by_city.get(city.pk) and rnd.random() < 0.7:
            op_rows.append(
                {
                    "id": len(op_rows) + 1,
                    "station_id": st["id"],
                    "organization_id": rnd.choice(orgs_by_city[city.pk]),
                    "status": "active",
                    "valid_from": dt.date(2025, 1, 1),
                    "valid_to": dt.date(2027, 12, 31),
                }
            )
    copy_model(StationOperator, op_rows)
    # Station workers: ~6 per station, 60 % synced from the registry (same town if possible).
    workers_by_town = defaultdict(list)
    for i, w in enumerate(workers):
        workers_by_town[w[5].pk].append(i)
    sw_rows = []
    station_workers = {}  # station id -> list of current worker ids
    for st in stations:
        pool = workers_by_town.get(st["region"].pk, [])
        ids = []
        k = rnd.randint(4, 9)
        taken = set()
        for j in range(k):
            wid = len(sw_rows) + 1
            left = j >= k - 1 and rnd.random() < 0.3
            if pool and rnd.random() < 0.6:
                wi = rnd.choice(pool)
                if wi in taken:
                    continue
                taken.add(wi)
                u, nm, number, male, birth, town = workers[wi]
                row = {
                    "source": "synced",
                    "social_worker_id": wi + 1,
                    "name": nm,
                    "id_number": number,
                    "gender": "male" if male else "female",
                    "level": levels[wi],
                    "certificate_no": f"Q{exam_years[wi]}{wi:08d}",
                }
            else:
                male = rnd.random() < 0.3
                row = {
                    "source": "manual",
                    "name": name(),
                    "gender": "male" if male else "female",
                    "id_number": make_ric(
                        area_of(st["region"]), rand_date(dt.date(1970, 1, 1), dt.date(2000, 1, 1)), male
                    ),
                    "level": rnd.choice(["none", "assistant"]),
                }
            row.update(
                {
                    "id": wid,
                    "station_id": st["id"],
                    "mobile": f"138{wid:08d}",
                    "employer": "社工服务中心",
                    "is_head": j == 0,
                    "practice_since": dt.date(2018, 1, 1),
                    "joined_on": dt.date(2023, 1, 1),
                    "left_on": dt.date(2025, 6, 30) if left else None,
                    "left_reason": "离职" if left else "",
                    "created_at": st["created_at"],
                }
            )
            sw_rows.append(row)
            if not left:
                ids.append(wid)
        station_workers[st["id"]] = ids
    copy_model(StationWorker, sw_rows)
    n_sw = len(sw_rows)
    sw_rows.clear()
    log(
        f"organizations {len(org_rows)}, stations {len(stations)}, operators {len(op_rows)}, station workers {n_sw}"
    )

    # ------------------------------------------------------------------ clients
    from services.models import Activity, ActivityCodeCounter, Client

    # Clients per station: proportional with noise (hubs get fewer).
    sw_weights = [rnd.uniform(0.5, 1.5) * (0.4 if st["tier"] == "hub" else 1.0) for st in stations]
    tot = sum(sw_weights)
    clients_per = [max(20, int(n_clients * w / tot)) for w in sw_weights]
    diff = n_clients - sum(clients_per)
    clients_per[0] += diff
    station_clients = {}
    # Each client's person types as a bit mask (index = client id): the activities' stored client_types are
    # computed while their links stream, instead of one UPDATE joining every link to every client afterwards.
    client_type_bits = array("H", bytes(2 * (n_clients + 2)))
    cid = 0
    client_created_min = dt.datetime(2023, 1, 1, tzinfo=TZ)

    def client_rows():
        nonlocal cid
        for st, k in zip(stations, clients_per, strict=False):
            ids = array("l")
            area = area_of(st["region"])
            used_here = set()  # ID numbers are unique per station (client_unique_id_per_station)
            for _ in range(k):
                cid += 1
                male = rnd.random() < 0.45
                birth = rand_date(dt.date(1930, 1, 1), dt.date(2020, 12, 31))
                has_id = rnd.random() < 0.8
                types = rnd.choices(PERSON_TYPES, weights=PERSON_W, k=rnd.choice((1, 1, 2)))
                deleted = rnd.random() < 0.01
                created = rand_dt(client_created_min, NOW - dt.timedelta(days=1))
                if not deleted:
                    ids.append(cid)
                for t in types:
                    client_type_bits[cid] |= 1 << PERSON_TYPES.index(t)
                yield {
                    "id": cid,
                    "station_id": st["id"],
                    "name": name(),
                    "gender": "male" if male else "female",
                    "id_number": make_ric(area, birth, male, used_here) if has_id else "",
                    "birth_date": birth if has_id or rnd.random() < 0.5 else None,
                    "age": None,
                    "person_types": sorted(set(types)),
                    "phone": f"13{rnd.randint(100000000, 999999999)}",
                    "address": f"{st['region'].name}某社区{rnd.randint(1, 50)}号",
                    "notes": "",
                    "filed": rnd.random() < 0.6,
                    "source": "manual",
                    "created_by_id": st["account"],
                    "created_at": created,
                    "updated_at": created,
                    "deleted_at": created + dt.timedelta(days=10) if deleted else None,
                }
            station_clients[st["id"]] = ids

    def client_rows_fixed():
        for row in client_rows():
            if row["birth_date"] is None:
                row["age"] = rnd.randint(5, 90)
            yield row

    n_cl = copy_model(Client, client_rows_fixed())
    log(f"clients {n_cl}")

    # ------------------------------------------------------------------ activities + participation
    first_month = (THIS_MONTH - dt.timedelta(days=1)).replace(day=1)
    months = []
    m = first_month
    for _ in range(24):
        months.append(m)
        m = (m - dt.timedelta(days=1)).replace(day=1)
    months.reverse()  # 24 full months before this one
    months + [THIS_MONTH]
    period_start = dt.datetime.combine(months[0], dt.time.min, tzinfo=TZ)
    period_end = NOW.astimezone(TZ) - dt.timedelta(hours=1)
    act_per = [max(10, int(n_activities * k / n_clients)) for k in clients_per]
    act_per[0] += n_activities - sum(act_per)
    counters = defaultdict(int)
    month_stats = {}  # (station, month) -> [activities, distinct clients, links]
    aid = 0
    link_id = [0, 0]
    # The link rows stream through two more connections while the activities COPY runs on this one.
    import psycopg

    link_conns = [psycopg.connect(pg.info.dsn, autocommit=True) for _ in range(2)]
    for lc in link_conns:
        lc.execute("SET session_replication_role = replica")
    ac_copy = (
        link_conns[0].cursor().copy("COPY services_activity_clients (id, activity_id, client_id) FROM STDIN")
    )
    aw_copy = (
        link_conns[1]
        .cursor()
        .copy("COPY services_activity_workers (id, activity_id, stationworker_id) FROM STDIN")
    )

    group_share = sum(
        w for c, w in zip(CATEGORIES, CAT_W, strict=False) if c in ("group", "community", "volunteer")
    ) / sum(CAT_W)
    group_mean = max(2.0, (participants - (1 - group_share) * 2) / group_share)
    group_lo, group_hi = 5, max(6, int(round(2 * group_mean - 5)))

    def month_of(d: dt.datetime) -> dt.date:
        return d.astimezone(TZ).date().replace(day=1)

    def activity_rows(ac, aw):
        nonlocal aid
        for st, k in zip(stations, act_per, strict=False):
            st_months = defaultdict(lambda: [0, set(), 0])  # this station's months, folded into counts below
            yield from station_activities(st, k, ac, aw, st_months)
            for mo, (n, seen, links) in st_months.items():
                month_stats[(st["id"], mo)] = (n, len(seen), links)

    def station_activities(st, k, ac, aw, st_months):
        nonlocal aid
        if True:
            cl = list(station_clients.pop(st["id"]))
            wk = station_workers[st["id"]] or [None]
            starts = sorted(rand_dt(period_start, period_end) for _ in range(k))
            for start in starts:
                aid += 1
                mo = month_of(start)
                counters[(st["id"], mo)] += 1
                cat = rnd.choices(CATEGORIES, weights=CAT_W)[0]
                recent = (NOW - start).days < 45
                ongoing = rnd.random() < (0.5 if recent else 0.02)
                deleted = rnd.random() < 0.005
                lead = rnd.choice(wk)
                if lead is None:
                    continue
                # Group-like activities (37 %) serve many clients, the one-to-one kinds 1-3; overall mean
                # participants (10 → ~6 M participation rows for 600 k activities).
                npart = min(
                    len(cl),
                    rnd.randint(group_lo, group_hi)
                    if cat in ("group", "community", "volunteer")
                    else rnd.randint(1, 3),
                )
                yield_row = {
                    "id": aid,
                    "station_id": st["id"],
                    "province_id": st["province"],
                    "category": cat,
                    "status": "ongoing" if ongoing else "ended",
                    "code": f"{st['code']}-{mo:%Y%m}-{counters[(st['id'], mo)]:04d}",
                    "name": f"{st['region'].name}{rnd.choice(['长者关爱', '儿童成长', '邻里互助', '困境帮扶', '政策宣传', '心理支持'])}活动",
                    "lead_worker_id": lead,
                    "contact_phone": "020-12345678",
                    "service_domains": rnd.sample(DOMAINS, 2),
                    "started_at": start,
                    "ended_at": None if ongoing else start + dt.timedelta(hours=rnd.choice((1, 2, 3, 48))),
                    "location": f"{st['region'].name}社区服务中心",
                    "volunteer_count": rnd.randint(0, 10),
                    "details": {"theme": "社区关爱", "plan": "按计划开展服务，服务对象积极参与。" * 2},
                    "summary": {}
                    if ongoing
                    else {"outcome": "活动顺利完成，达到预期目标。" * 2, "participants": npart},
                    "created_by_id": st["account"],
                    "created_at": start,
                    "updated_at": start,
                    "deleted_at": start + dt.timedelta(days=1) if deleted else None,
                }
                chosen = rnd.sample(cl, npart) if cl else []
                for c in chosen:
                    link_id[0] += 1
                    ac.write_row((link_id[0], aid, c))
                taking_part = rnd.sample(wk, min(len(wk), rnd.choice((1, 1, 2, 2, 3))))
                for w in taking_part:
                    link_id[1] += 1
                    aw.write_row((link_id[1], aid, w))
                bits = 0
                for c in chosen:
                    bits |= client_type_bits[c]
                yield_row["client_count"] = len(chosen)
                yield_row["worker_count"] = len(taking_part)
                yield_row["client_types"] = sorted(t for i, t in enumerate(PERSON_TYPES) if bits >> i & 1)
                if not deleted:
                    ms = st_months[mo]
                    ms[0] += 1
                    ms[1].update(chosen)
                    ms[2] += len(chosen)
                yield yield_row

    with ac_copy as ac, aw_copy as aw:
        copy_model(Activity, activity_rows(ac, aw))
    for lc in link_conns:
        lc.close()
    n_ac, n_aw = link_id
    copy_model(
        ActivityCodeCounter,
        (
            {"id": i + 1, "station_id": k[0], "month": k[1], "last": v}
            for i, (k, v) in enumerate(sorted(counters.items()))
        ),
    )
    log(f"activity links: clients {n_ac}, workers {n_aw}")

    # ------------------------------------------------------------------ monthly summaries
    sum_rows = []
    for st in stations:
        r = st["region"]
        fin = county_only(r)
        for mo in months:
            if dt.datetime.combine(mo, dt.time.min, tzinfo=TZ) < st["created_at"].replace(
                day=1, hour=0, minute=0, second=0, microsecond=0
            ):
                continue
            last = mo == months[-1]
            second_last = mo == months[-2]
            if last:
                status = rnd.choices(
                    ["submitted", "approved", "draft", "returned", None], weights=[55, 15, 10, 5, 15]
                )[0]
            elif second_last:
                status = rnd.choices(["approved", "submitted", "returned", None], weights=[80, 12, 3, 5])[0]
            else:
                status = rnd.choices(["approved", "submitted", "returned", None], weights=[97, 1, 1, 1])[0]
            if status is None:
                continue
            ms = month_stats.get((st["id"], mo), (0, 0, 0))
            created = dt.datetime.combine(mo, dt.time(10), tzinfo=TZ) + dt.timedelta(
                days=31 + rnd.randrange(5)
            )
            created = min(created, NOW - dt.timedelta(hours=2))
            row = {
                "id": len(sum_rows) + 1,
                "station_id": st["id"],
                "month": mo,
                "activity_count": ms[0],
                "persons_served": ms[1],
                "person_times": ms[2],
                "text": f"{mo:%Y年%m月}工作总结：按计划开展各项服务。",
                "created_by_id": st["account"],
                "created_at": created,
                "updated_at": created,
                "status": status,
            }
            if status != "draft":
                row.update(
                    {"final_region_id": fin.pk, "submitted_by_id": st["account"], "submitted_at": created}
                )
                reviewlog.append(
                    (
                        row["id"],
                        "submit",
                        "applicant",
                        "draft",
                        "submitted",
                        "",
                        created,
                        st["account"],
                        None,
                        ct[MonthlySummary],
                    )
                )
                if status in ("approved", "returned"):
                    row["decided_at"] = min(created + dt.timedelta(days=3), NOW - dt.timedelta(hours=1))
                    reviewlog.append(
                        (
                            row["id"],
                            "approve" if status == "approved" else "return",
                            "final",
                            "submitted",
                            status,
                            "" if status == "approved" else "请补充附件",
                            row["decided_at"],
                            official_of[fin.pk],
                            fin.pk,
                            ct[MonthlySummary],
                        )
                    )
            sum_rows.append(row)
    copy_model(MonthlySummary, sum_rows)
    n_sum = len(sum_rows)
    log(f"monthly summaries {n_sum}")
    month_stats.clear()

    # ------------------------------------------------------------------ review log
    copy_raw("swms_reviewlog", ["id"] + review_cols, ((i + 1, *t) for i, t in enumerate(reviewlog)))
    n_log = len(reviewlog)
    reviewlog.clear()
    log(f"review log {n_log}")

    # ------------------------------------------------------------------ notices, reads, messages
    from notices.models import Message, Notice

    notice_rows, _target_rows, read_rows = [], [], []
    senders = [(p, 30) for p in provinces] + [(c, 6) for c in cities] + [(c, 2) for c in counties]
    worker_users_by_city = defaultdict(list)
    for u, _nm, _number, _male, _birth, town in workers:
        worker_users_by_city[city_of[town.pk].pk].append(u)
    station_users_by_city = defaultdict(list)
    for st in stations:
        station_users_by_city[city_like(st["region"]).pk].append(st["account"])
    officials_below = defaultdict(list)
    for r in regions.values():
        c = city_like(r)
        if c and r.pk != c.pk:
            officials_below[c.pk].append(official_of[r.pk])
    by_province = defaultdict(lambda: defaultdict(list))  # province -> kind -> users
    for st in stations:
        by_province[ancestor(st["region"], "province").pk]["stations"].append(st["account"])
    for r in regions.values():
        if r.level != "province":
            by_province[ancestor(r, "province").pk]["officials"].append(official_of[r.pk])
    for w in workers:
        by_province[ancestor(w[5], "province").pk]["workers"].append(w[0])
    nid = 0
    for region, k in senders:
        for j in range(k):
            nid += 1
            flags = rnd.choice([(1, 1, 0, 0), (0, 1, 0, 0), (1, 0, 0, 0), (0, 0, 0, 1), (1, 1, 1, 1)])
            cat = rnd.choice(["notice", "announcement", "policy", "ce", "purchase"])
            pub = NOW - dt.timedelta(days=rnd.randrange(1, 700))
            notice_rows.append(
                {
                    "id": nid,
                    "sender_id": official_of[region.pk],
                    "sender_region_id": region.pk,
                    "title": f"关于做好{region.name}社会工作第{j + 1}项工作的通知",
                    "category": cat,
                    "content": "<p>各有关单位：请按要求做好相关工作。</p>" * 5,
                    "to_officials": bool(flags[0]),
                    "to_stations": bool(flags[1]),
                    "to_organizations": bool(flags[2]),
                    "to_workers": bool(flags[3]),
                    "is_public": cat in ("policy", "purchase") and rnd.random() < 0.5,
                    "status": "published",
                    "created_at": pub,
                    "updated_at": pub,
                    "published_at": pub,
                    "audience_count": 0,
                }
            )
            # Reads: a share of the audience (stations and officials of the sender's subtree).
            city = None if region.level == "province" else city_like(region)
            whole = by_province[region.pk]
            pool = []
            if flags[1]:
                pool += station_users_by_city[city.pk] if city else whole["stations"]
            if flags[0]:
                pool += officials_below[city.pk] if city else whole["officials"]
            if flags[3] and region.level != "county":
                wp = worker_users_by_city[city.pk] if city else whole["workers"]
                pool += rnd.sample(wp, min(len(wp), 20000))
            if region.level == "county":
                pool = pool[: max(1, len(pool) // 10)]
            for u in rnd.sample(pool, int(len(pool) * rnd.uniform(0.2, 0.8))):
                read_rows.append((len(read_rows) + 1, pub + dt.timedelta(days=1), nid, u))
            notice_rows[-1]["audience_count"] = max(len(pool), 1)
    copy_model(Notice, notice_rows)
    copy_raw("notices_noticeread", ["id", "read_at", "notice_id", "user_id"], read_rows)
    log(f"notices {len(notice_rows)}, reads {len(read_rows)}")

    def message_rows():
        mid = 0
        for u, _nm, _number, _male, _birth, _town in workers:
            for k in range(2):
                mid += 1
                t = NOW - dt.timedelta(days=rnd.randrange(1, 700))
                yield {
                    "id": mid,
                    "user_id": u,
                    "title": "您的登记申请已审核通过" if k == 0 else "继续教育学时提醒",
                    "body": "请登录系统查看详情。",
                    "link": "/registration/history/",
                    "created_at": t,
                    "read_at": t + dt.timedelta(days=1) if rnd.random() < 0.8 else None,
                }
        for _region_pk, u in official_of.items():
            for _k in range(20):
                mid += 1
                t = NOW - dt.timedelta(days=rnd.randrange(1, 300))
                yield {
                    "id": mid,
                    "user_id": u,
                    "title": "每周待审核事项摘要",
                    "body": "请及时处理。",
                    "link": "/",
                    "created_at": t,
                    "read_at": t if rnd.random() < 0.7 else None,
                }

    n_msg = copy_model(Message, message_rows())
    log(f"messages {n_msg}")

    # ------------------------------------------------------------------ finish: sequences, indexes, checks
    sql("SET session_replication_role = origin")
    for t in [
        "accounts_user",
        "registration_qualification",
        "registration_socialworker",
        "registration_registrationapplication",
        "registration_registration",
        "registration_organization",
        "stations_station",
        "stations_stationoperator",
        "stations_stationworker",
        "services_client",
        "services_activity",
        "services_activity_clients",
        "services_activity_workers",
        "services_activitycodecounter",
        "services_monthlysummary",
        "swms_reviewlog",
        "notices_notice",
        "notices_noticeread",
        "notices_message",
        "registration_cerecord",
    ]:
        sql(f"SELECT setval(pg_get_serial_sequence('{t}', 'id'), GREATEST((SELECT max(id) FROM {t}), 1))")
    restore_indexes(cur, saved)
    sql("DELETE FROM bench_scale_saved_indexes")
    log(f"rebuilt {len(saved_indexes)} indexes and {len(saved_constraints)} unique constraints")
    # Every FK of the loaded tables holds (the load ran without FK triggers).
    cur.execute("""
        SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text, af.attname
        FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute af ON af.attrelid = c.confrelid AND af.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND c.conrelid::regclass::text ~ '^(accounts_user|registration_|stations_|services_|swms_reviewlog|notices_)'
          AND c.conrelid::regclass::text !~ 'historical'""")
    bad = 0
    for table, col, ref, refcol in cur.fetchall():
        cur.execute(
            f"SELECT count(*) FROM {table} t WHERE t.{col} IS NOT NULL AND NOT EXISTS "
            f"(SELECT 1 FROM {ref} r WHERE r.{refcol} = t.{col})"
        )
        n = cur.fetchone()[0]
        if n:
            bad += n
            print(f"  FK violation: {table}.{col} -> {ref}: {n} rows")
    log(f"FK check: {bad} violations")
    # Activities' client and worker counts and client person types were written with the rows; check a sample
    # against the links (refresh_activity_people recomputes what the services keep).
    cur.execute("SELECT id, client_count, worker_count, client_types FROM services_activity "
                "ORDER BY random() LIMIT 500")
    sample = {pk: (cc, wc, sorted(json.loads(ct) if isinstance(ct, str) else ct)) for pk, cc, wc, ct in cur.fetchall()}
    from services.activities import refresh_activity_people
    from services.models import Activity as ActivityModel

    refresh_activity_people(sample)
    wrong = sum(1 for pk, cc, wc, ct in ActivityModel.objects.filter(pk__in=sample)
                .values_list("pk", "client_count", "worker_count", "client_types") if sample[pk] != (cc, wc, sorted(ct)))
    log(f"activities: stored client and worker counts and person types written with the rows; "
        f"{len(sample)} sampled against the links, {wrong} differ")
    if wrong:
        raise SystemExit("the generator's stored activity counts disagree with the links")
    # The registry's stored current registration per worker and CE hours per registration (two UPDATEs).
    from registration.services.registry import registry_refresh_all

    registry_refresh_all()
    log("registry: current registrations and CE hours")
    # Reviewers' log rows carry the submission they acted on (one UPDATE).
    from swms.models import fill_review_log_submissions

    log(f"review log: submission times on {fill_review_log_submissions(connection)} reviewer rows")
    spot_checks(provinces, by_code_user=User.objects, rnd=rnd)
    sql("VACUUM (ANALYZE)")
    log("VACUUM ANALYZE done")
    if args.no_aggregates:
        log("statistics aggregates NOT rebuilt (--no-aggregates): run manage.py rebuild_statistics")
    else:
        from reports.aggregates import rebuild

        log(f"statistics aggregates rebuilt: {rebuild()} rows")
    cur.execute("""SELECT relname FROM pg_stat_user_tables WHERE n_live_tup > 0 ORDER BY relname""")
    for (rel,) in cur.fetchall():
        cur.execute(f"SELECT count(*) FROM {rel}")
        n = cur.fetchone()[0]
        if n:
            print(f"  {rel:<48}{n:>10}")
    cur.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
    print(f"database size: {cur.fetchone()[0]}; total {time.perf_counter() - started:.0f} s")
    print_logins(provinces, stations)


def print_logins(provinces, stations):
    from accounts.models import Region

    print("logins (no password; force_login in the harness, or set one with manage.py changepassword):")
    print("  superuser  perf_admin")
    for p in provinces[:3]:
        print(f"  province   off_{p.code}  ({p.name})")
    for code in ("440100000000", "440104000000"):
        r = Region.objects.filter(code=code).first()
        if r:
            print(f"  {r.level:<10} off_{r.code}  ({r.name})")
    print("  official of any region: off_<12-digit region code>")
    live = [st for st in stations if not st.get("deleted")]
    for st in live[:1] + live[-1:]:
        print(f"  station    {st['code']}  ({st['name']})")
    print("  station accounts: the station code; social workers sw0000000..; organizations org00000..")


def spot_checks(provinces, by_code_user, rnd):
    """Two spot-check batches per province (the first also checked in part, with problems and their
    rectifications opened), drawn and recorded through the spot-check services."""
    from spotchecks.models import SampleMode
    from spotchecks.services import batch_draw, item_record

    n = 0
    for p in provinces[:3]:
        actor = by_code_user.get(username=f"off_{p.code}")
        for k, (mode, amount) in enumerate(((SampleMode.COUNT, 200), (SampleMode.PERCENT, 1))):
            batch = batch_draw(
                actor=actor,
                province=p,
                approved_from=TODAY - dt.timedelta(days=900 - 300 * k),
                approved_to=TODAY - dt.timedelta(days=600 - 300 * k),
                cities=None,
                mode=mode,
                amount=amount,
                seed=f"scale-{p.code}-{k}",
                title=f"{p.name}第{k + 1}批抽查",
            )
            n += 1
            if k == 0:
                for item in batch.items.order_by("pk")[:60]:
                    problem = rnd.random() < 0.2
                    item_record(
                        item=item,
                        actor=actor,
                        result="problem" if problem else "pass",
                        description="执业记录与登记信息不一致" if problem else "",
                    )
    log(f"spot checks: {n} batches")
