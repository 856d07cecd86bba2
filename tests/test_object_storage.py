"""Private files in a real S3 server (SeaweedFS, tests/s3.py): SWMS_STORAGE_URL, the registration journey with
its certificate, exports and imports stored in the bucket and served only through the permission-checking views,
presigned links, retention, a second node reading what the first stored, and `copy_files_to_storage`."""

import datetime
import hashlib
import io
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from registration import services
from registration.models import ApplicationMaterial, Certificate, Registration
from swms import retention
from swms.models import ExportJob, ImportJob
from swms.storage import build_storages, describe, parse_storage_url
from tests.conftest import make_user
from tests.factories import make_id_number
from tests.registration_fixtures import complete_profile
from tests.test_import_centre import good_rows, roster_workbook
from tests.test_stations import create_station
from tests.test_uploads import png_upload

pytestmark = pytest.mark.usefixtures("english")
ROOT = Path(__file__).resolve().parent.parent


def body_of(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def no_store(response) -> bool:
    return {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}


def pdftotext(data: bytes) -> str:
    return subprocess.run(["pdftotext", "-", "-"], input=data, capture_output=True, check=True,
                          timeout=60).stdout.decode()


def http_get(url: str):
    """(status, headers, body) of a plain HTTP GET, as a browser following a link would do it."""
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:  # noqa: S310 - a loopback test server
            return answer.status, answer.headers, answer.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


# --- SWMS_STORAGE_URL -----------------------------------------------------------------------------------


def test_storage_url_gives_a_private_path_style_s3_storage():
    config = parse_storage_url("s3://AKID:se%2Fcr%2Bet@files.internal:8333/swms-private/node-a?secure=0"
                               "&region=cn-south-1&connect_timeout=2&read_timeout=20&retries=5",
                               presigned_seconds=45)
    options = config["OPTIONS"]
    assert config["BACKEND"] == "storages.backends.s3.S3Storage"
    assert options["access_key"] == "AKID" and options["secret_key"] == "se/cr+et"
    assert options["endpoint_url"] == "http://files.internal:8333" and options["use_ssl"] is False
    assert options["bucket_name"] == "swms-private" and options["location"] == "node-a"
    assert options["region_name"] == "cn-south-1" and options["addressing_style"] == "path"
    assert options["default_acl"] == "private" and options["querystring_auth"] is True
    assert options["querystring_expire"] == 45 and options["file_overwrite"] is False
    client = options["client_config"]
    assert client.signature_version == "s3v4" and client.s3 == {"addressing_style": "path"}
    assert (client.connect_timeout, client.read_timeout, client.retries["max_attempts"]) == (2, 20, 5)

    https = parse_storage_url("s3://s3.cn-north-1.example.com/bucket?acl=&verify=/etc/ssl/ca.pem")["OPTIONS"]
    assert https["endpoint_url"] == "https://s3.cn-north-1.example.com" and https["use_ssl"] is True
    assert "access_key" not in https  # taken from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
    assert https["default_acl"] is None and https["verify"] == "/etc/ssl/ca.pem" and https["location"] == ""

    assert build_storages("")["default"] == {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    prod = build_storages("s3://k:s@h/b", staticfiles="whitenoise.storage.CompressedManifestStaticFilesStorage")
    assert prod["staticfiles"]["BACKEND"] == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert describe("s3://KEY:SECRET@h:1/b?secure=0") == "s3://h:1/b"


@pytest.mark.parametrize("url, message", [
    ("https://h/bucket", "must start with s3://"),
    ("s3://h", "no bucket"),
    ("s3://k:s@/bucket", "no host"),
    ("s3://h/b?secure=maybe", "secure= must be 1 or 0"),
    ("s3://h/b?adressing=path", "unknown option"),
    ("s3://h/b?addressing=dns", "path or virtual"),
    ("s3://h/b?read_timeout=0", "must be positive"),
])
def test_a_wrong_storage_url_stops_the_start(url, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        parse_storage_url(url)


def test_production_settings_take_the_storage_url(tmp_path):
    """settings_prod builds STORAGES from SWMS_STORAGE_URL too (it used to pin the local filesystem)."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    key.write_text("k")
    cert.write_text("c")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "swms.settings_prod", "DJANGO_SECRET_KEY": "x" * 60,
           "SWMS_FIELD_KEYS": "tBF0fVoarP29mNB3Bfcqs84-DTfHA5XKR2oyf45XcEM=", "SWMS_HASH_KEY": "h" * 40,
           "SWMS_SIGNING_KEY_FILE": str(key), "SWMS_SIGNING_CERT_FILE": str(cert),
           "SWMS_STORAGE_URL": "s3://AK:SK@127.0.0.1:9/prod-bucket?secure=0"}
    code = ("from django.conf import settings; s = settings.STORAGES; "
            "print(s['default']['BACKEND'], s['default']['OPTIONS']['bucket_name'], s['staticfiles']['BACKEND'])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["storages.backends.s3.S3Storage", "prod-bucket",
                                  "whitenoise.storage.CompressedManifestStaticFilesStorage"]


# --- The bucket behind the FileFields --------------------------------------------------------------------


@pytest.mark.s3
def test_model_file_fields_write_into_the_bucket_not_the_disk(s3_storage, regions, media):
    from tests.factories import SocialWorkerFactory

    worker = complete_profile(SocialWorkerFactory(), regions["洪桥街道"])
    assert worker.photo.name.startswith("profiles/photos/")
    assert s3_storage.keys() == [worker.photo.name]
    with worker.photo.open("rb") as fh:
        assert fh.read() == s3_storage.read(worker.photo.name)
    assert worker.photo.size == len(s3_storage.read(worker.photo.name))
    assert not any(media.rglob("*"))  # nothing on this node's disk
    # A second file under the same name gets a new name (file_overwrite=False), the first stays as it was.
    again = default_storage.save(worker.photo.name, ContentFile(b"other"))
    assert again != worker.photo.name and s3_storage.read(again) == b"other"
    assert s3_storage.read(worker.photo.name) != b"other"


@pytest.mark.s3
def test_objects_are_private_and_links_are_signed(s3_storage):
    name = default_storage.save("certificates/secret.pdf", ContentFile(b"%PDF-1.4 private"))
    bare = f"{s3_storage.server.endpoint}/{s3_storage.server.bucket}/{s3_storage.key(name)}"
    status, _headers, _body = http_get(bare)
    assert status == 403  # no anonymous read
    signed = default_storage.url(name)
    query = parse_qs(urlsplit(signed).query)
    assert query["X-Amz-Expires"] == ["60"] and "X-Amz-Signature" in query
    assert http_get(signed)[0] == 200
    tampered = signed.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    assert http_get(tampered)[0] == 403


@pytest.mark.s3
def test_readiness_probes_the_bucket_and_an_unreachable_store_fails_fast(s3_storage, settings):
    from botocore.exceptions import EndpointConnectionError

    from swms.health import check_storage

    assert check_storage() is None and s3_storage.keys() == []  # written, read back and deleted
    # Nothing listens on port 9: the bounded connect timeout and retries give up instead of hanging.
    broken = s3_storage.server.url(s3_storage.prefix).replace(f":{s3_storage.server.ports['s3']}/", ":9/")
    settings.STORAGES = build_storages(broken + "&connect_timeout=1&retries=2")
    with pytest.raises(EndpointConnectionError):
        default_storage.exists("anything")


# --- The journey ------------------------------------------------------------------------------------------


def _decide(client, official, application, django_capture_on_commit_callbacks):
    client.force_login(official)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("registration:review-decide", kwargs={"pk": application.pk}),
                               {"action": "approve", "comment": ""})
    assert response.status_code == 302


@pytest.fixture
def journey(s3_storage, client, worker_in, alice, city_official, django_capture_on_commit_callbacks):
    """A worker uploads the materials through the page and applies; the county and the city approve through
    theirs; the certificate is issued. Everything stored lands in the bucket."""
    worker = worker_in()
    application = services.application_start(worker=worker, kind="first")
    client.force_login(worker.user)
    response = client.post(reverse("registration:application-material", kwargs={"pk": application.pk}), {
        "id_front": png_upload(856, 540, name="正面.png"),
        "id_back": png_upload(856, 540, name="back.png"),
        "qualification": png_upload(500, 400, name="cert.png", noise=True),
    })
    assert response.status_code == 302
    response = client.post(reverse("registration:application-submit", kwargs={"pk": application.pk}),
                           {"pledge": "on"})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == "submitted"
    _decide(client, alice, application, django_capture_on_commit_callbacks)
    _decide(client, city_official, application, django_capture_on_commit_callbacks)
    registration = Registration.objects.get(application=application)
    certificate = Certificate.objects.get(registration=registration)
    return {"worker": worker, "application": application, "registration": registration,
            "certificate": certificate}


@pytest.mark.s3
def test_upload_review_certificate_download_on_the_object_store(journey, s3_storage, client, alice, charlie,
                                                                 media):
    worker, certificate, registration = journey["worker"], journey["certificate"], journey["registration"]
    materials = list(ApplicationMaterial.objects.filter(application=journey["application"]))
    stored = s3_storage.keys()
    # The profile photo, its copy as the application photo, three uploads and the certificate: all in the bucket.
    assert len(materials) == 4
    assert set(stored) == {worker.photo.name, certificate.file.name, *(m.file.name for m in materials)}
    assert certificate.file.name.startswith("certificates/") and not any(media.rglob("*"))
    pdf = s3_storage.read(certificate.file.name)
    assert hashlib.sha256(pdf).hexdigest() == certificate.sha256

    url = reverse("registration:certificate-file", kwargs={"pk": certificate.pk})
    client.force_login(worker.user)
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Length"] == str(len(pdf))
    assert response["Content-Disposition"] == f'attachment; filename="{registration.registration_no}.pdf"'
    assert no_store(response) and response["X-Content-Type-Options"] == "nosniff"
    body = body_of(response)
    assert body == pdf and body.startswith(b"%PDF-")
    text = pdftotext(body)
    assert worker.name in text and registration.registration_no in text

    # The officials see the uploads through the review pages' links; the sibling county does not.
    material = next(m for m in materials if m.kind == "qualification")
    material_url = reverse("registration:material-file", kwargs={"pk": material.pk})
    photo_url = reverse("registration:profile-photo", kwargs={"pk": worker.pk})
    client.force_login(alice)
    answer = client.get(material_url)
    assert answer.status_code == 200 and answer["Content-Type"] == "image/png"
    assert body_of(answer) == s3_storage.read(material.file.name)
    assert answer["Content-Length"] == str(material.file.size)
    assert body_of(client.get(photo_url)) == s3_storage.read(worker.photo.name)
    assert client.get(url).status_code == 200
    client.force_login(charlie)
    assert [client.get(u).status_code for u in (url, material_url, photo_url)] == [404, 404, 404]
    client.logout()
    assert client.get(url).status_code == 302  # to the login page, nothing of the file


@pytest.mark.s3
def test_a_file_missing_from_the_bucket_is_a_404_not_an_error(journey, s3_storage, client):
    certificate = journey["certificate"]
    s3_storage.client.delete_object(Bucket=s3_storage.server.bucket, Key=s3_storage.key(certificate.file.name))
    client.force_login(journey["worker"].user)
    assert client.get(reverse("registration:certificate-file", kwargs={"pk": certificate.pk})).status_code == 404


@pytest.mark.s3
def test_a_lost_certificate_object_is_noticed_but_an_unreachable_store_is_not_taken_for_a_loss(journey, s3_storage,
                                                                                               settings):
    """The registry marks a certificate whose PDF is gone (for the city to reissue it); a store that does not
    answer raises instead, so that an outage never revokes and reissues certificates."""
    from botocore.exceptions import EndpointConnectionError

    from registration.selectors.registry import certificate_file_ok

    certificate = Certificate.objects.get(pk=journey["certificate"].pk)
    assert certificate_file_ok(certificate)
    settings.STORAGES = build_storages(
        s3_storage.url.replace(f":{s3_storage.server.ports['s3']}/", ":9/") + "&connect_timeout=1&retries=1")
    with pytest.raises(EndpointConnectionError):
        certificate_file_ok(Certificate.objects.get(pk=certificate.pk))
    settings.STORAGES = build_storages(s3_storage.url)
    s3_storage.client.delete_object(Bucket=s3_storage.server.bucket, Key=s3_storage.key(certificate.file.name))
    assert not certificate_file_ok(Certificate.objects.get(pk=certificate.pk))


@pytest.mark.s3
def test_presigned_links_are_issued_only_after_the_permission_check(journey, s3_storage, client, charlie,
                                                                    settings):
    settings.SWMS_STORAGE_PRESIGNED = True
    certificate, registration = journey["certificate"], journey["registration"]
    url = reverse("registration:certificate-file", kwargs={"pk": certificate.pk})
    client.force_login(charlie)
    assert client.get(url).status_code == 404
    client.force_login(journey["worker"].user)
    response = client.get(url)
    assert response.status_code == 302 and no_store(response)
    link = response["Location"]
    assert link.startswith(f"{s3_storage.server.endpoint}/{s3_storage.server.bucket}/{s3_storage.prefix}/")
    assert parse_qs(urlsplit(link).query)["X-Amz-Expires"] == ["60"]
    status, headers, body = http_get(link)
    assert status == 200 and hashlib.sha256(body).hexdigest() == certificate.sha256
    assert headers["Content-Type"] == "application/pdf"
    assert f'filename="{registration.registration_no}.pdf"' in headers["Content-Disposition"]
    assert headers["Content-Disposition"].startswith("attachment;")
    assert http_get(link.replace("X-Amz-Signature=", "X-Amz-Signature=1"))[0] == 403

    # Browsers reaching the store at another address get links signed for that address.
    settings.SWMS_STORAGE_PUBLIC_ENDPOINT = f"http://localhost:{s3_storage.server.ports['s3']}"
    link = client.get(url)["Location"]
    assert link.startswith(f"http://localhost:{s3_storage.server.ports['s3']}/")
    assert http_get(link)[0] == 200
    # A missing object: the application says 404 instead of handing out a link to nothing.
    s3_storage.client.delete_object(Bucket=s3_storage.server.bucket, Key=s3_storage.key(certificate.file.name))
    assert client.get(url).status_code == 404


SECOND_NODE = """
import hashlib, json, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.files.storage import default_storage
from django.test import Client
client = Client(HTTP_ACCEPT_LANGUAGE="en")
client.force_login(get_user_model().objects.get(pk=int(sys.argv[1])))
response = client.get(sys.argv[2])
body = b"".join(response.streaming_content) if response.streaming else response.content
print(json.dumps({"status": response.status_code, "sha256": hashlib.sha256(body).hexdigest(),
                  "storage": type(default_storage._wrapped).__name__}))
"""


def _second_node(user, url, **env):
    db = connection.settings_dict
    environment = {
        **os.environ, "DJANGO_SETTINGS_MODULE": "swms.settings_test", "SWMS_MFA_REQUIRED": "0",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        **env,
    }
    out = subprocess.run([sys.executable, "-c", SECOND_NODE, str(user.pk), url], cwd=ROOT, env=environment,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.s3
@pytest.mark.django_db(transaction=True)
def test_a_second_web_node_serves_the_certificate_the_first_stored(journey, s3_storage, tmp_path):
    """Another process — its own settings from the environment, its own S3 client, an empty disk — answers the
    download of the certificate this process stored; a node on the local filesystem cannot."""
    from storages.backends.s3 import S3Storage

    certificate, worker = journey["certificate"], journey["worker"]
    url = reverse("registration:certificate-file", kwargs={"pk": certificate.pk})
    node_b = _second_node(worker.user, url, SWMS_STORAGE_URL=s3_storage.url,
                          SWMS_PRIVATE_MEDIA_ROOT=str(tmp_path / "node-b"))
    assert node_b == {"status": 200, "sha256": certificate.sha256, "storage": "S3Storage"}
    local = _second_node(worker.user, url, SWMS_STORAGE_URL="", SWMS_PRIVATE_MEDIA_ROOT=str(tmp_path / "node-c"))
    assert local["status"] == 404 and local["storage"] == "FileSystemStorage"
    # And a storage instance of its own, built from the same URL, reads the same bytes.
    other = S3Storage(**parse_storage_url(s3_storage.url)["OPTIONS"])
    with other.open(certificate.file.name, "rb") as fh:
        assert hashlib.sha256(fh.read()).hexdigest() == certificate.sha256


# --- Exports and imports --------------------------------------------------------------------------------


@pytest.mark.s3
def test_an_export_file_roundtrips_through_the_bucket_and_is_purged(s3_storage, alice, charlie, regions, client,
                                                                     settings, django_capture_on_commit_callbacks):
    settings.SWMS_EXPORT_SYNC_ROWS = 1
    create_station(alice, regions, name="甲站")
    create_station(alice, regions, name="乙站", region=regions["北京街道"])
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(reverse("stations:list"), {"export": "csv"}).status_code == 302
    job = ExportJob.objects.get()
    assert job.status == "done" and s3_storage.keys() == [job.file.name]
    assert job.file.name.startswith("exports/") and job.size == len(s3_storage.read(job.file.name))
    response = client.get(reverse("export-download", args=[job.pk]))
    assert response["Content-Length"] == str(job.size) and "attachment" in response["Content-Disposition"]
    body = body_of(response).decode("utf-8-sig")
    assert "甲站" in body and "乙站" in body
    client.force_login(charlie)
    assert client.get(reverse("export-download", args=[job.pk])).status_code == 404

    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    assert retention.purge()["export_files"] == 1
    assert not s3_storage.exists(job.file.name) and s3_storage.keys() == []
    job.refresh_from_db()
    assert job.status == "expired" and not job.file


@pytest.mark.s3
def test_an_import_file_and_its_error_workbook_roundtrip_through_the_bucket(s3_storage, regions, client, settings,
                                                                            django_capture_on_commit_callbacks):
    from openpyxl import load_workbook

    from registration.models import Qualification

    gd = make_user("gd_import_s3", "official", regions["广东省"], full_name="广东省民政厅")
    content = roster_workbook(good_rows(2) + [["外省", make_id_number(), "社会工作师", "C2021Y", "2021", "湖北省"]])
    client.force_login(gd)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import-centre"), {"kind": "roster", "file": SimpleUploadedFile("名单.xlsx", content)})
    job = ImportJob.objects.get()
    # The check ran on the file read back from the bucket.
    assert job.status == "checked" and job.check_report["created"] == 2 and job.check_report["error_count"] == 1
    assert s3_storage.read(job.file.name) == content and job.sha256 == hashlib.sha256(content).hexdigest()
    assert set(s3_storage.keys()) == {job.file.name, job.error_file.name}
    errors = client.get(reverse("import-errors", args=[job.pk]))
    assert errors.status_code == 200 and errors["Content-Length"] == str(job.error_file.size)
    rows = list(load_workbook(io.BytesIO(body_of(errors))).active.iter_rows(values_only=True))
    assert len(rows) == 2 and "湖北省" in rows[1]
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("import-confirm", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.status == "done" and Qualification.objects.count() == 2

    settings.SWMS_IMPORT_FILE_RETENTION_DAYS = 30
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - datetime.timedelta(days=31))
    names = [job.file.name, job.error_file.name]
    assert retention.purge()["import_files"] == 1
    assert not any(s3_storage.exists(n) for n in names) and s3_storage.keys() == []


# --- copy_files_to_storage ------------------------------------------------------------------------------


def test_copying_refuses_when_the_default_storage_is_the_disk(db, media):
    with pytest.raises(CommandError, match="local filesystem"):
        call_command("copy_files_to_storage")


def _copy(*args) -> str:
    out = io.StringIO()
    call_command("copy_files_to_storage", *args, stdout=out, stderr=out)
    return out.getvalue()


@pytest.mark.s3
def test_local_files_are_copied_into_the_bucket_once_and_verified(db, media, regions, alice, client, settings,
                                                                  seaweedfs):
    from tests.factories import SocialWorkerFactory

    # A one-host installation: the files on its disk.
    worker = complete_profile(SocialWorkerFactory(), regions["洪桥街道"])
    big = os.urandom(9 * 2**20)  # above the multipart threshold: its ETag is not an MD5
    jobs = []
    for name, data in (("名单.xlsx", b"small import"), ("big.csv", big), ("gone.xlsx", b"lost")):
        job = ImportJob(kind="roster", user=alice, file_name=name, size=len(data),
                        sha256=hashlib.sha256(data).hexdigest(), status=ImportJob.Status.DONE)
        job.file.save(name, ContentFile(data), save=True)
        jobs.append(job)
    (media / jobs[2].file.name).unlink()  # a file the database names, lost from the disk
    (media / "orphans").mkdir()
    (media / "orphans" / "old.txt").write_bytes(b"no longer referenced")
    local = {n: (media / n).read_bytes() for n in (worker.photo.name, jobs[0].file.name, jobs[1].file.name)}

    # The same host switched to the object store.
    view = _switch_to_bucket(settings, seaweedfs)
    out = _copy("--dry-run")
    assert "Dry run: 4 files: 3 would be copied, 0 replaced, 0 are already there, 1 missing on disk." in out
    assert f"Missing on disk: {jobs[2].file.name}" in out and view.keys() == []

    out = _copy()
    assert "4 files: 3 copied (9.0 MB), 0 replaced, 0 already there, 1 missing on disk, 0 failed." in out
    assert set(view.keys()) == set(local)
    assert all(view.read(name) == data for name, data in local.items())
    head = view.client.head_object(Bucket=view.server.bucket, Key=view.key(jobs[1].file.name))
    assert head["Metadata"]["sha256"] == hashlib.sha256(big).hexdigest() and "-" in head["ETag"]
    # The application now serves them from the bucket, under the same names.
    client.force_login(alice)
    photo = client.get(reverse("registration:profile-photo", kwargs={"pk": worker.pk}))
    assert photo.status_code == 200 and body_of(photo) == local[worker.photo.name]

    out = _copy("-v", "2")
    assert "0 copied (0.0 MB), 0 replaced, 3 already there, 1 missing on disk, 0 failed." in out
    assert f"Already there: {worker.photo.name}" in out

    # An object of the right size but other bytes (an interrupted copy, a clash) is replaced.
    wrong = bytes(len(local[jobs[0].file.name]))
    view.client.put_object(Bucket=view.server.bucket, Key=view.key(jobs[0].file.name), Body=wrong)
    out = _copy()
    assert "1 replaced, 2 already there" in out and view.read(jobs[0].file.name) == local[jobs[0].file.name]

    out = _copy("--all")
    assert "4 files: 1 copied" in out and "3 already there, 0 missing on disk" in out
    assert view.read("orphans/old.txt") == b"no longer referenced"


def _switch_to_bucket(settings, seaweedfs):
    """The s3_storage fixture's switch, done in the middle of a test."""
    import uuid

    from tests.s3 import BucketView

    prefix = f"copy-{uuid.uuid4().hex[:12]}"
    settings.SWMS_STORAGE_URL = seaweedfs.url(prefix)
    settings.STORAGES = build_storages(settings.SWMS_STORAGE_URL)
    return BucketView(server=seaweedfs, prefix=prefix, url=settings.SWMS_STORAGE_URL, client=seaweedfs.client())


@pytest.mark.s3
def test_a_real_celery_worker_stores_the_certificate_in_the_bucket_and_the_web_serves_it(
        transactional_db, s3_storage, regions, client, tmp_path):
    """The worker process (its own SWMS_STORAGE_URL from the environment, its own disk) writes the PDF into the
    bucket; this process, the web node, serves it to the worker."""
    import uuid

    from celery import Celery

    from registration.tasks import issue_certificate
    from tests.factories import QualificationFactory, RegistrationFactory, SocialWorkerFactory
    from tests.test_celery_worker import BROKER, QUEUES, start_worker, stop_process, worker_env

    person = SocialWorkerFactory(work_region=regions["洪桥街道"], name="陈真")
    registration = RegistrationFactory(worker=person,
                                       qualification=QualificationFactory(id_number=person.id_number, name="陈真"))
    prefix = f"test-{uuid.uuid4().hex[:8]}-"
    worker = start_worker(worker_env(tmp_path, BROKER, prefix, SWMS_STORAGE_URL=s3_storage.url), prefix=prefix,
                          hostname=f"{prefix}worker@localhost")
    sender = Celery("swms-test-client", broker=BROKER, backend=BROKER, set_as_current=False)
    try:
        sender.send_task(issue_certificate.name, args=(registration.pk,), queue=prefix + "certificates").get(
            timeout=120)
    finally:
        sender.close()
        stop_process(worker)
        import redis

        redis.Redis.from_url(BROKER).delete(*(prefix + q for q in QUEUES))
    certificate = Certificate.objects.get(registration=registration)
    assert s3_storage.keys() == [certificate.file.name]
    assert not (tmp_path / "media").exists() or not any((tmp_path / "media").rglob("*"))
    client.force_login(person.user)
    body = body_of(client.get(reverse("registration:certificate-file", kwargs={"pk": certificate.pk})))
    assert hashlib.sha256(body).hexdigest() == certificate.sha256 == hashlib.sha256(
        s3_storage.read(certificate.file.name)).hexdigest()
    assert "陈真" in pdftotext(body)
