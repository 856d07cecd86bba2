"""`bench/scale.py weight`: bytes a browser transfers for a page, with the production settings.

What it does:
  1. `collectstatic` with swms.settings_prod into a temporary STATIC_ROOT (hashed names, gzip/brotli
     copies — whatever the production storage makes);
  2. gunicorn with swms.settings_prod on 127.0.0.1 and a free port (started and stopped here by its
     PID), a random production-length DJANGO_SECRET_KEY shared with this process so that the
     force_login sessions made here are valid there; requests carry `X-Forwarded-Proto: https` as
     behind the TLS proxy, so SECURE_SSL_REDIRECT stays on;
  3. per role, like a browser with an empty cache sending `Accept-Encoding: gzip, deflate, br`: the
     first page, then every stylesheet, script, icon and image it references (and url(...) in the
     stylesheets); then a later page of the same role with that cache: an asset whose Cache-Control
     is `immutable` or has max-age >= 1 day is not requested again, any other cached asset is
     revalidated (conditional GET, the 304 is counted), an asset not yet cached is fetched.

Bytes are counted on the socket: status line + headers + body exactly as received (compressed,
chunked framing included); TCP/TLS overhead is not. 1 kB = 1,000 bytes (as browsers' devtools show).
Source maps are not fetched (browsers only do so with devtools open) but every sourceMappingURL is
checked to answer 200.

Writes only sessions (deleted again at the end) to the database, whose name must contain 'perf' or
'scale'. Users: the province official off_440000000000 (else any province-level official), the
first station account under 越秀区 (as `pages` picks it, else the first station), a registered social
worker. A role without a usable user is skipped with a note. Password expiry is switched off for the
gunicorn process (SWMS_PASSWORD_EXPIRY_DAYS=0) instead of touching the accounts.
"""

from __future__ import annotations

import gzip
import html.parser
import http.client
import io
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from urllib.parse import urljoin, urlsplit

ROOT = Path(__file__).resolve().parents[2]

COLD_TARGET = 200_000
LATER_TARGET = 30_000
FRESH_SECONDS = 24 * 3600
ACCEPT_HTML = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


LOGIN_BACKEND = "accounts.backends.IdentifierBackend"

def add_arguments(ap):
    ap.add_argument("--out", default="", help="also write the results as JSON here")
    ap.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    ap.add_argument("--workers", type=int, default=1, help="gunicorn workers")
    ap.add_argument("--roles", default="", help="comma-separated subset: anonymous,worker,station,official,list")
    ap.add_argument("--assets", action="store_true", help="print every asset of every page")
    ap.add_argument(
        "--settings",
        default="swms.settings_prod",
        help="settings module of the server (default swms.settings_prod; swms.settings reproduces the "
        "plain settings the load harness used to run with)",
    )


# --- HTTP with byte counting ------------------------------------------------------------------


class _CountingRaw(io.RawIOBase):
    """The socket's own unbuffered reader (which keeps the socket open until the response is read,
    as http.client expects), counting what it receives."""

    def __init__(self, raw, counter):
        self._raw = raw
        self._counter = counter

    def readable(self):
        return True

    def readinto(self, b):
        n = self._raw.readinto(b)
        self._counter[0] += n or 0
        return n

    def close(self):
        self._raw.close()
        super().close()


class _CountingSocket:
    """A socket whose reads through makefile() (what http.client uses) are counted."""

    def __init__(self, sock, counter):
        self._sock = sock
        self._counter = counter

    def makefile(self, mode="rb", *args, **kwargs):
        return io.BufferedReader(_CountingRaw(self._sock.makefile("rb", buffering=0), self._counter))

    def __getattr__(self, name):
        return getattr(self._sock, name)


