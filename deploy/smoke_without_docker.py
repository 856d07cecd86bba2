# ruff: noqa: S603, S607 - a tool that starts the stack's processes (fixed commands, loopback ports)
"""docker-compose.yml's shape, run from the work tree without Docker: a check of the deployment pieces on a machine
that has no Docker engine (not in CI; bounded, loopback only, every process stopped at the end).

    .venv/bin/python deploy/smoke_without_docker.py [--database swms_deploy_smoke]

Needs PostgreSQL on 127.0.0.1:5432 (trust), redis-server, /usr/sbin/pgbouncer, nginx (Debian `nginx-light`) and
the `weed` binary of the dev dependencies. It starts, on free loopback ports:
  - SeaweedFS through deploy/seaweedfs-start.sh (keys from the environment, as in compose), then
    deploy/create_bucket.py (the `createbucket` one-shot);
  - PgBouncer in transaction mode, Redis;
  - two gunicorn "replicas" with compose's command line and environment (swms.settings_prod, DATABASE_PGBOUNCER=1,
    SWMS_STORAGE_URL, SWMS_LOG_FORMAT=json, the signing pair as files), the certificates worker, the
    default worker and beat with compose's commands;
  - nginx with deploy/nginx.conf (ports, paths and the upstream adapted; on nginx < 1.27.3 without `resolve` and
    `http2 on`, which the compose image has);
then checks every compose health check command (deploy/healthcheck.py http / worker / beat, SeaweedFS /healthz,
pg_isready through PgBouncer, the nginx one), /readyz through nginx, and the journey that needs every piece:
a certificate queued to the certificates worker, stored in the bucket, downloaded by its owner through nginx
from both replicas (same SHA-256 as issued), the request id passed through.

The database (default swms_deploy_smoke) is filled by `bench/scale.py generate --scale 0.001 --force` (it is
TRUNCATEd: never point this at data you keep).
"""

from __future__ import annotations

import argparse
import base64
import datetime
import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
PG = "postgres://postgres@127.0.0.1:5432"


class Stack:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.procs: list[tuple[str, subprocess.Popen]] = []
        self.weed_ports: list[int] = []

    def start(self, name, cmd, env=None):
        log = open(self.tmp / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        self.procs.append((name, proc))
        return proc

    def stop(self):
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for _name, proc in reversed(self.procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        # The gRPC unix sockets SeaweedFS names after its ports in /tmp.
        for port in self.weed_ports:
            for stale in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):  # noqa: S108
                stale.unlink(missing_ok=True)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def wait(what, check, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                print(f"ok    {what}", flush=True)
                return
        except Exception:  # noqa: BLE001, S110 - not up yet
            pass
        time.sleep(0.5)
    raise SystemExit(f"FAIL  {what} (not within {timeout} s)")


def get(port, path, headers=None, tls=False):
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=60, context=ctx)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path, headers=headers or {})
    resp = conn.getresponse()
    return resp.status, resp.read(), {k.lower(): v for k, v in resp.getheaders()}


def ok(cmd, env):
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True).returncode == 0


