"""SWMS settings, read from the environment (django-environ).

With no DATABASE_URL the app runs on a SQLite file under var/; with no CELERY_BROKER_URL Celery
tasks run eagerly. Every variable is listed in README.md and .env.example.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The development key is only for the embedded demo; production settings refuse to start with it.
DEV_SECRET_KEY = "swms-development-only-key-not-for-production-use-0123456789"
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default=DEV_SECRET_KEY)
# Personal data at rest (swms/crypto.py): Fernet keys (first encrypts) and the blind-index HMAC key.
SWMS_FIELD_KEYS = env.list("SWMS_FIELD_KEYS", default=[])
SWMS_HASH_KEY = env.str("SWMS_HASH_KEY", default="")
SWMS_HASH_KEY_PREVIOUS = env.str("SWMS_HASH_KEY_PREVIOUS", default="")
if not SWMS_FIELD_KEYS or not SWMS_HASH_KEY:
    from .crypto import DEV_FIELD_KEY, DEV_HASH_KEY

    SWMS_FIELD_KEYS = SWMS_FIELD_KEYS or [DEV_FIELD_KEY]
    SWMS_HASH_KEY = SWMS_HASH_KEY or DEV_HASH_KEY
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "mptt",
    "guardian",
    "simple_history",
    # Append-only log and history tables (L2): UPDATE/DELETE refused by triggers (swms/append_only.py).
    "pgtrigger",
    "django_filters",
    "django_htmx",
    "axes",
    "captcha",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "django_celery_beat",
    "swms",
    "accounts",
    "registration",
    "stations",
    "services",
    "notices",
    "reports",
    "spotchecks",
    "exchange",
]

MIDDLEWARE = [
    # --- Health and logs (#17) ---: the request id first (every log line carries it), then /healthz and /readyz
    # before the HTTPS redirect, host check, session and login (a load balancer probes by IP over plain HTTP),
    # then the 503 page for a lost database (swms/health.py).
    "swms.request_id.RequestIdMiddleware",
    "swms.health.HealthCheckMiddleware",
    "swms.health.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Read replica (#17): after a write, this user's reads stay on the primary (swms/db_router.py).
    "swms.db_router.ReplicaPinMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "swms.middleware.SessionTimeoutMiddleware",
    # The second factor first, then a due password change (its pages are open to an unverified user).
    "swms.middleware.SecondFactorRequiredMiddleware",
    "swms.middleware.PasswordChangeRequiredMiddleware",
    "swms.middleware.NoStoreForAuthenticatedMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Axes must be last.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "swms.urls"
WSGI_APPLICATION = "swms.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "swms.context_processors.shell",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'swms.sqlite3'}"),
}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Database pooling and read replica (#17) ---
# DATABASE_REPLICA_URL: a streaming replica of the primary; statistics, dashboards and exports read from it
# through swms.db_router.reads_from_replica() (never writes, never right after a write). Not migrated.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db_url("DATABASE_REPLICA_URL")
    DATABASES["replica"]["CONN_MAX_AGE"] = DATABASES["default"]["CONN_MAX_AGE"]
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    # A replica that does not answer costs a request at most this long before it reads the primary.
    DATABASES["replica"].setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
# The router's switch (SWMS_REPLICA_READS=0 sends every read back to the primary without removing the URL);
# settings_test defines the alias (a test mirror) but routes to it only in its tests.
SWMS_REPLICA_READS = "replica" in DATABASES and env.bool("SWMS_REPLICA_READS", default=True)
# A user who has just written (any POST, PUT, PATCH, DELETE) reads from the primary for this many seconds.
SWMS_REPLICA_PIN_SECONDS = env.int("SWMS_REPLICA_PIN_SECONDS", default=10)
# The replica is used only while it is at most this many seconds behind (checked every few seconds).
SWMS_REPLICA_MAX_LAG_SECONDS = env.float("SWMS_REPLICA_MAX_LAG_SECONDS", default=5.0)
SWMS_REPLICA_CHECK_SECONDS = env.float("SWMS_REPLICA_CHECK_SECONDS", default=2.0)
DATABASE_ROUTERS = ["swms.db_router.ReplicaRouter"]
# DATABASE_PGBOUNCER: the URLs above go through PgBouncer in transaction pooling mode; swms/pgbouncer/base.py
# keeps server-side cursors inside transactions and prepared statements off.
DATABASE_PGBOUNCER = env.bool("DATABASE_PGBOUNCER", default=False)
if DATABASE_PGBOUNCER:
    for _db in DATABASES.values():
        if _db["ENGINE"] == "django.db.backends.postgresql":
            _db["ENGINE"] = "swms.pgbouncer"
# --- end Database pooling and read replica (#17) ---

# --- Cache ----------------------------------------------------------------------------------
CACHES = {"default": env.cache_url("CACHE_URL", default="locmemcache://swms")}
# --- Cache resilience (#17) ---: with Redis down the pages keep working; cache calls are misses, rate limits fail open.
if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache":
    CACHES["default"]["BACKEND"] = "swms.cache.ResilientRedisCache"

# --- Auth and accounts ----------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "accounts.backends.IdentifierBackend",
    "guardian.backends.ObjectPermissionBackend",
    # 三员分立 (Z5): operators' permissions come from their role (accounts/operator_roles.py) only.
    "accounts.operator_roles.OperatorRoleBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "reports:workbench"
LOGOUT_REDIRECT_URL = "accounts:login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
# MLPS 2.0 composition rule (3 of 4 classes) plus ASVS's common-password check; see README.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "accounts.validators.CharacterClassesValidator", "OPTIONS": {"min_classes": 3}},
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("username", "full_name", "email", "phone", "id_number")},
    },
    {"NAME": "accounts.validators.PersonalDataValidator"},
    {"NAME": "accounts.validators.WeakBaseValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Days after which a password must be changed (MLPS 定期更换); 0 disables expiry.
PASSWORD_EXPIRY_DAYS = env.int("SWMS_PASSWORD_EXPIRY_DAYS", default=90)
PASSWORD_RESET_TIMEOUT = 60 * 60 * 2

# --- Sessions -------------------------------------------------------------------------------
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_IDLE_TIMEOUT = timedelta(minutes=env.int("SWMS_SESSION_IDLE_MINUTES", default=30))
SESSION_ABSOLUTE_TIMEOUT = timedelta(hours=env.int("SWMS_SESSION_ABSOLUTE_HOURS", default=12))
# The idle clock is kept to this granularity, so that a page view does not write the session row each time.
SWMS_SESSION_TOUCH_SECONDS = env.int("SWMS_SESSION_TOUCH_SECONDS", default=60)
SESSION_COOKIE_AGE = int(SESSION_ABSOLUTE_TIMEOUT.total_seconds())
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# --- Login throttling (django-axes) ---------------------------------------------------------
AXES_FAILURE_LIMIT = env.int("SWMS_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("SWMS_LOGIN_COOLOFF_MINUTES", default=30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_HTTP_RESPONSE_CODE = 429
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_USERNAME_FORM_FIELD = "username"
AXES_ENABLE_ADMIN = True
SWMS_TRUSTED_PROXY_COUNT = env.int("SWMS_TRUSTED_PROXY_COUNT", default=0)
AXES_CLIENT_IP_CALLABLE = "swms.http.client_ip"
AXES_VERBOSE = False
# Usernames reach axes' tables only through accounts.backends.axes_username (ID numbers masked, P1), and
# successful logins are logged once, in the security event log, not again in axes' AccessLog.
AXES_USERNAME_CALLABLE = "accounts.backends.axes_username"
AXES_DISABLE_ACCESS_LOG = True

# --- Second factor and re-authentication (SECURITY.md A5, A6) ---------------------------------
# Officials and operators must use a second factor (TOTP, a backup code or an SMS code); other accounts
# may opt in. False switches the requirement off everywhere (the test suite does, except the 2FA tests).
SWMS_MFA_REQUIRED = env.bool("SWMS_MFA_REQUIRED", default=True)
OTP_TOTP_ISSUER = env.str("SWMS_OTP_ISSUER", default="SWMS")
# Sensitive actions (exports of personal data, full ID numbers, resetting others' passwords) ask for the
# password again when it was last given more than this many minutes ago.
SWMS_REAUTH_MINUTES = env.int("SWMS_REAUTH_MINUTES", default=15)
# SMS codes (second factor and social workers' SMS login): codes sent per account and per client address
# per hour, and codes tried per account and per address per hour.
SWMS_SMS_CODES_PER_ACCOUNT = env.int("SWMS_SMS_CODES_PER_ACCOUNT", default=5)
SWMS_SMS_CODES_PER_IP = env.int("SWMS_SMS_CODES_PER_IP", default=20)
SWMS_SMS_TRIES_PER_ACCOUNT = env.int("SWMS_SMS_TRIES_PER_ACCOUNT", default=10)
SWMS_SMS_TRIES_PER_IP = env.int("SWMS_SMS_TRIES_PER_IP", default=30)

# --- Captcha --------------------------------------------------------------------------------
CAPTCHA_LENGTH = 4
CAPTCHA_TIMEOUT = 5
CAPTCHA_CHALLENGE_FUNCT = "captcha.helpers.random_char_challenge"
CAPTCHA_TEST_MODE = env.bool("SWMS_CAPTCHA_TEST_MODE", default=False)

# --- Internationalization -------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(env.str("SWMS_STATIC_ROOT", default=str(VAR_DIR / "static")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Uploaded files are private: no MEDIA_URL route; they are served by permission-checking views.
MEDIA_ROOT = Path(env.str("SWMS_PRIVATE_MEDIA_ROOT", default=str(VAR_DIR / "private")))

# --- Object storage (#17) ---
# Private files (uploads, certificates, exports, imports) in an S3-compatible bucket shared by every node when
# SWMS_STORAGE_URL is set (s3://KEY:SECRET@HOST:PORT/BUCKET[/PREFIX]?secure=0&region=…, see swms/storage.py),
# else under MEDIA_ROOT. SWMS_STORAGE_PRESIGNED=1: downloads answer, after the permission check, with a redirect
# to a presigned link valid SWMS_STORAGE_PRESIGNED_SECONDS, signed for SWMS_STORAGE_PUBLIC_ENDPOINT if the
# browsers reach the store at another address than the application does (default: streamed through the app).
SWMS_STORAGE_URL = env.str("SWMS_STORAGE_URL", default="")
SWMS_STORAGE_PRESIGNED = env.bool("SWMS_STORAGE_PRESIGNED", default=False)
SWMS_STORAGE_PRESIGNED_SECONDS = env.int("SWMS_STORAGE_PRESIGNED_SECONDS", default=60)
SWMS_STORAGE_PUBLIC_ENDPOINT = env.str("SWMS_STORAGE_PUBLIC_ENDPOINT", default="")
from .storage import build_storages  # noqa: E402

STORAGES = build_storages(SWMS_STORAGE_URL, presigned_seconds=SWMS_STORAGE_PRESIGNED_SECONDS)

# --- Email and SMS --------------------------------------------------------------------------
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="SWMS <noreply@swms.local>")

# --- Celery ---------------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=None)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# --- Celery queues, limits, outbox (#17) ---
# Four queues routed in one place (swms/celery_routes.py); SWMS_CELERY_QUEUE_PREFIX keeps two deployments (or
# two test workers) apart on one Redis. Tasks not routed there go to `default`.
from . import celery_routes as _celery_routes  # noqa: E402

CELERY_TASK_DEFAULT_QUEUE = _celery_routes.queue("default")
CELERY_TASK_ROUTES = _celery_routes.routes()
CELERY_TASK_ANNOTATIONS = _celery_routes.annotations()
CELERY_TASK_SOFT_TIME_LIMIT, CELERY_TASK_TIME_LIMIT = _celery_routes.DEFAULT_TIME_LIMITS
# One message at a time per worker process: a long PDF or export does not hold others back in its prefetch.
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Redis re-delivers the unacknowledged message of a killed worker after the visibility timeout; it must be longer
# than the longest hard time limit (swms/celery_routes.py, 3300 s) and retry countdown (600 s), or running tasks
# are delivered twice (harmless, they are idempotent, but wasted).
SWMS_CELERY_VISIBILITY_TIMEOUT = env.int("SWMS_CELERY_VISIBILITY_TIMEOUT", default=3600)
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": SWMS_CELERY_VISIBILITY_TIMEOUT,
    # A broker that does not answer fails fast instead of hanging the process that talks to it.
    "socket_connect_timeout": env.float("SWMS_CELERY_CONNECT_TIMEOUT", default=2.0),
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Tasks queued by the web go through the transactional outbox (swms/outbox.py): written with the caller's
# transaction, published at commit with a short timeout, published later by `drain_outbox` if the broker was down.
SWMS_OUTBOX_PUBLISH_TIMEOUT = env.float("SWMS_OUTBOX_PUBLISH_TIMEOUT", default=1.5)
SWMS_OUTBOX_RETENTION_DAYS = env.int("SWMS_OUTBOX_RETENTION_DAYS", default=7)
# A worker writes its heartbeat row this often; `manage.py celery_status` calls it lost after 3 missed beats.
SWMS_WORKER_HEARTBEAT_SECONDS = env.int("SWMS_WORKER_HEARTBEAT_SECONDS", default=30)
# --- end Celery queues (#17) ---
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Tasks whose publish failed at commit (broker down) are published from the outbox (swms/outbox.py).
    "drain-outbox": {
        "task": "swms.tasks.drain_outbox",
        "schedule": timedelta(minutes=1),
    },
    # Beat's own heartbeat: beat sends it, a worker records it (`manage.py celery_status`).
    "beat-heartbeat": {
        "task": "swms.tasks.beat_heartbeat",
        "schedule": timedelta(minutes=1),
    },
    # Certificates are issued a set number of days after a registration window closes.
    "issue-due-certificates": {
        "task": "registration.tasks.issue_due_certificates",
        "schedule": timedelta(hours=24),
    },
    # Registrations not renewed within the grace period are frozen on the 1st of each month.
    "freeze-overdue-registrations": {
        "task": "registration.tasks.freeze_overdue_registrations",
        "schedule": crontab(minute=0, hour=3, day_of_month=1),
    },
    # Weekly review digest to every official with items waiting (Monday morning by default).
    "weekly-review-digest": {
        "task": "notices.tasks.send_weekly_digests",
        "schedule": crontab(minute=0, hour=env.int("SWMS_DIGEST_HOUR", default=8),
                            day_of_week=env.str("SWMS_DIGEST_DAY_OF_WEEK", default="mon")),
    },
    # Operators past their validity lose access to their stations (and new periods start) daily.
    "sync-station-operators": {
        "task": "stations.tasks.sync_operator_permissions",
        "schedule": crontab(minute=10, hour=0),
    },
    # The statistics aggregates are rebuilt from the records every night.
    "rebuild-statistics": {
        "task": "reports.tasks.rebuild_statistics",
        "schedule": crontab(minute=30, hour=2),
    },
    # Export jobs whose runner died (no heartbeat) are marked failed so their owner can retry them.
    "sweep-stale-exports": {
        "task": "swms.tasks.sweep_stale_exports_task",
        "schedule": timedelta(minutes=5),
    },
    # Export files are removed SWMS_EXPORT_RETENTION_DAYS after they were written.
    "purge-expired-exports": {
        "task": "swms.tasks.purge_expired_exports_task",
        "schedule": timedelta(hours=1),
    },
    # Logs, login attempts and lookups past SWMS_LOG_RETENTION_DAYS, leftover temporary files, expired sessions.
    "purge-expired-records": {
        "task": "swms.tasks.purge_expired_records_task",
        "schedule": crontab(minute=40, hour=1),
    },
    # The province's monthly data-return package for the national exchange (SWMS_EXCHANGE_PROVINCES).
    "export-exchange-packages": {
        "task": "exchange.tasks.export_monthly_packages",
        "schedule": crontab(minute=0, hour=4, day_of_month=1),
    },
}

# --- Security headers -----------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    },
}

# --- SWMS -----------------------------------------------------------------------------------
SWMS_SITE_NAME = _("Social Work Management System")
# Idle accounts are disabled after this many days by `manage.py disable_idle_accounts` (A1).
SWMS_ACCOUNT_IDLE_DAYS = env.int("SWMS_ACCOUNT_IDLE_DAYS", default=180)

# --- Health and logs (#17) ---
# SWMS_LOG_FORMAT=json: one JSON object per line (for a log collector); text (default) for people. Every record
# carries the request id (X-Request-ID, swms/request_id.py; also in the Celery tasks a request queued) and the
# signed-in user's id, never personal data.
SWMS_LOG_FORMAT = env.str("SWMS_LOG_FORMAT", default="text")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "swms.request_id.RequestIdFilter"}},
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s %(user_id)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": "json" if SWMS_LOG_FORMAT == "json" else "text",
        },
    },
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    # WeasyPrint logs every rendering step at INFO ("Step 2 - Fetching and parsing CSS"): noise.
    "loggers": {"axes": {"level": "WARNING"}, "weasyprint": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
# Off the box (L2, accounts/audit_chain.py): every committed security event's id, kind and hash go to the
# swms.audit logger; SWMS_AUDIT_SYSLOG=udp://host:514 (or tcp://host:601) sends them to a syslog server too, where
# a database superuser cannot rewrite them; `verify_audit_chain --shipped FILE` compares them with the table.
SWMS_AUDIT_SYSLOG = env.str("SWMS_AUDIT_SYSLOG", default="")
if SWMS_AUDIT_SYSLOG:
    import socket as _socket
    from urllib.parse import urlsplit as _urlsplit

    _syslog = _urlsplit(SWMS_AUDIT_SYSLOG)
    LOGGING["handlers"]["audit_syslog"] = {
        "class": "logging.handlers.SysLogHandler",
        "address": (_syslog.hostname, _syslog.port or 514),
        "socktype": _socket.SOCK_STREAM if _syslog.scheme == "tcp" else _socket.SOCK_DGRAM,
        "facility": "authpriv",
        "formatter": "text",
        "filters": ["request_id"],
    }
    LOGGING["loggers"]["swms.audit"] = {"handlers": ["console", "audit_syslog"], "level": "INFO", "propagate": False}
# The worker keeps this logging configuration (and its format) instead of replacing the root logger's handlers.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
# /readyz (swms/health.py): each check's time limit in seconds, how long "all migrations applied" is remembered,
# checks left out (comma-separated: database, redis, storage, migrations), and the secret that shows the failing
# checks to a request with the X-Health-Token header (empty: never shown, only logged).
SWMS_READYZ_TIMEOUT = env.float("SWMS_READYZ_TIMEOUT", default=2.0)
SWMS_READYZ_MIGRATIONS_CACHE = env.int("SWMS_READYZ_MIGRATIONS_CACHE", default=60)
SWMS_READYZ_SKIP = env.list("SWMS_READYZ_SKIP", default=[])
SWMS_HEALTH_TOKEN = env.str("SWMS_HEALTH_TOKEN", default="")
# Backups (`manage.py backup`): the folder new backups go to.
SWMS_BACKUP_DIR = env.str("SWMS_BACKUP_DIR", default=str(VAR_DIR / "backups"))
# A database that does not answer fails a request within DATABASE_CONNECT_TIMEOUT seconds (the 503 page), not
# after the system's TCP timeout; a persistent connection is checked before reuse, so the web process recovers
# by itself when PostgreSQL is back.
for _alias in DATABASES.values():
    if "sqlite" not in _alias.get("ENGINE", ""):  # PostgreSQL, also through PgBouncer (swms.pgbouncer)
        _alias.setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", default=3))
        _alias.setdefault("CONN_HEALTH_CHECKS", env.bool("DATABASE_CONN_HEALTH_CHECKS", default=True))
# Django admin lives under a configurable path (for operators; not linked from the app).
SWMS_ADMIN_PATH = env.str("SWMS_ADMIN_PATH", default="ops-admin/")
# Serve static files straight from static/ (no collectstatic needed for the demo and tests);
# production settings serve the hashed, compressed copies from STATIC_ROOT instead.
WHITENOISE_USE_FINDERS = True
# django-guardian: object permissions only for true per-object grants (an organization operating a
# station). No "AnonymousUser" account is created: no default accounts (A1).
ANONYMOUS_USER_NAME = None
# Exports of more rows than this are written in the background with a progress page: by a Celery
# worker when CELERY_BROKER_URL is set, else by a thread of the web process ("celery" / "thread";
# empty = choose by the broker; "inline" runs the job in the request's commit hook, for tests only).
SWMS_EXPORT_SYNC_ROWS = env.int("SWMS_EXPORT_SYNC_ROWS", default=5000)
SWMS_EXPORT_RUNNER = env.str("SWMS_EXPORT_RUNNER", default="")
# A running export without a heartbeat for this long has lost its process and is marked failed.
SWMS_EXPORT_STALE_MINUTES = env.int("SWMS_EXPORT_STALE_MINUTES", default=10)
# The import centre (swms/import_jobs.py): the largest file accepted, and what a workbook (a zip) may expand to.
SWMS_IMPORT_MAX_BYTES = env.int("SWMS_IMPORT_MAX_BYTES", default=50 * 2**20)
SWMS_IMPORT_MAX_UNCOMPRESSED = env.int("SWMS_IMPORT_MAX_UNCOMPRESSED", default=2**30)
# Export files are deleted this many days after they were written.
SWMS_EXPORT_RETENTION_DAYS = env.int("SWMS_EXPORT_RETENTION_DAYS", default=7)
# Items waiting longer than this at an office are escalated in the weekly digest of the office above.
SWMS_ESCALATE_AFTER_DAYS = env.int("SWMS_ESCALATE_AFTER_DAYS", default=14)
# True only under settings_prod: demo-only commands refuse to run there.
SWMS_PRODUCTION = False
# SMS through a pluggable backend: swms.sms.ConsoleBackend / FileBackend / LocmemBackend, or a
# provider adapter of your own (a subclass of swms.sms.BaseSMSBackend).
SWMS_SMS_BACKEND = env.str("SWMS_SMS_BACKEND", default="swms.sms.ConsoleBackend")
SWMS_SMS_FILE_PATH = env.str("SWMS_SMS_FILE_PATH", default=str(VAR_DIR / "sms.jsonl"))
# Largest uploaded file (Beijing manual: every photo under 1 MB).
SWMS_UPLOAD_MAX_BYTES = env.int("SWMS_UPLOAD_MAX_BYTES", default=1024 * 1024)
# Uploaded documents (swms/uploads.py): the file, and for .docx/.xlsx the parts unpacked in total, their number and
# the compression ratio of any part over 1 MB (zip bombs).
SWMS_DOCUMENT_MAX_BYTES = env.int("SWMS_DOCUMENT_MAX_BYTES", default=10 * 1024 * 1024)
SWMS_DOCUMENT_MAX_UNCOMPRESSED_BYTES = env.int("SWMS_DOCUMENT_MAX_UNCOMPRESSED_BYTES", default=50 * 1024 * 1024)
SWMS_DOCUMENT_MAX_ENTRIES = env.int("SWMS_DOCUMENT_MAX_ENTRIES", default=1000)
SWMS_DOCUMENT_MAX_RATIO = env.int("SWMS_DOCUMENT_MAX_RATIO", default=100)
SWMS_SMS_SIGNATURE = env.str("SWMS_SMS_SIGNATURE", default="民政社工")
# Absolute address of this site, for links that leave it (the QR code on certificates).
SWMS_PUBLIC_BASE_URL = env.str("SWMS_PUBLIC_BASE_URL", default="http://127.0.0.1:8000")
# Lookups of the public certificate verification page per client address per minute.
SWMS_VERIFY_RATE_PER_MINUTE = env.int("SWMS_VERIFY_RATE_PER_MINUTE", default=30)
# Upload-to-verify on /verify/: the largest PDF accepted (held in memory only, never stored).
SWMS_VERIFY_UPLOAD_MAX_BYTES = env.int("SWMS_VERIFY_UPLOAD_MAX_BYTES", default=2 * 2**20)
# PAdES signing of certificate PDFs (swms/signing.py): PEM key and certificate; unset outside production, a
# self-signed demo pair is generated under var/signing/ (production settings refuse to start without them).
SWMS_SIGNING_KEY_FILE = env.str("SWMS_SIGNING_KEY_FILE", default="")
SWMS_SIGNING_CERT_FILE = env.str("SWMS_SIGNING_CERT_FILE", default="")
SWMS_SIGNING_KEY_PASSPHRASE = env.str("SWMS_SIGNING_KEY_PASSPHRASE", default="")
# Retention (L3, P5; swms/retention.py, `manage.py purge_expired_records`): security events, login attempts and
# certificate lookups are kept this many days, at least 180 (Cybersecurity Law art. 21: six months); temporary
# files this many hours; the files of finished imports (upload and error workbook) this many days.
SWMS_LOG_RETENTION_DAYS = env.int("SWMS_LOG_RETENTION_DAYS", default=180)
if SWMS_LOG_RETENTION_DAYS < 180:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SWMS_LOG_RETENTION_DAYS must be at least 180 (Cybersecurity Law art. 21: 6 months).")
SWMS_TEMP_RETENTION_HOURS = env.int("SWMS_TEMP_RETENTION_HOURS", default=24)
SWMS_IMPORT_FILE_RETENTION_DAYS = env.int("SWMS_IMPORT_FILE_RETENTION_DAYS", default=30)
# Registry lookups of the station add-worker page per station account and per client address per hour.
SWMS_WORKER_LOOKUP_PER_HOUR = env.int("SWMS_WORKER_LOOKUP_PER_HOUR", default=30)
# National data exchange (docs/exchange.md): the province codes whose monthly package this deployment's beat
# job exports (empty: none, e.g. the national deployment), and the overlap of incremental packages.
SWMS_EXCHANGE_PROVINCES = env.list("SWMS_EXCHANGE_PROVINCES", default=[])
SWMS_EXCHANGE_OVERLAP_SECONDS = env.int("SWMS_EXCHANGE_OVERLAP_SECONDS", default=600)

# Covering indexes (INCLUDE columns) serve the province-scale lists on PostgreSQL; the embedded SQLite demo
# builds them without the extra columns, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
# Rate limits (D3, swms/throttle.py): per user (or typed address) in each window; per client address
# SWMS_RATE_LIMIT_IP_FACTOR times as many (an office's officials may share one NAT address).
SWMS_EXPORT_PER_HOUR = env.int("SWMS_EXPORT_PER_HOUR", default=60)
SWMS_PDF_PER_HOUR = env.int("SWMS_PDF_PER_HOUR", default=120)
SWMS_REGISTRY_LOOKUP_PER_MINUTE = env.int("SWMS_REGISTRY_LOOKUP_PER_MINUTE", default=60)
SWMS_PASSWORD_RESET_PER_HOUR = env.int("SWMS_PASSWORD_RESET_PER_HOUR", default=5)
SWMS_RATE_LIMIT_IP_FACTOR = env.int("SWMS_RATE_LIMIT_IP_FACTOR", default=5)