class Browser:
    """One keep-alive HTTP/1.1 connection, a cookie jar and an HTTP cache keyed by URL."""

    def __init__(self, port, cookies=None):
        self.port = port
        self.received = [0]
        self.cookies = dict(cookies or {})
        self.cache = {}  # url -> {"cache_control", "etag", "last_modified"}
        self.conn = None

    def _connect(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        self.conn.connect()
        self.conn.sock = _CountingSocket(self.conn.sock, self.received)

    def get(self, url, accept="*/*", extra=None):
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "User-Agent": "swms-bench-weight/1 (like a browser)",
            "Accept": accept,
            "Accept-Encoding": "gzip, deflate, br",
            "Accept-Language": "zh-CN,zh;q=0.9",
            "X-Forwarded-Proto": "https",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        headers.update(extra or {})
        for attempt in (0, 1):
            if self.conn is None:
                self._connect()
            before = self.received[0]
            try:
                self.conn.request("GET", url, headers=headers)
                resp = self.conn.getresponse()
                body = resp.read()
                break
            except (http.client.RemoteDisconnected, ConnectionError, BrokenPipeError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        wire = self.received[0] - before
        for name, value in resp.getheaders():
            if name.lower() == "set-cookie":
                k, _, rest = value.partition("=")
                self.cookies[k.strip()] = rest.split(";", 1)[0]
        if resp.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return {
            "url": url,
            "status": resp.status,
            "bytes": wire,
            "body_bytes": len(body),
            "decoded_bytes": len(decode(body, resp.getheader("Content-Encoding"))),
            "content_type": resp.getheader("Content-Type", ""),
            "content_encoding": resp.getheader("Content-Encoding", ""),
            "cache_control": resp.getheader("Cache-Control", ""),
            "vary": resp.getheader("Vary", ""),
            "etag": resp.getheader("ETag"),
            "last_modified": resp.getheader("Last-Modified"),
            "location": resp.getheader("Location"),
            "_body": body,
        }

    def close(self):
        if self.conn is not None:
            self.conn.close()


def decode(body, encoding):
    encoding = (encoding or "").lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "br":
        import brotli

        return brotli.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    return body


def is_fresh(cache_control):
    """Would a browser reuse this cached response on a later page without asking the server?"""
    cc = (cache_control or "").lower()
    if "no-store" in cc or "no-cache" in cc:
        return False
    if "immutable" in cc:
        return True
    m = re.search(r"max-age=(\d+)", cc)
    return bool(m and int(m.group(1)) >= FRESH_SECONDS)


# --- What a page references -------------------------------------------------------------------


class _AssetParser(html.parser.HTMLParser):
    LINK_RELS = {"stylesheet", "icon", "shortcut", "apple-touch-icon", "preload", "modulepreload", "manifest"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.assets = []  # (kind, url)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("href"):
            rels = set((a.get("rel") or "").lower().split())
            if rels & self.LINK_RELS:
                kind = "stylesheet" if "stylesheet" in rels else sorted(rels & self.LINK_RELS)[0]
                self.assets.append((kind, a["href"]))
        elif tag == "script" and a.get("src"):
            self.assets.append(("script" + (" defer" if "defer" in a else "") + (" async" if "async" in a else ""),
                                a["src"]))
        elif tag in ("img", "input") and a.get("src") and (tag == "img" or a.get("type") == "image"):
            self.assets.append(("image", a["src"]))


def page_assets(html_text, base):
    p = _AssetParser()
    p.feed(html_text)
    out, seen = [], set()
    for kind, href in p.assets:
        if href.startswith("data:"):
            continue
        url = urljoin(base, href)
        parts = urlsplit(url)
        if parts.netloc and parts.netloc != urlsplit(base).netloc:
            out.append((kind, url, "external"))
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        if path not in seen:
            seen.add(path)
            out.append((kind, path, ""))
    return out


CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
SOURCE_MAP = re.compile(r"[#@]\s*sourceMappingURL=([^\s*]+)")


def css_urls(text, base):
    out = []
    for m in CSS_URL.finditer(text):
        ref = m.group(2).strip()
        if ref.startswith(("data:", "#")):
            continue
        out.append(urlsplit(urljoin(base, ref)).path)
    return out


# --- Server -----------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prod_env(secret_key, static_root, settings_module="swms.settings_prod"):
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE=settings_module,
        DJANGO_SECRET_KEY=secret_key,
        SWMS_STATIC_ROOT=str(static_root),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        SWMS_PASSWORD_EXPIRY_DAYS="0",
        PYTHONWARNINGS="ignore",
    )
    env.pop("DJANGO_DEBUG", None)
    return env


def collectstatic(env):
    t = time.perf_counter()
    subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=str(ROOT),
        env=env,
        check=True,
    )
    return time.perf_counter() - t


def start_gunicorn(env, port, workers):
    proc = subprocess.Popen(  # noqa: S603
        [
            sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}",
            "--timeout", "300", "--log-level", "warning", "swms.wsgi:application",
        ],
        cwd=str(ROOT),
        env=env,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/accounts/login/", headers={"X-Forwarded-Proto": "https"})
            c.getresponse().read()
            c.close()
            return proc
        except OSError:
            time.sleep(0.5)
    stop(proc)
    raise SystemExit("gunicorn did not answer within 90 s")


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- Roles ------------------------------------------------------------------------------------


def pick_users():
    """{role: user or None}, read-only."""
    from accounts.models import User, UserKind
    from stations.models import Station

    users = {}
    usable = User.objects.filter(is_active=True, must_change_password=False)
    users["official"] = (
        usable.filter(username="off_440000000000").first()
        or usable.filter(kind=UserKind.OFFICIAL, region__level="province").order_by("pk").first()
        or usable.filter(kind=UserKind.OFFICIAL).order_by("pk").first()
    )
    stations = Station.objects.filter(deleted_at__isnull=True, account__isnull=False, account__is_active=True)
    station = (
        stations.filter(region__parent__code="440104000000", tier="station").order_by("code").first()
        or stations.order_by("code").first()
    )
    users["station"] = station.account if station else None
    workers = usable.filter(kind=UserKind.SOCIAL_WORKER)
    try:
        from registration.models import Registration

        registered = Registration.objects.filter(worker__user__in=workers.values("pk")).values("worker__user")
        users["worker"] = workers.filter(pk__in=registered).order_by("pk").first() or workers.order_by("pk").first()
    except Exception:  # noqa: BLE001 - a schema without these relations: any worker will do
        users["worker"] = workers.order_by("pk").first()
    return users


def plans(users):
    """(role, label, user, first url, later url)."""
    from django.urls import reverse

    return [
        ("anonymous", "login page", None, reverse("accounts:login"), reverse("accounts:password-reset")),
        ("worker", "social worker home", users.get("worker"), reverse("reports:workbench"),
         reverse("registration:history")),
        ("station", "station workbench", users.get("station"), reverse("reports:station-workbench"),
         reverse("services:client-list")),
        ("official", "official workbench", users.get("official"), reverse("reports:workbench"),
         reverse("services:official-activity-list")),
        ("list", "official activities list", users.get("official"), reverse("services:official-activity-list"),
         reverse("services:official-client-list")),
    ]


def session_for(user, secret_key):
    from django.conf import settings
    from django.test import Client, override_settings

    with override_settings(SECRET_KEY=secret_key):
        c = Client()
        c.force_login(user, backend=LOGIN_BACKEND)  # as a password login signs in
    return c.cookies[settings.SESSION_COOKIE_NAME].value


# --- Measuring ----------------------------------------------------------------------------------


def _strip(r):
    return {k: v for k, v in r.items() if not k.startswith("_")}


def load_page(browser, url, cold):
    """The page and what it references; `cold`: nothing cached yet. Returns a dict of the visit."""
    page = browser.get(url, accept=ACCEPT_HTML)
    if page["status"] != 200:
        raise RuntimeError(f"{url}: HTTP {page['status']} (Location: {page['location']})")
    text = decode(page["_body"], page["content_encoding"]).decode("utf-8", "replace")
    base = f"http://127.0.0.1:{browser.port}{url}"
    todo = page_assets(text, base)
    assets, maps, done = [], [], set()
    while todo:
        kind, path, note = todo.pop(0)
        if path in done:
            continue
        done.add(path)
        if note == "external":
            assets.append({"url": path, "kind": kind, "external": True, "bytes": 0})
            continue
        cached = browser.cache.get(path)
        if cached and is_fresh(cached["cache_control"]):
            assets.append({"url": path, "kind": kind, "from_cache": True, "bytes": 0,
                           "cache_control": cached["cache_control"]})
            continue
        extra = {}
        if cached:
            if cached["etag"]:
                extra["If-None-Match"] = cached["etag"]
            if cached["last_modified"]:
                extra["If-Modified-Since"] = cached["last_modified"]
        r = browser.get(path, accept="text/css,*/*;q=0.1" if kind == "stylesheet" else "*/*", extra=extra)
        if r["status"] == 200:
            browser.cache[path] = {k: r[k] for k in ("cache_control", "etag", "last_modified")}
            body = decode(r["_body"], r["content_encoding"])
            if "css" in r["content_type"]:
                css_base = f"http://127.0.0.1:{browser.port}{path}"
                todo.extend(("css url", u, "") for u in css_urls(body.decode("utf-8", "replace"), css_base))
            if "css" in r["content_type"] or "javascript" in r["content_type"]:
                for ref in SOURCE_MAP.findall(body.decode("utf-8", "replace")[-500:]):
                    maps.append(urlsplit(urljoin(f"http://127.0.0.1{path}", ref)).path)
        assets.append({**_strip(r), "kind": kind, "revalidated": bool(cached)})
    # Source maps: never fetched by a browser without devtools, but each must exist.
    map_status = {}
    for m in maps:
        probe = Browser(browser.port)
        map_status[m] = probe.get(m)["status"]
        probe.close()
    html_row = _strip(page)
    return {
        "url": url,
        "html": html_row,
        "assets": assets,
        "source_maps": map_status,
        "total_bytes": html_row["bytes"] + sum(a["bytes"] for a in assets),
        "cold": cold,
    }


def measure(port, role, label, user, first, later, secret_key, cookie_name):
    cookies = {}
    session_key = None
    if user is not None:
        session_key = session_for(user, secret_key)
        cookies[cookie_name] = session_key
    b = Browser(port, cookies)
    try:
        one = load_page(b, first, cold=True)
        two = load_page(b, later, cold=False)
    finally:
        b.close()
        if session_key:
            from django.contrib.sessions.models import Session

            Session.objects.filter(session_key=session_key).delete()
    return {
        "role": role,
        "label": label,
        "user": getattr(user, "username", None),
        "first": one,
        "later": two,
        "cold_bytes": one["total_bytes"],
        "later_bytes": two["total_bytes"],
        "cold_ok": one["total_bytes"] <= COLD_TARGET,
        "later_ok": two["total_bytes"] <= LATER_TARGET,
    }


def prod_setting(env, name):
    """A value of swms.settings_prod as the server sees it (a subprocess: that module refuses the
    development key this process runs with)."""
    out = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c",
         f"import json; from django.conf import settings; print('JSON' + json.dumps(settings.{name}))"],
        cwd=str(ROOT), env=env, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("JSON"))[4:])


