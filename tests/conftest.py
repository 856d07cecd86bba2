"""Root fixtures: a small real region tree with the special cases, and one user per role.

Every access test has an outsider: `alice` is the official of 越秀区 and `charlie` of its sibling
荔湾区; `bob` is a second 越秀区 official (a colleague at the same node).
"""

import os
from pathlib import Path

import pytest

from accounts.models import Region, User, UserKind
from tests import today

pytest_plugins = ["tests.registration_fixtures", "tests.s3"]

PASSWORD = "Swms#Test2026"

# code, name, level, parent code — the shapes DESIGN.md calls out.
TREE = [
    ("440000000000", "广东省", "province", None),
    ("440100000000", "广州市", "city", "440000000000"),
    ("440104000000", "越秀区", "county", "440100000000"),
    ("440104001000", "洪桥街道", "town", "440104000000"),
    ("440104002000", "北京街道", "town", "440104000000"),
    ("440103000000", "荔湾区", "county", "440100000000"),
    ("440103001000", "沙面街道", "town", "440103000000"),
    ("440300000000", "深圳市", "city", "440000000000"),
    ("440304000000", "福田区", "county", "440300000000"),
    ("441900000000", "东莞市", "city", "440000000000"),  # no counties: towns hang under the city
    ("441900003000", "东城街道", "town", "441900000000"),
    ("110000000000", "北京市", "province", None),  # municipality: districts under the province
    ("110101000000", "东城区", "county", "110000000000"),
    ("110101001000", "东华门街道", "town", "110101000000"),
    ("420000000000", "湖北省", "province", None),
    ("420100000000", "武汉市", "city", "420000000000"),
    ("420102000000", "江岸区", "county", "420100000000"),
    ("429004000000", "仙桃市", "county", "420000000000"),  # province-administered county-level city
    ("429004001000", "沙嘴街道", "town", "429004000000"),
]


@pytest.fixture(autouse=True)
def _todays_dates():
    """A serial run that crosses midnight moves the tests' date names to the new day."""
    today.refresh()


@pytest.fixture(autouse=True)
def _no_second_factor(settings):
    """Tests that are not about the second factor log officials in without it (force_login, the login form in
    the browser tests); tests/test_mfa.py turns SWMS_MFA_REQUIRED back on."""
    settings.SWMS_MFA_REQUIRED = False


@pytest.fixture
def regions(db):
    """The fixture tree as {name: Region}."""
    by_code: dict[str, Region] = {}
    for code, name, level, parent in TREE:
        by_code[code] = Region.objects.create(
            code=code, name=name, level=level, parent=by_code[parent] if parent else None
        )
    return {r.name: Region.objects.get(pk=r.pk) for r in by_code.values()}


def make_user(username, kind, region=None, **extra):
    user = User(username=username, kind=kind, region=region, full_name=extra.pop("full_name", username), **extra)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def province_official(regions):
    return make_user("gd_province", UserKind.OFFICIAL, regions["广东省"])


@pytest.fixture
def city_official(regions):
    return make_user("gz_city", UserKind.OFFICIAL, regions["广州市"])


@pytest.fixture
def alice(regions):
    """County official of 越秀区."""
    return make_user("alice", UserKind.OFFICIAL, regions["越秀区"])


@pytest.fixture
def bob(regions):
    """A second official of 越秀区."""
    return make_user("bob", UserKind.OFFICIAL, regions["越秀区"])


@pytest.fixture
def charlie(regions):
    """County official of the sibling 荔湾区: the outsider for 越秀区 data."""
    return make_user("charlie", UserKind.OFFICIAL, regions["荔湾区"])


@pytest.fixture
def town_official(regions):
    return make_user("hq_town", UserKind.OFFICIAL, regions["洪桥街道"])


@pytest.fixture
def social_worker(db):
    return make_user("sw_zhang", UserKind.SOCIAL_WORKER, id_number="11010519491231002X", phone="13800138000")


@pytest.fixture
def organization_user(db):
    return make_user("org_hope", UserKind.ORGANIZATION)


@pytest.fixture
def station_user(regions):
    return make_user("st_hongqiao", UserKind.STATION, regions["洪桥街道"])


@pytest.fixture
def superuser(db):
    return make_user("ops_root", "", None, is_superuser=True, is_staff=True)


def login(client, user):
    """Log a test client in through Django's session machinery (the login form has its own tests)."""
    client.force_login(user)
    return client


# --- Real Chromium through Playwright (Debian's build; the bundled download does not work here) ---
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
CHROMIUM = os.environ.get("SWMS_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "zh-CN"}


@pytest.fixture
def screenshot_dir():
    # Not under test-results/: pytest-playwright empties that folder whenever a session (or xdist worker) starts.
    path = Path(__file__).resolve().parent.parent / "var" / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def english(client):
    """Labels and messages asserted in their English source form, in requests and services alike."""
    from django.utils import translation

    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    with translation.override("en"):
        yield
