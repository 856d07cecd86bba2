"""import_ce_hours: validation, error workbook, idempotency; imported hours count for renewal."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import translation
from openpyxl import Workbook, load_workbook

from registration.ce_import import ce_hours_import
from registration.eligibility import ce_hours_between
from registration.models import CERecord
from tests.factories import SocialWorkerFactory, make_id_number

HEADER = ["身份证号", "姓名", "培训机构", "课程名称", "学时", "完成日期", "记录编号"]


def write_xlsx(path, rows):
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def test_import_is_idempotent_and_counts_for_the_tally(db, tmp_path):
    worker = SocialWorkerFactory()
    path = write_xlsx(tmp_path / "ce.xlsx", [
        [worker.id_number, worker.name, "广东社工学院", "个案管理", 12, datetime.date(2025, 3, 1), "A-1"],
        [worker.id_number, worker.name, "广东社工学院", "小组工作", "6.5", "2025/4/2", "A-2"],
    ])
    report = ce_hours_import(path=path)
    assert (report.created, len(report.errors)) == (2, 0)
    again = ce_hours_import(path=path)
    assert (again.created, again.unchanged) == (0, 2)
    assert CERecord.objects.filter(worker=worker).count() == 2
    total = ce_hours_between(worker, datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    assert total == Decimal("18.5")


def test_bad_rows_are_reported_and_good_rows_import(db, tmp_path):
    worker = SocialWorkerFactory()
    future = datetime.date.today() + datetime.timedelta(days=30)
    path = write_xlsx(tmp_path / "ce.xlsx", [
        [worker.id_number, "", "P", "c", 10, "2025-01-01", "R1"],      # row 2 ok
        ["123", "", "P", "c", 10, "2025-01-01", "R2"],                  # row 3 bad ID
        [worker.id_number, "", "P", "c", "many", "2025-01-01", "R3"],   # row 4 bad hours
        [worker.id_number, "", "P", "c", 10, future, "R4"],             # row 5 future
        [worker.id_number, "", "P", "c", 10, "2025-01-01", "R1"],       # row 6 duplicate ref
        [make_id_number(), "", "P", "c", 10, "2025-01-01", "R5"],       # row 7 unknown worker
        [worker.id_number, "", "P", "c", 10, "2025-02-30", "R6"],       # row 8 impossible date
    ])
    report = ce_hours_import(path=path)
    assert report.created == 1
    assert [line for line, _, _ in report.errors] == [3, 4, 5, 6, 7, 8]
    sheet = list(load_workbook(report.error_file).active.iter_rows(values_only=True))
    reasons = {row[0]: row[-1] for row in sheet[1:]}
    assert "signed up" in reasons[7] and "not a date" in reasons[8]


def test_command_dry_run(db, tmp_path, capsys):
    worker = SocialWorkerFactory()
    path = write_xlsx(tmp_path / "ce.xlsx", [[worker.id_number, "", "P", "c", 10, "2025-01-01", "R1"]])
    call_command("import_ce_hours", str(path), "--dry-run")
    assert CERecord.objects.count() == 0
    assert "1 created" in capsys.readouterr().out
    call_command("import_ce_hours", str(path))
    assert CERecord.objects.get().source == CERecord.Source.IMPORTED