def self_signed(tls: Path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "swms.example.gov.cn")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    tls.mkdir()
    (tls / "privkey.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                        serialization.NoEncryption()))
    (tls / "fullchain.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def nginx_conf(tmp, upstreams, http_port, https_port, internal_port):
    conf = (ROOT / "deploy" / "nginx.conf").read_text()
    version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
    major_minor_patch = tuple(int(x) for x in version.rsplit("/", 1)[1].split()[0].split("."))
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;" for p in upstreams)
    conf = conf.replace("        server web:8000 resolve max_fails=3 fail_timeout=10s;", servers)
    if major_minor_patch < (1, 25, 1):
        conf = conf.replace("        http2 on;\n", "")
    for old, new in (("listen 80 default_server", f"listen 127.0.0.1:{http_port} default_server"),
                     ("listen 443 ssl default_server", f"listen 127.0.0.1:{https_port} ssl default_server"),
                     ("listen 127.0.0.1:8081", f"listen 127.0.0.1:{internal_port}"),
                     ("/etc/nginx/tls", str(tmp / "tls")), ("/var/log/nginx", str(tmp)),
                     ("/var/run/nginx.pid", str(tmp / "nginx.pid"))):
        assert old in conf, old
        conf = conf.replace(old, new)
    (tmp / "nginx.conf").write_text(conf)
    return tmp / "nginx.conf"


def run(args, stack: Stack):
    tmp = stack.tmp
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swms.settings")
    (redis_port, bouncer_port, web1, web2, http_port, https_port, internal_port,
     *weed_ports) = free_ports(7 + 8)
    field_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    keys = {"SWMS_FIELD_KEYS": field_key, "SWMS_HASH_KEY": secrets.token_urlsafe(32), "SWMS_MFA_REQUIRED": "0"}
    s3_key, s3_secret = secrets.token_hex(10), secrets.token_hex(20)
    s3_port = weed_ports[6]
    stack.weed_ports = weed_ports
    db_url = f"{PG}/{args.database}"

    # Data written with the keys the servers use.
    subprocess.run([PY, "bench/scale.py", "generate", "--scale", "0.001", "--force", "--no-aggregates"],
                   cwd=ROOT, env={**os.environ, **keys, "DATABASE_URL": db_url}, check=True, timeout=900,
                   stdout=open(tmp / "generate.log", "wb"), stderr=subprocess.STDOUT)  # noqa: SIM115
    print(f"ok    data in {args.database} (bench/scale.py generate --scale 0.001)", flush=True)

    stack.start("redis", ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                          "--appendonly", "no"])
    names = ["master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port", "filer.port.grpc",
             "s3.port", "s3.port.grpc"]
    (tmp / "seaweedfs").mkdir()
    stack.start("seaweedfs", ["sh", str(ROOT / "deploy" / "seaweedfs-start.sh"), "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
                              f"-filer.localSocket={tmp / 'filer.sock'}", f"-s3.localSocket={tmp / 's3.sock'}",
                              "-volume.preStopSeconds=0",
                              *(f"-{n}={p}" for n, p in zip(names, weed_ports, strict=True))],
                env={**os.environ, "PATH": f"{Path(PY).parent}:{os.environ['PATH']}", "S3_ACCESS_KEY": s3_key,
                     "S3_SECRET_KEY": s3_secret, "SEAWEEDFS_DIR": str(tmp / "seaweedfs"),
                     "SEAWEEDFS_S3_CONFIG": str(tmp / "s3.json")})
    (tmp / "userlist.txt").write_text('"postgres" ""\n')
    (tmp / "pgbouncer.ini").write_text(
        f"[databases]\n{args.database} = host=127.0.0.1 port=5432\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
        f"listen_port = {bouncer_port}\nunix_socket_dir =\nauth_type = trust\nauth_file = {tmp}/userlist.txt\n"
        "pool_mode = transaction\ndefault_pool_size = 10\nmax_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits\n")
    os.chmod(tmp, 0o755)  # noqa: S103 - PgBouncer runs as postgres and reads its files here
    stack.start("pgbouncer", ["/usr/sbin/pgbouncer", *(["-u", "postgres"] if os.geteuid() == 0 else []),
                              str(tmp / "pgbouncer.ini")])
    wait("redis: redis-cli ping", lambda: subprocess.run(["redis-cli", "-p", str(redis_port), "ping"],
                                                         capture_output=True).stdout.strip() == b"PONG")
    wait("pgbouncer: pg_isready -h 127.0.0.1 -p PORT", lambda: subprocess.run(
        ["pg_isready", "-h", "127.0.0.1", "-p", str(bouncer_port), "-U", "postgres", "-d", args.database],
        capture_output=True).returncode == 0)
    wait("seaweedfs: GET :S3/healthz", lambda: get(s3_port, "/healthz")[0] == 200)

    from swms import signing

    signing.make_dev_key(tmp / "signing")
    self_signed(tmp / "tls")
    app = {
        **os.environ, **keys,
        # As docker-compose.yml's x-app environment:
        "DJANGO_SETTINGS_MODULE": "swms.settings_prod",
        "DATABASE_URL": f"postgres://postgres@127.0.0.1:{bouncer_port}/{args.database}",
        "DATABASE_PGBOUNCER": "1",
        "CELERY_BROKER_URL": f"redis://127.0.0.1:{redis_port}/0",
        "CACHE_URL": f"rediscache://127.0.0.1:{redis_port}/1",
        "SWMS_STORAGE_URL": f"s3://{s3_key}:{s3_secret}@127.0.0.1:{s3_port}/swms-private?secure=0&region=us-east-1",
        "SWMS_LOG_FORMAT": "json",
        "SWMS_SIGNING_KEY_FILE": str(tmp / "signing" / signing.DEV_KEY),
        "SWMS_SIGNING_CERT_FILE": str(tmp / "signing" / signing.DEV_CERT),
        # As .env would:
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "swms.example.gov.cn",
        "SWMS_TRUSTED_PROXY_COUNT": "1",
        # Here only: collected static files in the temporary folder, heartbeats every 5 s instead of 30.
        "SWMS_STATIC_ROOT": str(tmp / "static"),
        "SWMS_WORKER_HEARTBEAT_SECONDS": "5",
        "PYTHONWARNINGS": "ignore",
    }
    subprocess.run([PY, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=ROOT, env=app, check=True)
    bucket = subprocess.run([PY, "deploy/create_bucket.py", "--wait", "90"], cwd=ROOT, env=app,
                            capture_output=True, text=True)
    if bucket.returncode != 0:
        raise SystemExit(f"FAIL  createbucket: {bucket.stdout}{bucket.stderr}")
    print("ok    createbucket: " + bucket.stdout.strip().replace("\n", "; "), flush=True)

    for name, port in (("web1", web1), ("web2", web2)):
        stack.start(name, [PY, "-m", "gunicorn", "swms.wsgi:application", f"--bind=127.0.0.1:{port}", "--workers=2",
                           "--timeout=60", "--graceful-timeout=30", "--worker-tmp-dir=/dev/shm",
                           "--forwarded-allow-ips=*"], env=app)
    stack.start("worker-certificates", [PY, "-m", "celery", "-A", "swms", "worker", "-Q", "certificates",
                                        "--concurrency", "1", "--max-tasks-per-child", "500", "--loglevel", "INFO",
                                        "-n", "celery@smoke-certificates"], env=app)
    stack.start("worker-default", [PY, "-m", "celery", "-A", "swms", "worker", "-Q", "default,notifications",
                                   "--concurrency", "1", "--loglevel", "INFO", "-n", "celery@smoke-default"], env=app)
    stack.start("beat", [PY, "-m", "celery", "-A", "swms", "beat", "--loglevel", "INFO", "--pidfile="], env=app)
    conf = nginx_conf(tmp, (web1, web2), http_port, https_port, internal_port)
    stack.start("nginx", ["nginx", "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"])

    hc = [PY, "deploy/healthcheck.py"]
    for port in (web1, web2):
        wait(f"web healthcheck: healthcheck.py http http://127.0.0.1:{port}/healthz",
             lambda port=port: ok([*hc, "http", f"http://127.0.0.1:{port}/healthz"], app))
    wait("nginx healthcheck: GET 127.0.0.1:INTERNAL/healthz", lambda: get(internal_port, "/healthz")[0] == 200)
    wait("/readyz through nginx (plain HTTP, as a load balancer polls it)",
         lambda: get(http_port, "/readyz")[0] == 200, timeout=60)
    status, _body, headers = get(http_port, "/accounts/login/")
    assert status == 301 and headers["location"].startswith("https://"), (status, headers)
    print("ok    plain HTTP redirects to HTTPS", flush=True)
    for name in ("smoke-certificates", "smoke-default"):
        wait(f"worker healthcheck: healthcheck.py worker (celery@{name})",
             lambda name=name: ok([*hc, "worker", "--hostname", f"celery@{name}"], app))

    script = (
        "import json, time\n"
        "from django.conf import settings\n"
        "from django.test import Client\n"
        "from registration.models import Certificate, Registration\n"
        "from registration.tasks import issue_certificate\n"
        "from swms.storage import is_object_storage\n"
        "r = (Registration.objects.filter(status='valid')\n"
        "     .exclude(pk__in=Certificate.objects.values('registration_id')).order_by('pk').first())\n"
        "issue_certificate.apply_async(args=[r.pk])\n"
        "deadline = time.monotonic() + 180\n"
        "while time.monotonic() < deadline and not Certificate.objects.filter(registration=r).exists():\n"
        "    time.sleep(0.5)\n"
        "c = Certificate.objects.get(registration=r)\n"
        "u = r.worker.user\n"
        "u.must_change_password = False\n"
        "u.save(update_fields=['must_change_password'])\n"
        "client = Client()\n"
        "client.force_login(u, backend='accounts.backends.IdentifierBackend')\n"
        "print('JSON' + json.dumps({'pk': c.pk, 'name': c.file.name, 'sha256': c.sha256,\n"
        "    'in_bucket': is_object_storage(c.file.storage) and c.file.storage.exists(c.file.name),\n"
        "    'cookie': settings.SESSION_COOKIE_NAME, 'sid': client.cookies[settings.SESSION_COOKIE_NAME].value}))\n"
    )
    out = subprocess.run([PY, "manage.py", "shell", "-c", script], cwd=ROOT, env=app, capture_output=True,
                         text=True, timeout=300)
    line = next((x for x in out.stdout.splitlines() if x.startswith("JSON")), None)
    if not line:
        raise SystemExit(f"FAIL  certificate through the worker:\n{out.stdout[-2000:]}{out.stderr[-3000:]}")
    cert = json.loads(line[4:])
    assert cert["in_bucket"], cert
    print(f"ok    certificate {cert['pk']} issued by worker-certificates into the bucket ({cert['name']})", flush=True)
    request_id = "smoke-" + secrets.token_hex(6)
    for _ in range(4):
        status, body, headers = get(https_port, f"/registration/certificates/{cert['pk']}/", tls=True, headers={
            "Cookie": f"{cert['cookie']}={cert['sid']}", "Host": "swms.example.gov.cn", "X-Request-ID": request_id})
        assert status == 200 and body[:5] == b"%PDF-", (status, body[:200])
        assert hashlib.sha256(body).hexdigest() == cert["sha256"], "downloaded bytes differ from the issued ones"
        assert headers.get("x-request-id") == request_id, headers
    served_by = {json.loads(x)["upstream"] for x in (tmp / "access.log").read_text().splitlines()
                 if request_id in x}
    print(f"ok    its owner downloaded it 4 times through nginx over HTTPS (SHA-256 as issued, X-Request-ID "
          f"{request_id} passed through), served by {len(served_by)} replica(s): {', '.join(sorted(served_by))}",
          flush=True)
    assert len(served_by) == 2, served_by
    wait("beat healthcheck: healthcheck.py beat (its first tick comes after about a minute)",
         lambda: ok([*hc, "beat"], app), timeout=120)
    print("PASS")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database", default="swms_deploy_smoke", help="TRUNCATEd and filled (default swms_deploy_smoke)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) at the end")
    args = ap.parse_args(argv)
    for tool in ("redis-server", "nginx", "pg_isready"):
        if not shutil.which(tool):
            raise SystemExit(f"{tool} is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="swms-deploy-smoke-"))
    stack = Stack(tmp)
    try:
        run(args, stack)
    finally:
        stack.stop()
        print(f"stopped {', '.join(n for n, _ in stack.procs)}; logs in {tmp}" if args.keep else
              f"stopped {', '.join(n for n, _ in stack.procs)}")
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
