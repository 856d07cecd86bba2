"""Fault test: PostgreSQL restarted under load (issue #17).

A private PostgreSQL 15 cluster (initdb in a temporary folder, its own loopback port), the project migrated into
it, and a real gunicorn serving the project with persistent, health-checked connections. Threads request the login
page (it writes a captcha row) and /readyz while PostgreSQL is stopped and started again: while it is down every
request fails fast with the friendly 503 page and /readyz says unavailable while /healthz still answers; when it
is back the same gunicorn processes (same PIDs) serve again, with no restart.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.test_celery_worker import stop_process

pytestmark = pytest.mark.faults

ROOT = Path(__file__).resolve().parent.parent
PG_BIN = Path("/usr/lib/postgresql/15/bin")
FRIENDLY = "The system cannot reach its database at the moment"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(*command, timeout=120, check=True):
    """A PostgreSQL program as the `postgres` OS user when we are root (initdb and postgres refuse root)."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *map(str, command)], capture_output=True, text=True, timeout=timeout,
                          check=check)


class Cluster:
    def __init__(self):
        self.dir = Path(tempfile.mkdtemp(prefix="swms-health-pg-"))
        self.data = self.dir / "data"
        self.port = free_port()
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
        as_postgres(PG_BIN / "initdb", "-D", self.data, "-A", "trust", "-U", "postgres", "--no-sync",
                    "-E", "UTF8", "--locale=C.UTF-8")

    def start(self):
        as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-l", self.dir / "postgres.log", "-w", "-t", "60", "-o",
                    f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start")

    def stop(self, mode="fast"):
        as_postgres(PG_BIN / "pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def remove(self):
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self):
        return f"postgres://postgres@127.0.0.1:{self.port}/swms"


def get(url, timeout=15):
    """(status, body, seconds) of a GET in English; never raises for an HTTP error."""
    request = urllib.request.Request(url, headers={"Accept-Language": "en"})
    started = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - loopback only
            status, body = response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read().decode("utf-8", "replace")
    except OSError as e:  # a refused or dropped connection, a timeout
        status, body = 0, repr(e)
    return status, body, time.monotonic() - started


def worker_pids(master: int) -> set[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True).stdout
    return {int(pid) for pid in out.split()}


@pytest.fixture
def stack(tmp_path):
    """The private cluster, migrated, and gunicorn (2 workers × 2 threads) on it; both stopped at the end."""
    import psycopg

    cluster = Cluster()
    server = None
    try:
        cluster.start()
        with psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres",
                             autocommit=True) as admin:
            admin.execute("CREATE DATABASE swms")
        env = {key: value for key, value in os.environ.items() if not key.startswith(("CELERY_", "CACHE_URL"))}
        env.update({
            "DJANGO_SETTINGS_MODULE": "swms.settings",
            "DATABASE_URL": cluster.url,
            # Persistent connections, checked before reuse: the connections PostgreSQL's stop killed are in play.
            "DATABASE_CONN_MAX_AGE": "600",
            "DATABASE_CONN_HEALTH_CHECKS": "1",
            "DATABASE_CONNECT_TIMEOUT": "3",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
            "SWMS_PRIVATE_MEDIA_ROOT": str(tmp_path / "media"),
            "SWMS_LOG_FORMAT": "json",
            "DJANGO_LOG_LEVEL": "WARNING",
        })
        migrate = subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"], cwd=ROOT,
                                 env=env, timeout=600, capture_output=True, text=True)
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        port = free_port()
        log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115 - closed in finally
        server = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "swms.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--threads", "2", "--timeout", "60", "--graceful-timeout", "5"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while get(f"{base}/healthz", timeout=2)[0] != 200:
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text(errors="replace")
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.3)
        yield {"cluster": cluster, "server": server, "base": base, "log": tmp_path / "gunicorn.log"}
    finally:
        if server is not None:
            stop_process(server)
        cluster.remove()


def test_postgres_restart_under_load_fails_fast_then_recovers_without_restarting_the_web(stack):
    base, server, cluster = stack["base"], stack["server"], stack["cluster"]
    login, readyz, healthz = f"{base}/accounts/login/", f"{base}/readyz", f"{base}/healthz"
    for _ in range(4):  # every worker thread holds a persistent connection before the fault
        status, body, _ = get(login)
        assert status == 200, body[:500]
    assert get(readyz)[:2] == (200, "ok\n")
    master, workers = server.pid, worker_pids(server.pid)
    assert len(workers) == 2

    results = []  # (started at, url, status, body, seconds)
    stop = threading.Event()

    def load(url):
        for _ in range(2000):  # bounded; the phases below stop it much sooner
            if stop.is_set():
                return
            started = time.monotonic()
            status, body, seconds = get(url)
            results.append((started, url, status, body, seconds))
            time.sleep(0.05)

    threads = [threading.Thread(target=load, args=(url,), daemon=True) for url in (login, login, login, readyz)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(2)
        cluster.stop("fast")
        stopped_at = time.monotonic()
        time.sleep(6)
        # While PostgreSQL is down the process itself is alive.
        assert get(healthz)[:2] == (200, "ok\n")
        down_until = time.monotonic()
        cluster.start()
        started_at = time.monotonic()
        deadline = started_at + 30
        recovered_at = None
        while recovered_at is None and time.monotonic() < deadline:
            if get(login)[0] == 200 and get(readyz)[0] == 200:
                recovered_at = time.monotonic()
            else:
                time.sleep(0.3)
        assert recovered_at is not None, "no recovery within 30 s of PostgreSQL's start"
        time.sleep(3)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)

    before = [r for r in results if r[0] < stopped_at - 1.5]
    down = [r for r in results if stopped_at <= r[0] and r[0] + r[4] <= down_until]
    after = [r for r in results if r[0] > recovered_at + 1]
    print(f"before: {len(before)}, down: {len(down)} (slowest {max((r[4] for r in down), default=0):.2f} s), "
          f"recovered {recovered_at - started_at:.2f} s after the start, after: {len(after)}")
    assert before and all(r[2] == 200 for r in before), {(r[1], r[2]) for r in before}

    down_pages = [r for r in down if r[1] == login]
    down_probes = [r for r in down if r[1] == readyz]
    assert len(down_pages) >= 6 and len(down_probes) >= 2
    for _, _, status, body, seconds in down_pages:
        assert status == 503, body[:500]
        assert FRIENDLY in body and "Traceback" not in body and "OperationalError" not in body
        assert seconds < 5
    for _, _, status, body, seconds in down_probes:
        assert (status, body) == (503, "unavailable\n")
        assert seconds < 5

    assert after and all(r[2] == 200 for r in after), {(r[1], r[2]) for r in after}
    # Recovered by itself: the same gunicorn master and the same worker processes.
    assert server.poll() is None and server.pid == master
    assert worker_pids(master) == workers
    log = stack["log"].read_text(errors="replace")
    assert "Worker exiting" not in log
    # The operators' side: JSON log lines of the outage, each with the id of the request it happened in.
    lines = []
    for raw in log.splitlines():
        try:
            lines.append(json.loads(raw))
        except ValueError:
            continue
    outage = [line for line in lines if line.get("logger") == "swms.health"
              and line["message"].startswith("database unavailable")]
    assert outage and all(len(line["request_id"]) == 32 for line in outage)
    assert any(line.get("logger") == "swms.health" and line["message"].startswith("readyz: unavailable (database")
               for line in lines)
