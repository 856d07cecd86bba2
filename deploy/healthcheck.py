"""Container health checks of docker-compose.yml (exit 0 healthy, 1 not; one line on stdout for `docker inspect`).

    python deploy/healthcheck.py http URL        # 200 from URL (web: /healthz)
    python deploy/healthcheck.py worker          # this container's Celery worker beats (manage.py celery_status)
    python deploy/healthcheck.py beat [--max-age 180]   # beat sent its heartbeat task lately

`worker` and `beat` read the heartbeats the workers and beat keep in the database (swms/heartbeats.py), so they
answer while Redis is down: a worker is healthy while its process runs and beats; whether it can reach the
broker shows in `manage.py celery_status` and /readyz. The worker's name is celery@<container hostname>, the
Celery default.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def check_http(url: str, timeout: float) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - a fixed local URL
            return response.status == 200, f"{url}: {response.status}"
    except urllib.error.HTTPError as e:
        return False, f"{url}: {e.code}"
    except OSError as e:
        return False, f"{url}: {e}"


def _status() -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings_prod")
    import django

    django.setup()
    from swms.heartbeats import status

    return status()


def check_worker(hostname: str) -> tuple[bool, str]:
    for worker in _status()["workers"]:
        if worker["hostname"] == hostname:
            return worker["state"] == "alive", f"{hostname}: {worker['state']}, last seen {worker['last_seen_seconds']} s ago"
    return False, f"{hostname}: no heartbeat yet"


def check_beat(max_age: float) -> tuple[bool, str]:
    sent = _status()["beat"]["sent_seconds_ago"]
    if sent is None:
        return False, "beat: no heartbeat sent yet"
    return sent <= max_age, f"beat: heartbeat sent {sent} s ago (at most {max_age:.0f})"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="check", required=True)
    http = sub.add_parser("http")
    http.add_argument("url")
    http.add_argument("--timeout", type=float, default=5)
    worker = sub.add_parser("worker")
    worker.add_argument("--hostname", default=f"celery@{socket.gethostname()}")
    beat = sub.add_parser("beat")
    beat.add_argument("--max-age", type=float, default=180, help="seconds (beat sends one a minute)")
    args = ap.parse_args(argv)
    try:
        if args.check == "http":
            ok, line = check_http(args.url, args.timeout)
        elif args.check == "worker":
            ok, line = check_worker(args.hostname)
        else:
            ok, line = check_beat(args.max_age)
    except Exception as e:  # noqa: BLE001 - the database is down, settings refuse...: unhealthy, say why
        ok, line = False, f"{args.check}: {type(e).__name__}: {e}"
    print(line)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
