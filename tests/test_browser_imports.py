"""Issue #15's import centre journey in real Chromium: a province official downloads the roster template,
uploads a messy pass list, reads the dry run's report, downloads the error workbook, confirms, watches the
import run in the background and reads the result. Screenshots (desktop and 390 px) under var/screenshots/."""

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from playwright.sync_api import expect

from registration.models import Qualification
from swms.exports import wait_for_export_threads
from swms.models import ImportJob
from tests.conftest import PASSWORD, make_user
from tests.factories import make_id_number
from tests.test_browser_registration import _login
from tests.test_import_centre import good_rows, roster_workbook

pytestmark = pytest.mark.browser


def test_province_imports_a_roster_through_the_import_centre(
    live_server, transactional_db, regions, page, screenshot_dir, settings, tmp_path
):
    settings.SWMS_EXPORT_RUNNER = "thread"  # the steps run in the background, as without a Celery worker
    make_user("gd_importer", "official", regions["广东省"], full_name="广东省民政厅")
    rows = good_rows(2000) + [["错号", "44010419900101123", "社会工作师", "BAD1", "2021年", "广东省"],
                              ["外省", make_id_number(), "社会工作师", "BAD2", "2021", "湖北省"]]
    path = tmp_path / "2021年合格名单.xlsx"
    path.write_bytes(roster_workbook(rows))
    base = live_server.url
    page.set_viewport_size({"width": 1400, "height": 900})
    _login(page, base, "gd_importer", PASSWORD)

    page.locator(f'nav a[href="{reverse("import-centre")}"]').click()
    expect(page.get_by_role("heading", name="导入中心")).to_be_visible()
    with page.expect_download() as template:
        page.get_by_test_id("template-roster").click()
    template.value.save_as(tmp_path / "template.xlsx")
    sheet = load_workbook(tmp_path / "template.xlsx").worksheets[0]
    assert sheet.cell(row=1, column=1).value == "姓名*"
    page.screenshot(path=screenshot_dir / "imports-centre.png", full_page=True)

    form = page.get_by_test_id("import-upload")
    form.locator("select[name='kind']").select_option("roster")
    form.locator("input[name='file']").set_input_files(str(path))
    form.locator("button[type='submit']").click()
    status = page.get_by_test_id("import-status")
    expect(status).to_have_attribute("data-status", "checked", timeout=60_000)
    expect(page.get_by_test_id("count-created")).to_have_text("2000")
    expect(page.get_by_test_id("count-errors")).to_have_text("2")
    expect(page.get_by_test_id("import-errors")).to_contain_text("湖北省")
    assert Qualification.objects.count() == 0
    page.screenshot(path=screenshot_dir / "imports-checked.png", full_page=True)
    with page.expect_download() as errors:
        page.get_by_test_id("import-error-workbook").click()
    errors.value.save_as(tmp_path / "errors.xlsx")
    lines = list(load_workbook(tmp_path / "errors.xlsx").active.iter_rows(values_only=True))
    assert [line[0] for line in lines[1:]] == [2004, 2005]

    page.get_by_test_id("import-confirm").click()
    expect(status).to_have_attribute("data-status", "done", timeout=60_000)
    expect(page.get_by_test_id("count-created")).to_have_text("2000")
    wait_for_export_threads()
    assert Qualification.objects.count() == 2000
    job = ImportJob.objects.get()
    assert job.result["created"] == 2000 and job.confirmed_at and job.finished_at

    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=screenshot_dir / "imports-done-phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.goto(f"{base}{reverse('import-centre')}")
    expect(page.get_by_test_id("import-row")).to_have_count(1)
    expect(page.get_by_test_id("import-row")).to_contain_text(job.sha256[:12])
    page.screenshot(path=screenshot_dir / "imports-history-phone.png", full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
