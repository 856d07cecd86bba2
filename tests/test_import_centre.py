"""The import centre (导入中心, issue #15): upload → the dry run's report in the page → confirm → the import in
the background → the result; scope, the error workbook, the history with SHA-256, templates and RegionLookup."""

import hashlib
import io
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook, load_workbook

from registration.models import Qualification
from swms import import_jobs
from swms.import_values import ImportValueError, clean
from swms.imports import RegionLookup, get_kind, kinds, write_template
from swms.models import ImportJob
from swms.xlsx_import import cells, read_table
from tests.conftest import make_user
from tests.factories import make_id_number


@pytest.fixture(autouse=True)
def english(client, settings):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the pages and the jobs' reports in English
    with translation.override("en"):
        yield


def roster_workbook(rows, title=True) -> bytes:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append(["2021年度社会工作者职业水平考试合格人员名单"])
        ws.append(["填报单位：广东省民政厅"])
    ws.append(["序号", "姓名", "公民身份号码", "级别", "证书管理号", "考试年度", "发证省份"])
    for i, row in enumerate(rows, start=1):
        ws.append([i, *row])
    handle = io.BytesIO()
    wb.save(handle)
    return handle.getvalue()


def good_rows(n, province="广东省", start=0):
    return [[f"社工{i}", make_id_number(), "社会工作师", f"C2021{i:05d}", "2021年", province]
            for i in range(start, start + n)]


def upload(client, content, name="名单.xlsx", kind="roster"):
    return client.post(reverse("import-centre"), {"kind": kind, "file": SimpleUploadedFile(name, content)})


@pytest.fixture
def gd(regions):
    return make_user("gd_import", "official", regions["广东省"], full_name="广东省民政厅")


def test_upload_check_confirm_import(client, gd, django_capture_on_commit_callbacks):
    rows = good_rows(3) + [["坏行", "12345", "社会工作师", "C2021X", "2021", "广东省"],
                           ["外省", make_id_number(), "社会工作师", "C2021Y", "2021", "湖北省"]]
    content = roster_workbook(rows)
    client.force_login(gd)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, content)
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("import-detail", args=[job.pk])
    assert job.sha256 == hashlib.sha256(content).hexdigest() and job.file_name == "名单.xlsx"
    assert job.scope == gd.region and job.status == "checked"
    assert Qualification.objects.count() == 0  # a dry run writes nothing
    assert job.check_report["created"] == 3 and job.check_report["error_count"] == 2

    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert 'data-testid="count-created">3<' in page and 'data-testid="count-errors">2<' in page
    assert "outside the regions you administer" in page  # the 湖北省 row, refused by scope
    assert job.sha256 in page

    # The error workbook: the two bad rows with their Excel row numbers and reasons.
    errors = client.get(reverse("import-errors", args=[job.pk]))
    assert errors.status_code == 200 and "attachment" in errors["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(b"".join(errors.streaming_content))).active
    lines = list(sheet.iter_rows(values_only=True))
    assert [line[0] for line in lines[1:]] == [7, 8]
    assert "湖北省" in lines[2] and "outside the regions you administer" in lines[2][-1]

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("import-confirm", args=[job.pk])).status_code == 302
    job.refresh_from_db()
    assert job.status == "done" and job.result["created"] == 3 and job.finished_at
    assert Qualification.objects.count() == 3
    assert set(Qualification.objects.values_list("issuing_province", flat=True)) == {"广东省"}

    # A second confirmation does nothing; the same file again is recognized and creates nothing.
    assert not import_jobs.confirm(job_id=job.pk, user=gd)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, content)
    again = ImportJob.objects.exclude(pk=job.pk).get()
    assert again.check_report["created"] == 0 and again.check_report["unchanged"] == 3
    page = client.get(reverse("import-detail", args=[again.pk])).content.decode()
    assert 'data-testid="import-earlier"' in page and 'data-testid="import-confirm" disabled' in page

    history = client.get(reverse("import-centre")).content.decode()
    assert history.count('data-testid="import-row"') == 2 and job.sha256[:12] in history


