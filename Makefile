# SWMS: two commands.  `make demo` serves the app on SQLite with demo data; `make test` runs
# the whole suite on PostgreSQL plus ruff.  Both set up what they need first.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export DJANGO_SETTINGS_MODULE ?= swms.settings
# Debian packages: WeasyPrint (pango, harfbuzz subsetting), a CJK font, Chromium for browser tests,
# gettext for the catalog, poppler-utils (pdftotext) to read PDFs back in tests, pgbouncer for the pooled-
# connection test run (#17).
DEB_PACKAGES := gettext libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-wqy-microhei chromium poppler-utils pgbouncer

.PHONY: demo demo-setup test install system-deps messages messages-check lint serve clean bench-scale audit

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

system-deps:
	@missing=$$(for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "Installing Debian packages: $$missing"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

messages: $(STAMP)
	$(BIN)/python manage.py compilemessages -l zh_Hans -v 0

demo-setup: $(STAMP) messages
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py import_regions data/regions/guangdong-2025.csv
	SWMS_MFA_REQUIRED=$${SWMS_MFA_REQUIRED:-0} $(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py make_signing_key

demo: demo-setup
	@echo "SWMS demo on http://127.0.0.1:8000/  (Ctrl-C to stop)"
	DJANGO_DEBUG=$${DJANGO_DEBUG:-0} SWMS_MFA_REQUIRED=$${SWMS_MFA_REQUIRED:-0} $(BIN)/python manage.py runserver 127.0.0.1:8000

# The zh-Hans catalog is complete: every source string is in it and translated (none fuzzy).
messages-check: $(STAMP)
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete -v 0 \
	  --ignore='.venv/*' --ignore='var/*' --ignore='test-results/*' --ignore='bench/*'
	@stats=$$(LC_ALL=C msgfmt --statistics -o /dev/null locale/zh_Hans/LC_MESSAGES/django.po 2>&1); echo "zh-Hans catalog: $$stats"; \
	if echo "$$stats" | grep -qE 'untranslated|fuzzy'; then \
	  echo "Untranslated or fuzzy entries in locale/zh_Hans/LC_MESSAGES/django.po:"; \
	  msgattrib --only-fuzzy locale/zh_Hans/LC_MESSAGES/django.po | grep '^msgid' | head -20; \
	  msgattrib --untranslated locale/zh_Hans/LC_MESSAGES/django.po | grep '^msgid' | head -20; exit 1; fi

lint: $(STAMP)
	$(BIN)/ruff check .

# Known vulnerabilities in the installed, pinned dependencies (SECURITY.md D4), by pip-audit: fails on one,
# and fails as well when no vulnerability service answers, unless AUDIT_UNREACHABLE=warn.
audit: $(STAMP)
	$(BIN)/python .ci/audit.py $(if $(filter warn,$(AUDIT_UNREACHABLE)),--unreachable-ok)

test: $(STAMP) system-deps messages-check messages lint
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/swms} \
	  DJANGO_SETTINGS_MODULE=swms.settings_test DJANGO_ALLOW_ASYNC_UNSAFE=true \
	  $(BIN)/pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) var staticfiles

# Province-scale benchmark (issue #14; not part of `make test`, ~1.5 h on 2 cores): generate the province into
# SCALE_DATABASE_URL (its name must contain "scale" or "perf"; TRUNCATEd), time every page, load gunicorn,
# weigh the pages, and write the tables of bench/README.md. SCALE_N sets the timed requests per page.
SCALE_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/swms_scale
SCALE_N ?= 30
bench-scale: $(STAMP) messages
	mkdir -p var/bench
	DATABASE_URL=$(SCALE_DATABASE_URL) $(BIN)/python bench/scale.py generate --scale province
	DATABASE_URL=$(SCALE_DATABASE_URL) $(BIN)/python bench/scale.py pages --n $(SCALE_N) --out var/bench/pages.json
	DATABASE_URL=$(SCALE_DATABASE_URL) $(BIN)/python bench/scale.py load --users 10 50 --seconds 30 --out var/bench/load.json
	DATABASE_URL=$(SCALE_DATABASE_URL) $(BIN)/python bench/scale.py weight --out var/bench/weight.json
	$(BIN)/python bench/scale.py report --pages var/bench/pages.json --load var/bench/load.json --weight var/bench/weight.json

# The tests marked `pgbouncer` and the transaction-heavy test files through a private PgBouncer in transaction
# pooling mode (issue #17; .ci/pgbouncer/run-tests.sh starts and stops it on a free loopback port).
.PHONY: test-pgbouncer
test-pgbouncer: $(STAMP) messages
	.ci/pgbouncer/run-tests.sh
