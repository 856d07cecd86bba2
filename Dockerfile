# SWMS application image: web (gunicorn), Celery worker and beat share it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=swms.settings_prod
# WeasyPrint needs pango and harfbuzz subsetting; certificates need a CJK font; gettext compiles
# the catalog.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 \
      fonts-wqy-microhei gettext \
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
# Build-time only key: collectstatic and compilemessages need settings, not secrets.
RUN DJANGO_SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64) \
    python manage.py compilemessages -l zh_Hans -v 0 \
 && DJANGO_SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64) \
    python manage.py collectstatic --noinput -v 0 \
 && useradd --system --home /app swms && mkdir -p /app/var && chown -R swms /app/var
USER swms
EXPOSE 8000
CMD ["gunicorn", "swms.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