def test_an_unreadable_file_fails_with_the_reason_in_chinese(client, gd, settings,
                                                            django_capture_on_commit_callbacks):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"  # the uploader's language, kept for the job
    client.force_login(gd)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, "姓名,身份证号\n张三,1\n".encode("utf-16"), name="名单.csv")
    job = ImportJob.objects.get()
    assert job.status == "failed" and "既不是 UTF-8 也不是 GBK" in job.error and job.language == "zh-hans"
    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert "既不是 UTF-8 也不是 GBK" in page and 'data-testid="import-failure"' in page
    assert not Qualification.objects.exists()


@pytest.mark.parametrize("name, content, message", [
    ("名单.pdf", b"%PDF-1.4", "is not a file that can be imported"),
    ("名单.xlsx", b"", "is empty"),
    ("名单.xlsx", b"PK\x03\x04 not really a zip", "is damaged"),
])
def test_uploads_that_are_not_spreadsheets_are_refused_in_the_form(client, gd, name, content, message):
    client.force_login(gd)
    response = upload(client, content, name=name)
    assert response.status_code == 200 and message in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_workbook_that_expands_beyond_the_bound_is_refused(client, gd, settings):
    settings.SWMS_IMPORT_MAX_UNCOMPRESSED = 1_000_000
    handle = io.BytesIO()
    with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * 2_000_000)  # 2 MB of zeros, a few kB packed
    client.force_login(gd)
    response = upload(client, handle.getvalue())
    assert "expands to far more data" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_who_may_use_the_import_centre(client, regions, gd, superuser, django_capture_on_commit_callbacks):
    city = make_user("gz_import", "official", regions["广州市"])
    hubei = make_user("hb_import", "official", regions["湖北省"])
    colleague = make_user("gd_colleague", "official", regions["广东省"])
    client.force_login(gd)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, roster_workbook(good_rows(1)))
    job = ImportJob.objects.get()
    client.force_login(city)
    assert client.get(reverse("import-centre")).status_code == 403
    client.force_login(hubei)
    assert client.get(reverse("import-detail", args=[job.pk])).status_code == 404
    assert client.post(reverse("import-confirm", args=[job.pk])).status_code == 404
    assert 'data-testid="import-row"' not in client.get(reverse("import-centre")).content.decode()
    # A colleague of the same office sees it, but only the uploader confirms.
    client.force_login(colleague)
    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert "Only the person who uploaded the file" in page
    client.post(reverse("import-confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "checked"
    client.force_login(superuser)
    assert client.get(reverse("import-detail", args=[job.pk])).status_code == 200


def test_an_operator_imports_for_the_whole_country(client, superuser, regions, django_capture_on_commit_callbacks):
    client.force_login(superuser)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, roster_workbook(good_rows(1, "湖北省") + good_rows(1, "广东省", start=1)))
    job = ImportJob.objects.get()
    assert job.scope is None and job.check_report["error_count"] == 0


def test_a_stopped_step_is_marked_and_can_be_run_again(client, gd, settings, django_capture_on_commit_callbacks):
    import datetime

    from django.utils import timezone

    settings.SWMS_EXPORT_RUNNER = "celery-absent"  # queued, never run: as if the worker died
    client.force_login(gd)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, roster_workbook(good_rows(2)))
    job = ImportJob.objects.get()
    assert job.status == "check_queued"
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - datetime.timedelta(hours=1))
    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert "stopped without finishing" in page
    settings.SWMS_EXPORT_RUNNER = "inline"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import-retry", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "checked" and job.check_report["created"] == 2


def test_a_step_runs_once_however_often_its_message_is_delivered(gd, django_capture_on_commit_callbacks):
    from swms.import_jobs import run_step

    job = ImportJob.objects.create(kind="roster", user=gd, scope=gd.region, file_name="a.xlsx", size=1, sha256="0")
    job.file.save("a.xlsx", io.BytesIO(roster_workbook(good_rows(2))))
    assert run_step(job.pk, "check") == "checked"
    assert run_step(job.pk, "check") == "checked"  # redelivered: nothing runs
    ImportJob.objects.filter(pk=job.pk).update(status="import_queued")
    assert run_step(job.pk, "import") == "done"
    assert run_step(job.pk, "import") == "done"
    assert Qualification.objects.count() == 2