def kb(n):
    return f"{n / 1000:.1f}"


def report(results, show_assets):
    print()
    print(f"{'role':<10} {'first page':<38} {'cold kB':>8} {'HTML kB':>8} {'assets':>6}   "
          f"{'later page':<38} {'later kB':>8}  targets")
    for r in results:
        one, two = r["first"], r["later"]
        ok = ("ok" if r["cold_ok"] else "COLD>200") + "/" + ("ok" if r["later_ok"] else "LATER>30")
        print(
            f"{r['role']:<10} {one['url']:<38} {kb(r['cold_bytes']):>8} {kb(one['html']['bytes']):>8} "
            f"{sum(1 for a in one['assets'] if a['bytes']):>6}   {two['url']:<38} {kb(r['later_bytes']):>8}  {ok}"
        )
    print()
    print("HTML (bytes on the wire / decoded, Content-Encoding, Cache-Control):")
    for r in results:
        for visit in (r["first"], r["later"]):
            h = visit["html"]
            print(f"  {r['role']:<10} {visit['url']:<40} {h['bytes']:>7} / {h['decoded_bytes']:>7}  "
                  f"{h['content_encoding'] or 'identity':<8} {h['cache_control']}  Vary: {h['vary']}")
    print()
    print("Assets (first cold page of each role; bytes on the wire / decoded, Content-Encoding, Cache-Control):")
    seen = set()
    for r in results:
        for visit in (r["first"], r["later"]) if show_assets else (r["first"],):
            for a in visit["assets"]:
                if a.get("from_cache") or (a["url"] in seen and not show_assets):
                    continue
                seen.add(a["url"])
                print(f"  {a['url']:<62} {a.get('bytes', 0):>7} / {a.get('decoded_bytes', 0):>7}  "
                      f"{a.get('content_encoding') or 'identity':<8} {a.get('status', '')} {a.get('cache_control', '')}")
        for m, status in r["first"]["source_maps"].items():
            if m not in seen:
                seen.add(m)
                print(f"  source map {m}: HTTP {status} (not fetched by browsers without devtools)")
    later_fetched = [
        (r["role"], a["url"]) for r in results for a in r["later"]["assets"] if not a.get("from_cache")
    ]
    print()
    print("Later pages: assets requested again or first needed there: "
          + (", ".join(f"{role} {u}" for role, u in later_fetched) or "none"))


