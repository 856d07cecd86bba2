"""`manage.py backup` and `manage.py restore` on the real PostgreSQL: a backup restored into a fresh empty database
and an empty media folder has the same rows in every table and the same files, byte for byte; a damaged backup
or a non-empty target is refused."""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connection

from swms.management.commands.backup import table_counts
from tests.conftest import make_user

ROOT = Path(__file__).resolve().parent.parent
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000105fe02fea70000000049454e44ae426082"
)


def _admin():
    db = connection.settings_dict
    return psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
                           dbname="postgres", autocommit=True)


@pytest.fixture
def empty_database():
    """A fresh empty database on the same server, dropped afterwards; yields its URL."""
    made = []

    def make():
        name = f"swms_health_restore_{uuid.uuid4().hex[:10]}"
        with _admin() as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        made.append(name)
        db = connection.settings_dict
        return name, f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"

    try:
        yield make
    finally:
        with _admin() as admin:
            for name in made:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _files(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): _sha(p) for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def data(transactional_db, regions, settings, tmp_path):
    """Workers, an issued certificate with its PDF, a profile photo and an import file, in a media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()
    return {**_make_data(regions), "media": settings.MEDIA_ROOT}


def _make_data(regions):
    from registration.models import Certificate
    from registration.tasks import issue_certificate
    from swms.models import ImportJob
    from tests.factories import QualificationFactory, RegistrationFactory, SocialWorkerFactory

    worker = SocialWorkerFactory(work_region=regions["洪桥街道"], name="陈备份")
    worker.photo.save("photo.png", ContentFile(PNG))
    SocialWorkerFactory(work_region=regions["北京街道"], name="李恢复")
    registration = RegistrationFactory(
        worker=worker, qualification=QualificationFactory(id_number=worker.id_number, name="陈备份")
    )
    issue_certificate(registration.pk)
    certificate = Certificate.objects.get(registration=registration)
    official = make_user("bk_official", "official", regions["广东省"])
    job = ImportJob.objects.create(kind="roster", user=official, scope=official.region, file_name="名单.xlsx",
                                   size=5, sha256="0" * 64)
    job.file.save("roster.xlsx", ContentFile(b"PK\x03\x04 not really a workbook"))
    return {"worker": worker, "certificate": certificate}


def _backup(tmp_path) -> Path:
    out = io.StringIO()
    call_command("backup", output=str(tmp_path / "backups"), stdout=out)
    folder = Path(out.getvalue().strip().splitlines()[-1])
    assert folder.is_dir() and folder.parent == tmp_path / "backups"
    return folder


def test_backup_and_restore_into_an_empty_database_and_store(data, tmp_path, empty_database):
    source_media = data["media"]
    with connection.cursor() as cursor:
        source_counts = table_counts(cursor)
    source_files = _files(source_media)
    assert data["certificate"].file.name in source_files and len(source_files) == 3

    folder = _backup(tmp_path)
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    manifest_text = (folder / "manifest.json").read_text(encoding="utf-8")
    manifest = json.loads(manifest_text)
    assert manifest["tables"] == source_counts
    assert {item["name"]: item["sha256"] for item in manifest["files"]} == source_files
    assert ["registration", "0001_initial"] in manifest["migrations"]
    assert (folder / "database.dump").read_bytes()[:5] == b"PGDMP"
    # No personal data in the manifest: names, ID numbers and the phone stay in the (encrypted) dump only.
    worker = data["worker"]
    for value in (worker.name, worker.id_number, "李恢复", "bk_official"):
        assert value not in manifest_text

    # Restore in a fresh process, as an operator would: an empty database and an empty media folder.
    name, url = empty_database()
    target_media = tmp_path / "restored-media"
    target_media.mkdir()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "swms.settings_test", "DATABASE_URL": url,
           "SWMS_PRIVATE_MEDIA_ROOT": str(target_media)}
    result = subprocess.run([sys.executable, "manage.py", "restore", str(folder)], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Restore complete" in result.stdout

    # Compared independently of the command's own check: every table's rows, every file's bytes.
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as restored:
        assert table_counts(restored.cursor()) == source_counts
        cur = restored.execute("SELECT file FROM registration_certificate")
        assert [row[0] for row in cur.fetchall()] == [data["certificate"].file.name]
    assert _files(target_media) == source_files

    # A second restore into the now full database and store is refused, and changes nothing.
    again = subprocess.run([sys.executable, "manage.py", "restore", str(folder)], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode != 0 and "not empty" in again.stderr
    assert _files(target_media) == source_files


def test_a_damaged_backup_is_refused_before_anything_is_restored(data, tmp_path, empty_database, settings):
    folder = _backup(tmp_path)
    settings.MEDIA_ROOT = tmp_path / "restored-media"

    # One byte of the certificate's PDF flipped.
    damaged = tmp_path / "damaged-file"
    shutil.copytree(folder, damaged)
    pdf = damaged / "files" / data["certificate"].file.name
    raw = bytearray(pdf.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    pdf.write_bytes(bytes(raw))
    name, url = empty_database()
    with pytest.raises(CommandError, match=r"(?s)damaged.*files/certificates/.*checksum differs"):
        call_command("restore", str(damaged), database_url=url)

    # The dump truncated.
    truncated = tmp_path / "damaged-dump"
    shutil.copytree(folder, truncated)
    dump = truncated / "database.dump"
    dump.write_bytes(dump.read_bytes()[:-100])
    with pytest.raises(CommandError, match="database.dump: checksum differs"):
        call_command("restore", str(truncated), database_url=url)

    # Nothing was written: the database has no tables, the store no files.
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as target:
        assert table_counts(target.cursor()) == {}
    assert not Path(settings.MEDIA_ROOT).exists() or not _files(Path(settings.MEDIA_ROOT))


def test_a_restore_that_does_not_match_the_manifest_fails(data, tmp_path, empty_database, settings):
    """The manifest says one more worker than the dump holds: the restore's verification reports it, non-zero."""
    folder = _backup(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["tables"]["public.registration_socialworker"] += 1
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    settings.MEDIA_ROOT = tmp_path / "restored-media"
    name, url = empty_database()
    with pytest.raises(CommandError, match=r"table public.registration_socialworker: 2 rows, the backup had 3"):
        call_command("restore", str(folder), database_url=url)


def test_restore_refuses_a_store_that_is_not_empty(data, tmp_path, empty_database, settings):
    folder = _backup(tmp_path)
    settings.MEDIA_ROOT = data["media"]  # the live store, full of files
    name, url = empty_database()
    with pytest.raises(CommandError, match="file store is not empty"):
        call_command("restore", str(folder), database_url=url)
    with psycopg.connect(url.replace("postgres://", "postgresql://")) as target:
        assert table_counts(target.cursor()) == {}


@pytest.mark.s3
def test_backup_and_restore_through_an_s3_bucket(transactional_db, regions, s3_storage, settings, tmp_path,
                                                 empty_database):
    """The same through the object store (a real SeaweedFS): files read from one bucket prefix, restored into an
    empty one, byte for byte."""
    from swms.storage import build_storages

    source = _make_data(regions)
    source_files = {name: hashlib.sha256(s3_storage.read(name)).hexdigest() for name in s3_storage.keys()}
    assert source["certificate"].file.name in source_files and len(source_files) == 3
    folder = _backup(tmp_path)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert {item["name"]: item["sha256"] for item in manifest["files"]} == source_files

    # An empty prefix of the bucket as the new store; refused while it is the full one.
    name, url = empty_database()
    with pytest.raises(CommandError, match="file store is not empty"):
        call_command("restore", str(folder), database_url=url)
    target_prefix = f"restored-{uuid.uuid4().hex[:8]}"
    settings.STORAGES = build_storages(s3_storage.server.url(target_prefix))
    out = io.StringIO()
    call_command("restore", str(folder), database_url=url, stdout=out)
    assert "Restore complete" in out.getvalue()
    client = s3_storage.server.client()
    restored = {}
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=s3_storage.server.bucket,
                                                                 Prefix=target_prefix + "/"):
        for entry in page.get("Contents", ()):
            body = client.get_object(Bucket=s3_storage.server.bucket, Key=entry["Key"])["Body"].read()
            restored[entry["Key"][len(target_prefix) + 1:]] = hashlib.sha256(body).hexdigest()
    assert restored == source_files
