"""Large exports run in the background with progress; small ones download at once."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from swms.exports import write_xlsx
from swms.models import ExportJob
from swms.tasks import run_export
from tests.test_stations import create_station


def _rows(response):
    return list(load_workbook(io.BytesIO(b"".join(response.streaming_content))).active.values)


def test_small_export_downloads_at_once(alice, regions, client, settings):
    settings.SWMS_EXPORT_SYNC_ROWS = 10
    create_station(alice, regions)
    client.force_login(alice)
    response = client.get(reverse("stations:list"), {"export": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert not ExportJob.objects.exists()


def test_large_export_becomes_a_job_with_progress(alice, bob, charlie, regions, client, settings, media,
                                                  django_capture_on_commit_callbacks):
    settings.SWMS_EXPORT_SYNC_ROWS = 1
    create_station(alice, regions, name="甲站")
    create_station(alice, regions, name="乙站", region=regions["北京街道"])
    create_station(charlie, regions, name="沙面站", region=regions["沙面街道"])
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(reverse("stations:list"), {"export": "xlsx", "q": "站"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("export-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == "done" and job.total == 2 and job.user == alice and "export" not in job.params
    page = client.get(reverse("export-detail", args=[job.pk])).content.decode()
    assert 'data-testid="export-download"' in page
    rows = _rows(client.get(reverse("export-download", args=[job.pk])))
    assert [r[1] for r in rows[1:]] == ["甲站", "乙站"]  # alice's scope: not 沙面站
    # A job belongs to whoever asked for it, even a colleague of the same office cannot open it.
    client.force_login(bob)
    assert client.get(reverse("export-detail", args=[job.pk])).status_code == 404
    assert client.get(reverse("export-download", args=[job.pk])).status_code == 404


def test_progress_is_reported_and_polled(alice, client):
    calls = []
    write_xlsx(io.BytesIO(), ["a"], ([i] for i in range(5)), progress=calls.append, every=2)
    assert calls == [2, 4]
    job = ExportJob.objects.create(user=alice, builder="stations.views.station_table", filename="x.xlsx",
                                   total=1000, done_rows=250, status="running")
    assert job.percent == 25
    client.force_login(alice)
    partial = client.get(reverse("export-detail", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in partial and "250" in partial and "<html" not in partial


def test_a_failed_job_says_so_and_a_done_job_is_not_rewritten(alice, regions, client, media):
    broken = ExportJob.objects.create(user=alice, builder="swms.exports.no_such_builder", filename="x.xlsx")
    with pytest.raises(ImportError):
        run_export(broken.pk)
    broken.refresh_from_db()
    assert broken.status == "failed"
    client.force_login(alice)
    assert "alert-danger" in client.get(reverse("export-detail", args=[broken.pk])).content.decode()

    create_station(alice, regions)
    job = ExportJob.objects.create(user=alice, builder="stations.views.station_table", filename="s.xlsx")
    assert run_export(job.pk) == "done"
    job.refresh_from_db()
    name = job.file.name
    assert run_export(job.pk) == "done"
    job.refresh_from_db()
    assert job.file.name == name and job.total == 1