@pytest.mark.parametrize("kind", [k.key for k in kinds()])
def test_every_template_reads_back_with_its_example_row(client, gd, kind, tmp_path):
    client.force_login(gd)
    response = client.get(reverse("import-template", args=[kind]))
    assert response.status_code == 200 and ".xlsx" in response["Content-Disposition"]
    path = tmp_path / "template.xlsx"
    path.write_bytes(response.content)
    import_kind = get_kind(kind)
    table = read_table(path, import_kind.columns)
    assert len(table.rows) == 1
    line, raw = table.rows[0]
    values = cells(raw, table.columns)
    for column in import_kind.columns:
        if column.example != "":
            assert clean(values[column.key]) == clean(column.example), column.key
    workbook = load_workbook(path)
    explanation = workbook.worksheets[1]
    labels = [row[0] for row in explanation.iter_rows(min_row=2, values_only=True) if row[0]]
    assert all(column.labels[0] in labels for column in import_kind.columns)
    # ID numbers and codes are kept as text in the rows people fill in.
    sheet = workbook.worksheets[0]
    for index, column in enumerate(import_kind.columns, start=1):
        if column.as_text:
            assert sheet.cell(row=5, column=index).number_format == "@"


def test_the_roster_template_example_imports(tmp_path, regions):
    handle = io.BytesIO()
    write_template(get_kind("roster"), handle)
    path = tmp_path / "roster.xlsx"
    path.write_bytes(handle.getvalue())
    report = get_kind("roster").run(path=path, scope=regions["广东省"])
    assert report.errors == [] and report.created == 1


@pytest.mark.parametrize("preload_after", [20, 0])
def test_region_lookup(regions, preload_after):
    lookup = RegionLookup(regions["广州市"])
    lookup.PRELOAD_AFTER = preload_after  # 0: the scope's regions are read into memory at the first value
    assert lookup("440104000000") == regions["越秀区"]
    assert lookup("440104") == regions["越秀区"]
    assert lookup("440104001") == regions["洪桥街道"]
    assert lookup("越秀区") == regions["越秀区"]
    assert lookup("广州市越秀区") == regions["越秀区"]
    assert lookup("广东省广州市越秀区洪桥街道") == regions["洪桥街道"]
    assert lookup(" 广东省 越秀区 ") == regions["越秀区"]
    with pytest.raises(ImportValueError, match="outside the regions you administer"):
        lookup("福田区")
    with pytest.raises(ImportValueError, match="no region is called"):
        lookup("不存在区")
    with pytest.raises(ImportValueError, match="no region has the code"):
        lookup("440999")
    # 东城区 (北京) and 东城街道 (东莞): only the exact name matches, and outside the scope it is refused.
    with pytest.raises(ImportValueError, match="outside"):
        RegionLookup(regions["广东省"])("东城区")
    assert RegionLookup(None)("北京市东城区") == regions["东城区"]


def test_the_centre_records_the_uploader_as_who_imported(client, gd, regions, django_capture_on_commit_callbacks):
    """Kinds that record who imported (stations: created_by) get the uploader from the job."""
    from stations.models import Station

    kind = get_kind("stations")
    columns = [c for c in kind.columns if c.required or c.key in ("tier", "address")]
    wb = Workbook()
    wb.active.append([c.labels[0] for c in columns])
    wb.active.append([c.example for c in columns])
    handle = io.BytesIO()
    wb.save(handle)
    client.force_login(gd)
    with django_capture_on_commit_callbacks(execute=True):
        upload(client, handle.getvalue(), name="社工站.xlsx", kind="stations")
    job = ImportJob.objects.get()
    assert job.check_report["created"] == 1, job.check_report
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("import-confirm", args=[job.pk]))
    station = Station.objects.get()
    assert station.created_by == gd and station.region == regions["洪桥街道"]


