"""Production settings: everything in settings.py plus HTTPS-only, hardened cookies (D1, S4)."""

import os

from django.core.exceptions import ImproperlyConfigured

from .crypto import DEV_FIELD_KEY, DEV_HASH_KEY
from .settings import *  # noqa: F403
from .settings import DEV_SECRET_KEY, SECRET_KEY, SWMS_FIELD_KEYS, SWMS_HASH_KEY, env
from .storage import build_storages

DEBUG = False
SWMS_PRODUCTION = True
if SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("Set DJANGO_SECRET_KEY to a random value of 50+ characters in production.")

if DEV_FIELD_KEY in SWMS_FIELD_KEYS or SWMS_HASH_KEY == DEV_HASH_KEY or len(SWMS_HASH_KEY) < 32:
    raise ImproperlyConfigured(
        "Set SWMS_FIELD_KEYS (Fernet keys) and SWMS_HASH_KEY (32+ random characters) in production."
    )

# Certificate PDFs are signed with the deployment's own key (P3), never with the generated demo pair.
_signing = [env.str("SWMS_SIGNING_KEY_FILE", default=""), env.str("SWMS_SIGNING_CERT_FILE", default="")]
if not all(_signing) or not all(os.path.isfile(path) for path in _signing):
    raise ImproperlyConfigured(
        "Set SWMS_SIGNING_KEY_FILE and SWMS_SIGNING_CERT_FILE to the PEM key and certificate that sign certificates."
    )

# The captcha's test mode accepts "PASSED" for every challenge: never in production, whatever the env says.
CAPTCHA_TEST_MODE = False

SECURE_SSL_REDIRECT = env.bool("SWMS_SSL_REDIRECT", default=True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
CSRF_COOKIE_HTTPONLY = True
SESSION_COOKIE_NAME = "__Host-sessionid"
CSRF_COOKIE_NAME = "__Host-csrftoken"
LANGUAGE_COOKIE_SECURE = True
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Lax"

# Persistent database connections (checked before reuse): a page no longer pays a connect per request.
# --- Database pooling and read replica (#17) ---: the same for the replica; through PgBouncer these are the
# client connections to PgBouncer (cheap to keep), the server connections are PgBouncer's.
for _db in DATABASES.values():  # noqa: F405
    _db["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    _db["CONN_HEALTH_CHECKS"] = True

# --- Object storage (#17) ---: private files as in settings.py (SWMS_STORAGE_URL), static files by WhiteNoise.
STORAGES = build_storages(SWMS_STORAGE_URL, staticfiles="whitenoise.storage.CompressedManifestStaticFilesStorage",  # noqa: F405
                          presigned_seconds=SWMS_STORAGE_PRESIGNED_SECONDS)  # noqa: F405
WHITENOISE_USE_FINDERS = False

# Compressed HTML (issue #14: page weight). Right after WhiteNoise: static files are answered above it
# (already compressed at collectstatic, gzip and brotli), and every middleware below it has finished with
# the body before it is compressed; downloads are left as they are (PageGZipMiddleware). BREACH: Django's
# GZipMiddleware pads each response with up to 100 random bytes in the gzip header ("Heal The Breach"), CSRF tokens are masked per response, and the
# session cookie is SameSite=Lax, so cross-site pages cannot make the many credentialed requests the
# attack needs.
MIDDLEWARE = list(MIDDLEWARE)  # noqa: F405
MIDDLEWARE.insert(MIDDLEWARE.index("whitenoise.middleware.WhiteNoiseMiddleware") + 1, "swms.middleware.PageGZipMiddleware")