def run(args):
    from django.db import connection

    dbname = connection.settings_dict["NAME"]
    if not any(w in dbname for w in ("perf", "scale")):
        raise SystemExit(f"refusing to write sessions into {dbname!r}: its name contains neither 'perf' nor 'scale'")
    users = pick_users()
    wanted = {r.strip() for r in args.roles.split(",") if r.strip()}
    todo = [p for p in plans(users) if not wanted or p[0] in wanted]
    secret_key = secrets.token_urlsafe(48)  # 64 characters: settings_prod accepts it
    static_root = Path(tempfile.mkdtemp(prefix="swms-weight-static-"))
    env = prod_env(secret_key, static_root, args.settings)
    port = args.port or free_port()
    results, skipped, errors = [], [], []
    try:
        secs = collectstatic(env)
        files = sum(1 for p in static_root.rglob("*") if p.is_file())
        print(f"collectstatic ({args.settings}) into {static_root}: {files} files in {secs:.1f} s", flush=True)
        cookie_name = prod_setting(env, "SESSION_COOKIE_NAME")
        middleware = prod_setting(env, "MIDDLEWARE")
        print("middleware: " + ", ".join(m.rsplit(".", 1)[1] for m in middleware[:4]) + ", ...", flush=True)
        proc = start_gunicorn(env, port, args.workers)
        print(f"gunicorn pid {proc.pid}, {args.settings}, 127.0.0.1:{port}, database {dbname}", flush=True)
        try:
            for role, label, user, first, later in todo:
                if role != "anonymous" and user is None:
                    skipped.append(role)
                    print(f"  {role}: no usable account in {dbname}, skipped", flush=True)
                    continue
                try:
                    r = measure(port, role, label, user, first, later, secret_key, cookie_name)
                except RuntimeError as e:
                    errors.append({"role": role, "error": str(e)})
                    print(f"  {role}: {e}", flush=True)
                    continue
                results.append(r)
                print(f"  {role:<10} {first} → {kb(r['cold_bytes'])} kB cold, {later} → {kb(r['later_bytes'])} kB",
                      flush=True)
        finally:
            stop(proc)
    finally:
        shutil.rmtree(static_root, ignore_errors=True)
    report(results, args.assets)
    for e in errors:
        print(f"ERROR {e['role']}: {e['error']}")
    if args.out:
        Path(args.out).write_text(
            json.dumps(
                {"database": dbname, "settings": args.settings, "cold_target_bytes": COLD_TARGET, "later_target_bytes": LATER_TARGET,
                 "skipped": skipped, "errors": errors, "results": results},
                ensure_ascii=False,
                indent=1,
            )
        )
        print(f"wrote {args.out}")
    return results
