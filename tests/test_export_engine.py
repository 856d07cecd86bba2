"""The export engine (#13): the streaming xlsx writer, CSV, and the background job's real runners — a
thread of the web process without a broker, a Celery worker through Redis — with heartbeat, the stale
sweep, retry, expiry and "My exports"."""

import csv
import datetime
import decimal
import io
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook
from python_calamine import CalamineWorkbook

from swms import exports
from swms.exports import export_retry, purge_expired_exports, sweep_stale_exports, write_csv, write_xlsx
from swms.models import ExportJob
from swms.tasks import purge_expired_exports_task, run_export, sweep_stale_exports_task
from tests.conftest import make_user
from tests.test_celery_worker import celery_worker_process  # noqa: F401  (the real-worker fixture)
from tests.test_stations import create_station

pytestmark = pytest.mark.usefixtures("english")

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
AWARE = datetime.datetime(2026, 3, 4, 15, 16, 17, tzinfo=SHANGHAI)
TRICKY = ["=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "a & b < c > d", "bell\x07 and tab\tok", " 前后空格 ", "张三"]


def _xlsx(headers, rows, **kw):
    handle = io.BytesIO()
    n = write_xlsx(handle, headers, rows, **kw)
    return n, handle.getvalue()


def test_xlsx_writer_reads_back_in_openpyxl_and_calamine():
    rows = [
        TRICKY,
        [1, 2.5, True, datetime.date(2026, 1, 2), AWARE, None, decimal.Decimal("3.10"), gettext_lazy("Yes")],
        ["", None, 0, -7, datetime.datetime(2026, 1, 2, 3, 4, 5), "x", "y", "z"],
    ]
    headers = [f"h{i}" for i in range(8)]
    n, data = _xlsx(headers, iter(rows), sheet_title="服务对象: 2026/3 [全部]")
    assert n == 3

    book = load_workbook(io.BytesIO(data))
    sheet = book.active
    assert sheet.title == "服务对象  2026 3  全部"  # characters Excel forbids in a sheet name
    values = list(sheet.values)
    assert list(values[0]) == headers and sheet["A1"].font.b
    # Formula characters are quoted (formula injection), markup is escaped, control characters dropped.
    assert list(values[1]) == ["'=HYPERLINK(\"x\")", "'+1", "'-2", "'@SUM(A1)", "a & b < c > d",
                               "bell and tab\tok", " 前后空格 ", "张三"]
    # Numbers stay numbers; an aware datetime is its wall-clock time; Decimal and lazy text become text.
    assert list(values[2]) == [1, 2.5, True, datetime.datetime(2026, 1, 2), datetime.datetime(2026, 3, 4, 15, 16, 17),
                               None, "3.10", "Yes"]
    assert list(values[3]) == [None, None, 0, -7, datetime.datetime(2026, 1, 2, 3, 4, 5), "x", "y", "z"]
    assert sheet.freeze_panes == "A2"

    calamine = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0).to_python()
    assert calamine[1][0] == "'=HYPERLINK(\"x\")" and calamine[1][7] == "张三"
    assert calamine[2][4] == datetime.datetime(2026, 3, 4, 15, 16, 17)


def test_xlsx_writer_streams_progress_and_handles_an_empty_table():
    calls = []
    n, data = _xlsx(["a"], ([i] for i in range(5)), progress=calls.append, every=2)
    assert n == 5 and calls == [2, 4]
    n, data = _xlsx(["only", "headers"], iter(()))
    assert n == 0 and list(load_workbook(io.BytesIO(data)).active.values) == [("only", "headers")]


def test_csv_has_a_bom_quotes_formulas_and_writes_seconds():
    handle = io.BytesIO()
    write_csv(handle, ["名字", "时间"], [["=1+1", AWARE], ["张三", None]])
    raw = handle.getvalue()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(raw.decode("utf-8-sig")))) == [
        ["名字", "时间"], ["'=1+1", "2026-03-04 15:16:17"], ["张三", ""]]


