"""Page weight with the production settings (issue #14): compressed HTML, fingerprinted static files
served with far-future immutable caching, Chart.js only where a page draws charts.

The production values (middleware, storage) are read from swms.settings_prod in a subprocess — that
module refuses the development key the test process runs with — and applied here with
override_settings. The measured byte counts are in bench/README.md (`bench/scale.py weight`).
"""

import gzip
import html.parser
import json
import re
import subprocess
import sys
from pathlib import Path

import brotli
import pytest
from django.core.management import call_command
from django.test import Client, override_settings
from django.urls import reverse
from whitenoise.compress import Compressor

from tests.test_security_headers import _prod_env

ROOT = Path(__file__).resolve().parent.parent
FOREVER = 10 * 365 * 24 * 3600  # what WhiteNoise sends for a hashed name
HASHED = re.compile(r"\.[0-9a-f]{12}\.[a-z]+$")

_DUMP = (
    "import json; from django.conf import settings; print('JSON' + json.dumps({n: getattr(settings, n) "
    "for n in ('MIDDLEWARE', 'STORAGES', 'WHITENOISE_USE_FINDERS', 'DEBUG')}))"
)


@pytest.fixture(scope="module")
def prod():
    env = _prod_env(DATABASE_URL="sqlite:////tmp/swms-page-weight.sqlite3")
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", _DUMP],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
    ).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("JSON"))[4:])


class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs = []  # (tag, url, attrs)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "link" and a.get("href"):
            self.refs.append(("link", a["href"], a))
        elif tag == "script" and a.get("src"):
            self.refs.append(("script", a["src"], a))


def refs(content: bytes):
    p = _Refs()
    p.feed(content.decode())
    return p.refs


# --- Compressed HTML ----------------------------------------------------------------------------


def test_gzip_sits_right_below_whitenoise(prod):
    mw = prod["MIDDLEWARE"]
    assert mw.index("swms.middleware.PageGZipMiddleware") == mw.index(
        "whitenoise.middleware.WhiteNoiseMiddleware"
    ) + 1


@pytest.mark.parametrize("who", ["anonymous", "official"])
def test_production_html_is_gzipped_only_when_the_client_accepts_it(prod, alice, who):
    with override_settings(MIDDLEWARE=prod["MIDDLEWARE"]):
        client = Client()
        url = reverse("accounts:login")
        if who == "official":
            client.force_login(alice)
            url = reverse("reports:workbench")
        zipped = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
        plain = client.get(url)
    assert zipped.status_code == plain.status_code == 200
    assert zipped["Content-Encoding"] == "gzip"
    html = gzip.decompress(zipped.content)
    assert html.lstrip().lower().startswith(b"<!doctype html>") and html.rstrip().endswith(b"</html>")
    assert len(zipped.content) * 2 < len(html)
    assert int(zipped["Content-Length"]) == len(zipped.content)
    assert not plain.has_header("Content-Encoding")
    assert plain.content.lstrip().lower().startswith(b"<!doctype html>")
    for response in (zipped, plain):
        assert "accept-encoding" in response["Vary"].lower()


