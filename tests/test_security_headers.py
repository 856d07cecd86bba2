"""Response headers (D2, P4) and the production settings (D1, S4)."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.test import Client
from django.urls import reverse

from .test_login_security import post_login

ROOT = Path(__file__).resolve().parent.parent


def _csp(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {
        part.strip().split(" ", 1)[0]: part.strip().partition(" ")[2]
        for part in header.split(";")
        if part.strip()
    }


@pytest.mark.parametrize("url", [reverse("reports:workbench"), reverse("accounts:official-list")])
def test_logged_in_page_security_headers(client, alice, url):
    client.force_login(alice)
    response = client.get(url)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] in {"same-origin", "no-referrer", "strict-origin-when-cross-origin"}
    csp = _csp(response)
    assert csp["frame-ancestors"] == "'none'"
    assert csp["default-src"] == "'self'"
    assert "'unsafe-inline'" not in csp.get("script-src", "")
    assert csp["object-src"] == "'none'"


@pytest.mark.parametrize("url", [reverse("accounts:login"), reverse("accounts:password-reset")])
def test_anonymous_pages_carry_csp_and_frame_protection(client, db, url):
    response = client.get(url)
    assert response.status_code == 200
    assert _csp(response)["frame-ancestors"] == "'none'"
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_login_page_is_not_cached(client, db):
    assert "no-store" in client.get(reverse("accounts:login"))["Cache-Control"]


# --- Production settings ----------------------------------------------------------------------


def _signing_env():
    """A PEM key and certificate for the certificates' PAdES signature (production requires them, P3)."""
    from swms.signing import DEV_CERT, DEV_KEY, make_dev_key

    folder = make_dev_key(Path("/tmp/swms-prod-signing-test"))
    return {"SWMS_SIGNING_KEY_FILE": str(folder / DEV_KEY), "SWMS_SIGNING_CERT_FILE": str(folder / DEV_CERT)}


def _prod_env(**extra):
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "SWMS_", "DATABASE_URL", "CACHE_URL", "EMAIL_URL", "CELERY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="swms.settings_prod",
        DJANGO_SECRET_KEY=secrets.token_hex(32),  # 64 characters
        SWMS_FIELD_KEYS=Fernet.generate_key().decode(),
        SWMS_HASH_KEY=secrets.token_hex(32),
        DJANGO_ALLOWED_HOSTS="swms.example.gov.cn",
        DATABASE_URL="sqlite:////tmp/swms-check-deploy.sqlite3",
        PYTHONWARNINGS="ignore",
        **_signing_env(),
    )
    env.update(extra)
    return env


def _manage(*args, **env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=_prod_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_is_clean():
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_the_development_key():
    from swms.settings import DEV_SECRET_KEY

    result = _manage("check", DJANGO_SECRET_KEY=DEV_SECRET_KEY)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "keys",
    [
        {"SWMS_FIELD_KEYS": ""},  # the development field key
        {"SWMS_HASH_KEY": ""},  # the development hash key
        {"SWMS_HASH_KEY": "short"},
    ],
)
def test_production_refuses_development_or_weak_data_keys(keys):
    """Personal data is encrypted and hashed under keys of the deployment's own (P2)."""
    env = _prod_env(**keys)
    for name, value in keys.items():
        if not value:
            env.pop(name)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "SWMS_FIELD_KEYS" in result.stderr and "ImproperlyConfigured" in result.stderr


def test_production_refuses_a_short_key():
    result = _manage("check", DJANGO_SECRET_KEY="short-key")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr


_DUMP = """
import json
from django.conf import settings
from captcha.conf import settings as captcha_settings
names = [
    "DEBUG", "SESSION_COOKIE_NAME", "SESSION_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SESSION_COOKIE_SAMESITE", "SESSION_COOKIE_DOMAIN", "SESSION_COOKIE_PATH", "CSRF_COOKIE_NAME",
    "CSRF_COOKIE_SECURE", "CSRF_COOKIE_HTTPONLY", "CSRF_COOKIE_SAMESITE", "CSRF_COOKIE_DOMAIN",
    "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_PROXY_SSL_HEADER", "PASSWORD_HASHERS",
]
out = {n: getattr(settings, n) for n in names}
out["CAPTCHA_TEST_MODE"] = captcha_settings.CAPTCHA_TEST_MODE
out["DB"] = {k: settings.DATABASES["default"][k] for k in ("CONN_MAX_AGE", "CONN_HEALTH_CHECKS")}
print("JSON" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def prod_settings():
    # An environment that asks for captcha test mode must not get it in production.
    result = _manage("shell", "-c", _DUMP, SWMS_CAPTCHA_TEST_MODE="true")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stdout.splitlines() if line.startswith("JSON"))
    return json.loads(line[4:])


def test_production_settings_values(prod_settings):
    assert prod_settings["DEBUG"] is False
    assert prod_settings["CAPTCHA_TEST_MODE"] is False
    assert prod_settings["SECURE_SSL_REDIRECT"] is True
    assert prod_settings["SECURE_HSTS_SECONDS"] >= 31536000
    # Persistent, health-checked database connections in production (#14).
    assert prod_settings["DB"] == {"CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    assert prod_settings["PASSWORD_HASHERS"][0].endswith(("Argon2PasswordHasher", "PBKDF2PasswordHasher"))
    assert prod_settings["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert prod_settings["CSRF_COOKIE_NAME"].startswith("__Host-")
    # __Host- cookies must be Secure, Path=/ and carry no Domain.
    for prefix in ("SESSION", "CSRF"):
        assert prod_settings[f"{prefix}_COOKIE_SECURE"] is True
        assert prod_settings[f"{prefix}_COOKIE_DOMAIN"] is None
        assert prod_settings[f"{prefix}_COOKIE_SAMESITE"] in {"Lax", "Strict"}
    assert prod_settings["SESSION_COOKIE_PATH"] == "/"


def test_production_cookies_on_the_wire(prod_settings, settings, alice):
    """Log in over HTTPS with the production cookie settings and parse the Set-Cookie headers (S4)."""
    keys = [k for k in prod_settings if k.startswith(("SESSION_COOKIE", "CSRF_COOKIE", "SECURE_"))]
    for key in keys:
        value = prod_settings[key]
        setattr(settings, key, tuple(value) if isinstance(value, list) else value)
    client = Client()
    assert client.get(reverse("accounts:login"), secure=False).status_code == 301  # SSL redirect
    page = client.get(reverse("accounts:login"), secure=True)
    assert page.status_code == 200
    csrf_cookie = page.cookies[prod_settings["CSRF_COOKIE_NAME"]]
    response = post_login(client, "alice", secure=True)
    assert response.status_code == 302
    cookie = response.cookies[prod_settings["SESSION_COOKIE_NAME"]]
    for morsel in (cookie, csrf_cookie):
        assert morsel["secure"] is True
        assert morsel["httponly"] is True
        assert morsel["samesite"] == "Lax"
        assert morsel["path"] == "/"
        assert not morsel["domain"]
    assert response["Strict-Transport-Security"].startswith("max-age=31536000")
