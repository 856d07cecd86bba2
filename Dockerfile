# SWMS application image: web (gunicorn), the Celery workers and beat, and the one-shot jobs (migrate, bucket
# creation, backup and restore) share it. docker-compose.yml runs it; deploy/ holds its health checks.
FROM python:3.11.13-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=swms.settings_prod
# WeasyPrint needs pango and harfbuzz subsetting; certificates need a CJK font; gettext compiles the catalog;
# `manage.py backup` / `restore` call pg_dump / pg_restore of the server's major version (PostgreSQL 15).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-wqy-microhei gettext postgresql-client-15 \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY swms ./swms
COPY accounts ./accounts
COPY registration ./registration
COPY stations ./stations
COPY services ./services
COPY notices ./notices
COPY reports ./reports
RUN pip install --no-cache-dir .
COPY . .
# Build-time only keys: compilemessages and collectstatic (hashed, compressed files for WhiteNoise) load the
# production settings, which refuse to start without a secret key, field and hash keys and signing files. These
# exist only in this RUN step; the real ones come from .env and the mounted secrets at run time.
RUN touch /tmp/build-key.pem /tmp/build-cert.pem \
 && export DJANGO_SECRET_KEY="build-only-$(head -c 48 /dev/urandom | base64 | tr -d '\n')" \
      SWMS_FIELD_KEYS="$(python -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')" \
      SWMS_HASH_KEY="build-only-$(head -c 32 /dev/urandom | base64 | tr -d '\n')" \
      SWMS_SIGNING_KEY_FILE=/tmp/build-key.pem SWMS_SIGNING_CERT_FILE=/tmp/build-cert.pem \
 && python manage.py compilemessages -l zh_Hans -v 0 \
 && python manage.py collectstatic --noinput -v 0 \
 && rm /tmp/build-key.pem /tmp/build-cert.pem \
 && useradd --system --uid 10001 --home /app swms && mkdir -p /app/var && chown -R swms /app/var
USER swms
EXPOSE 8000
# docker-compose.yml gives the production flags (workers, timeouts); this is the same server on its own.
CMD ["gunicorn", "swms.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--worker-tmp-dir", "/dev/shm"]