def test_downloads_are_not_compressed(prod, alice, regions):
    """An export's download keeps its length (the browser shows progress); pages around it are compressed."""
    with override_settings(MIDDLEWARE=prod["MIDDLEWARE"]):
        client = Client()
        client.force_login(alice)
        response = client.get(reverse("accounts:official-list"), {"export": "csv"}, HTTP_ACCEPT_ENCODING="gzip")
        page = client.get(reverse("accounts:official-list"), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    assert not response.has_header("Content-Encoding")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith("\ufeff".encode()) and b"alice" in body
    assert page["Content-Encoding"] == "gzip"


def test_demo_settings_do_not_compress(client, db):
    """The demo/test settings are untouched: no GZipMiddleware there."""
    response = client.get(reverse("accounts:login"), HTTP_ACCEPT_ENCODING="gzip")
    assert response.status_code == 200
    assert not response.has_header("Content-Encoding")


# --- Fingerprinted, immutable static files -------------------------------------------------------


def test_static_files_of_base_html_are_hashed_and_cached_forever(prod, db, tmp_path):
    # The project's own static files only (the admin's and the captcha's add ~15 s of compression), and
    # source maps not compressed (the largest files; browsers never fetch them without devtools).
    with override_settings(
        STATIC_ROOT=tmp_path,
        STORAGES=prod["STORAGES"],
        WHITENOISE_USE_FINDERS=prod["WHITENOISE_USE_FINDERS"],
        STATICFILES_FINDERS=["django.contrib.staticfiles.finders.FileSystemFinder"],
        WHITENOISE_SKIP_COMPRESS_EXTENSIONS=[*Compressor.SKIP_COMPRESS_EXTENSIONS, "map"],
        MIDDLEWARE=prod["MIDDLEWARE"],
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
        client = Client()
        page = client.get(reverse("accounts:login"))
        assert page.status_code == 200
        urls = [url for _tag, url, _a in refs(page.content) if url.startswith("/static/")]
        names = {u.rsplit("/", 1)[1].split(".")[0] for u in urls}
        assert {"favicon", "bootstrap", "swms", "htmx"} <= names
        maps = []
        for url in urls:
            assert HASHED.search(url), url
            response = client.get(url, HTTP_ACCEPT_ENCODING="gzip, deflate, br")
            assert response.status_code == 200, url
            cache = response["Cache-Control"]
            assert "immutable" in cache and "public" in cache, (url, cache)
            assert int(re.search(r"max-age=(\d+)", cache).group(1)) >= 365 * 24 * 3600
            body = b"".join(response.streaming_content)
            if url.endswith((".css", ".js")):
                assert response["Content-Encoding"] == "br", url
                text = brotli.decompress(body).decode()
                assert len(body) * 2 < len(text.encode())
                maps += [url.rsplit("/", 1)[0] + "/" + m for m in re.findall(r"sourceMappingURL=(\S+?)\s*(?:\*/)?$", text, re.M)]
        # The unhashed name still answers, but may change: a short max-age, never immutable.
        unhashed = client.get("/static/css/swms.css")
        assert unhashed.status_code == 200 and "immutable" not in unhashed["Cache-Control"]
        # The vendor files' source maps are referenced by their hashed names, and exist.
        assert maps and all(HASHED.search(m) for m in maps), maps
        for m in maps:
            assert client.get(m).status_code == 200, m


# --- Only what the page uses --------------------------------------------------------------------


def _scripts(response):
    assert response.status_code == 200
    return [(url, a) for tag, url, a in refs(response.content) if tag == "script"]


def test_chart_js_only_on_pages_with_charts(client, alice, social_worker):
    assert not any("chart.umd" in u for u, _a in _scripts(client.get(reverse("accounts:login"))))
    client.force_login(alice)
    for name in ("services:official-activity-list", "services:official-client-list", "notices:received"):
        assert not any("chart.umd" in u for u, _a in _scripts(client.get(reverse(name)))), name
    with_charts = client.get(reverse("reports:workbench"))
    assert b"<canvas data-chart" in with_charts.content
    assert any("chart.umd.min.js" in u for u, _a in _scripts(with_charts))
    client.force_login(social_worker)
    assert not any("chart.umd" in u for u, _a in _scripts(client.get(reverse("reports:workbench"))))


def test_every_script_is_deferred(client, alice):
    client.force_login(alice)
    scripts = _scripts(client.get(reverse("reports:workbench")))
    assert len(scripts) >= 4
    assert all("defer" in a for _u, a in scripts), scripts


def test_templates_reference_static_files_through_the_static_tag():
    """A literal /static/ path would bypass the hashed names (and their far-future caching)."""
    literal = re.compile(r"""(?:src|href)\s*=\s*["']/static/""")
    offenders = [
        str(p.relative_to(ROOT))
        for p in ROOT.glob("**/templates/**/*.html")
        if ".venv" not in p.parts and literal.search(p.read_text(encoding="utf-8"))
    ]
    assert offenders == []