def test_a_large_csv_export_is_written_as_csv_by_the_job(alice, regions, client, settings, media,
                                                         django_capture_on_commit_callbacks):
    settings.SWMS_EXPORT_SYNC_ROWS = 1
    create_station(alice, regions, name="甲站")
    create_station(alice, regions, name="乙站", region=regions["北京街道"])
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("stations:list"), {"export": "csv"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and job.format == "csv" and job.filename.endswith(".csv")
    job.refresh_from_db()
    assert job.status == "done" and job.size > 0
    assert job.expires_at.date() == (job.finished_at + datetime.timedelta(days=7)).date()
    body = b"".join(client.get(reverse("export-download", args=[job.pk])).streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    names = [row[1] for row in csv.reader(io.StringIO(body.decode("utf-8-sig")))][1:]
    assert sorted(names) == ["乙站", "甲站"]
    page = client.get(reverse("export-detail", args=[job.pk])).content.decode()
    assert 'data-testid="export-expiry"' in page and f"{timezone.localtime(job.expires_at):%Y-%m-%d}" in page


def test_without_a_broker_a_large_export_runs_in_a_thread_not_in_the_request(transactional_db, regions, client,
                                                                             settings, media):
    """The demo without Redis: the request only queues the job; a thread of the process writes it (on
    its own database connection) and the page then offers the download."""
    settings.SWMS_EXPORT_SYNC_ROWS = 1
    settings.SWMS_EXPORT_RUNNER = ""
    settings.CELERY_BROKER_URL = ""
    assert exports.export_runner() == "thread"
    alice = make_user("yx_thread", "official", regions["越秀区"])
    create_station(alice, regions, name="甲站")
    create_station(alice, regions, name="乙站", region=regions["北京街道"])
    client.force_login(alice)
    response = client.get(reverse("stations:list"), {"export": "xlsx"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("export-detail", args=[job.pk])
    assert exports._threads and exports._threads[-1].name == f"export-{job.pk}"
    exports.wait_for_export_threads(timeout=60)
    job.refresh_from_db()
    assert job.status == "done" and job.total == 2 and job.heartbeat_at >= job.created_at
    rows = list(load_workbook(io.BytesIO(b"".join(
        client.get(reverse("export-download", args=[job.pk])).streaming_content))).active.values)
    assert sorted(r[1] for r in rows[1:]) == ["乙站", "甲站"]


def test_export_job_runs_in_a_real_celery_worker_once(celery_worker_process, regions, settings):  # noqa: F811
    """Through Redis to a `celery worker` process: the file is written there, in the requested format;
    the same message again (redelivery) and an older attempt's message leave it alone."""
    settings.MEDIA_ROOT = celery_worker_process["sms_file"].parent / "media"
    alice = make_user("yx_worker", "official", regions["越秀区"])
    create_station(alice, regions, name="甲站")
    job = ExportJob.objects.create(user=alice, builder="stations.views.station_table", params="q=站",
                                   filename="stations.csv", format="csv", total=1)
    sender, queue = celery_worker_process["sender"], celery_worker_process["queue"]
    assert sender.send_task(run_export.name, args=(job.pk, 1), queue=queue).get(timeout=90) == "done"
    job.refresh_from_db()
    name = job.file.name
    with job.file.open("rb") as fh:
        text = fh.read().decode("utf-8-sig")
    assert "甲站" in text and job.total == 1 and job.size == len(text.encode("utf-8-sig"))
    assert sender.send_task(run_export.name, args=(job.pk, 1), queue=queue).get(timeout=90) == "done"
    assert sender.send_task(run_export.name, args=(job.pk, 0), queue=queue).get(timeout=90) == "done"
    job.refresh_from_db()
    assert job.file.name == name


def test_a_job_whose_runner_died_is_swept_and_its_owner_can_retry_once(alice, bob, regions, client, media,
                                                                      django_capture_on_commit_callbacks):
    create_station(alice, regions, name="甲站")
    long_ago = timezone.now() - datetime.timedelta(minutes=30)
    dead = ExportJob.objects.create(user=alice, builder="stations.views.station_table", filename="s.xlsx",
                                    status="running", total=1, done_rows=0, heartbeat_at=long_ago)
    alive = ExportJob.objects.create(user=alice, builder="stations.views.station_table", filename="t.xlsx",
                                     status="running", total=1)
    # Viewing the page sweeps it (no need to wait for beat) and offers a retry, with the reason.
    client.force_login(alice)
    page = client.get(reverse("export-detail", args=[dead.pk])).content.decode()
    dead.refresh_from_db()
    assert dead.status == "failed" and dead.stalled
    assert "the process writing it ended" in page and 'data-testid="export-retry"' in page
    alive.refresh_from_db()
    assert alive.status == "running"  # a heartbeat within the last minutes: left alone

    # Another user cannot retry it; a GET does nothing.
    client.force_login(bob)
    assert client.post(reverse("export-retry", args=[dead.pk])).status_code == 404
    client.force_login(alice)
    assert client.get(reverse("export-retry", args=[dead.pk])).status_code == 405

    with django_capture_on_commit_callbacks(execute=True):  # the inline runner of the tests
        response = client.post(reverse("export-retry", args=[dead.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("export-detail", args=[dead.pk])
    dead.refresh_from_db()
    assert dead.status == "done" and dead.attempt == 2 and dead.error == "" and dead.file
    name = dead.file.name
    # A double click, and the first attempt's message arriving late: nothing more happens.
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post(reverse("export-retry", args=[dead.pk]))
    assert callbacks == []
    assert run_export(dead.pk, 1) == "done"
    dead.refresh_from_db()
    assert dead.attempt == 2 and dead.file.name == name
    assert not export_retry(job_id=alive.pk, user=alice)  # only a failed job restarts


def test_beat_sweeps_stale_jobs_and_the_job_page_says_why(alice, client, settings):
    settings.SWMS_EXPORT_STALE_MINUTES = 10
    old = timezone.now() - datetime.timedelta(minutes=11)
    stale = [ExportJob.objects.create(user=alice, builder="x.y", filename=f"{s}.xlsx", status=s, heartbeat_at=old)
             for s in ("pending", "running")]
    fresh = ExportJob.objects.create(user=alice, builder="x.y", filename="f.xlsx", status="running")
    assert sweep_stale_exports_task() == 2
    assert sweep_stale_exports() == 0
    assert [ExportJob.objects.get(pk=j.pk).status for j in stale] == ["failed", "failed"]
    assert ExportJob.objects.get(pk=fresh.pk).status == "running"
    assert {"sweep-stale-exports", "purge-expired-exports"} <= set(settings.CELERY_BEAT_SCHEDULE)
    assert settings.CELERY_BEAT_SCHEDULE["sweep-stale-exports"]["task"] == sweep_stale_exports_task.name


def test_a_progress_update_after_the_sweep_stops_the_runner(alice, regions, media, monkeypatch):
    """A runner that was swept (and whose job may have been restarted) must not overwrite the job."""
    import swms.exports as module

    create_station(alice, regions)
    job = ExportJob.objects.create(user=alice, builder="stations.views.station_table", filename="s.xlsx")
    original = module.write_xlsx

    def write_and_get_swept(handle, headers, rows, sheet_title, progress):
        ExportJob.objects.filter(pk=job.pk).update(status="failed", error=ExportJob.STALE)
        monkeypatch.setattr("time.monotonic", lambda: 1e12)  # past the one-second heartbeat throttle
        progress(1)
        return original(handle, headers, rows, sheet_title)

    monkeypatch.setattr(module, "write_xlsx", write_and_get_swept)
    assert run_export(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and not job.file


def test_expired_files_are_deleted_and_no_longer_downloadable(alice, regions, client, media):
    create_station(alice, regions)
    job = ExportJob.objects.create(user=alice, builder="stations.views.station_table", filename="s.xlsx")
    run_export(job.pk)
    job.refresh_from_db()
    path = media / job.file.name
    assert path.exists()
    client.force_login(alice)
    assert client.get(reverse("export-download", args=[job.pk])).status_code == 200
    assert purge_expired_exports() == 0  # not yet

    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert client.get(reverse("export-download", args=[job.pk])).status_code == 404  # even before the purge
    assert purge_expired_exports_task() == 1
    job.refresh_from_db()
    assert job.status == "expired" and not job.file and not path.exists()
    assert 'data-testid="export-expired"' in client.get(reverse("export-detail", args=[job.pk])).content.decode()
    assert purge_expired_exports() == 0


def test_my_exports_lists_only_my_jobs_in_constant_queries(alice, bob, client, django_assert_max_num_queries):
    for i in range(3):
        ExportJob.objects.create(user=alice, builder="x.y", filename=f"mine-{i}.xlsx", status="done", size=2048,
                                 total=10, expires_at=timezone.now() + datetime.timedelta(days=7))
    ExportJob.objects.create(user=bob, builder="x.y", filename="bobs.xlsx")
    client.force_login(alice)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("export-list")).content.decode()
    assert page.count('data-testid="export-row"') == 3 and "bobs.xlsx" not in page
    assert "2.0\xa0KB" in page and "kept for 7 days" in page
    for i in range(20):
        ExportJob.objects.create(user=alice, builder="x.y", filename=f"more-{i}.xlsx", status="done")
    with django_assert_max_num_queries(12):
        client.get(reverse("export-list"))


@pytest.mark.browser
def test_export_pages_fit_a_phone(live_server, transactional_db, regions, page, screenshot_dir):
    from tests.conftest import PASSWORD

    alice = make_user("yx_shots", "official", regions["越秀区"])
    now = timezone.now()
    done = ExportJob.objects.create(user=alice, builder="x.y", filename="clients-20261130.xlsx", status="done",
                                    total=983579, done_rows=983579, size=61_000_000, finished_at=now,
                                    expires_at=now + datetime.timedelta(days=7))
    ExportJob.objects.create(user=alice, builder="x.y", filename="activities-20261130.csv", format="csv",
                             status="running", total=592921, done_rows=250000)
    ExportJob.objects.create(user=alice, builder="x.y", filename="registry-20261129.xlsx", status="failed",
                             error=ExportJob.STALE)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name='username']").fill("yx_shots")
    page.locator("input[name='password']").fill(PASSWORD)
    page.locator("input[name='captcha_1']").fill("PASSED")
    page.locator("form button[type='submit']").last.click()
    page.wait_for_load_state()
    page.goto(f"{live_server.url}{reverse('export-list')}")
    assert page.get_by_test_id("export-row").count() == 3
    page.screenshot(path=screenshot_dir / "exports-list-phone.png", full_page=True)
    page.goto(f"{live_server.url}{reverse('export-detail', args=[done.pk])}")
    assert page.get_by_test_id("export-download").is_visible()
    page.screenshot(path=screenshot_dir / "exports-detail-phone.png", full_page=True)
    # Nothing wider than the phone's screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