@pytest.mark.parametrize("kind", [k.key for k in kinds()])
def test_every_kind_reads_a_file_with_only_its_required_columns(kind, regions, tmp_path):
    """Optional columns may be left out of a file: the rows are read (checked, perhaps refused), never a crash."""
    import_kind = get_kind(kind)
    columns = [c for c in import_kind.columns if c.required]
    wb = Workbook()
    wb.active.append([c.labels[0] for c in columns])
    wb.active.append([c.example for c in columns])
    path = tmp_path / "required.xlsx"
    wb.save(path)
    report = import_kind.run(path=path, dry_run=True, scope=regions["广东省"])
    assert report.read == 1


def test_region_lookup_reads_the_scope_once_for_many_values(regions, django_assert_num_queries,
                                                           django_assert_max_num_queries):
    lookup = RegionLookup(regions["广东省"])
    lookup.PRELOAD_AFTER = 1
    lookup("越秀区")  # looked up by query; the next value preloads the province (ancestors, subtree)
    with django_assert_max_num_queries(2):  # the subtree, and the ancestors when the scope has any
        assert lookup("广州市荔湾区沙面街道") == regions["沙面街道"]
    with django_assert_num_queries(0):
        assert lookup("440304") == regions["福田区"]
        assert lookup("东莞市东城街道") == regions["东城街道"]
        assert lookup("深圳市") == regions["深圳市"]


def test_progress_reported_inside_the_import_transaction_shows_and_keeps_the_job_alive(client, gd):
    """A kind that writes in one transaction reports progress from inside it: the job row's UPDATE would stay
    unseen until the commit, so the progress also goes to the cache, which the page and the sweep read."""
    import datetime
    import time

    from django.core.cache import cache
    from django.utils import timezone

    from swms.import_jobs import _progress_key, live_progress, sweep_stale_imports

    job = ImportJob.objects.create(kind="roster", user=gd, scope=gd.region, file_name="a.xlsx", size=1,
                                   sha256="0", status="importing", total=0,
                                   heartbeat_at=timezone.now() - datetime.timedelta(hours=1))
    cache.set(_progress_key(job.pk), {"done": 40000, "total": 100000, "at": time.time()})
    assert sweep_stale_imports() == 0
    client.force_login(gd)
    page = client.get(reverse("import-detail", args=[job.pk])).content.decode()
    assert "40000 of 100000 rows" in page and 'value="40"' in page
    cache.set(_progress_key(job.pk), {"done": 40000, "total": 100000, "at": time.time() - 3600})
    assert sweep_stale_imports() == 1
    job.refresh_from_db()
    assert job.status == "failed" and live_progress(job.pk)["done"] == 40000


def test_the_roster_import_reports_progress_to_the_cache(gd, django_capture_on_commit_callbacks):
    from swms.import_jobs import live_progress, run_step

    job = ImportJob.objects.create(kind="roster", user=gd, scope=gd.region, file_name="a.xlsx", size=1, sha256="0",
                                   status="import_queued")
    job.file.save("a.xlsx", io.BytesIO(roster_workbook(good_rows(3))))
    assert run_step(job.pk, "import") == "done"
    assert live_progress(job.pk) == {"done": 3, "total": 3, "at": pytest.approx(live_progress(job.pk)["at"])}


def test_the_history_list_costs_the_same_queries_for_many_imports(client, gd, django_assert_max_num_queries):
    def add_jobs(n):
        for i in range(n):
            ImportJob.objects.create(kind="roster", user=gd, scope=gd.region, file_name=f"{i}.xlsx", size=1,
                                     sha256=f"{i:064d}", status="done", total=i)

    client.force_login(gd)
    add_jobs(2)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("import-centre")).status_code == 200
    add_jobs(18)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("import-centre")).content.decode()
    assert page.count('data-testid="import-row"') == 20
