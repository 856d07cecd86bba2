"""import_qualifications: validation, error workbook, idempotency, dry run."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook, load_workbook

from registration.models import Qualification
from registration.roster_import import RosterImportError, qualifications_import
from tests.factories import make_id_number

HEADER = ["姓名", "身份证号", "证书级别", "证书管理号", "考试年度"]


def write_xlsx(path, rows, header=HEADER):
    wb = Workbook()
    ws = wb.active
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def test_valid_rows_import_and_rerun_creates_nothing(db, tmp_path):
    ids = [make_id_number() for _ in range(3)]
    path = write_xlsx(tmp_path / "pass.xlsx", [
        ["王芳", ids[0], "助理社会工作师", "ZS2021001", 2021],
        ["李明", ids[1], "社会工作师", "ZS2021002", "2021"],
        ["赵强", ids[2], "高级社会工作师", "ZS2021003", 2021.0],
    ])
    report = qualifications_import(path=path, province="广东省")
    assert (report.read, report.created, report.updated, len(report.errors)) == (3, 3, 0, 0)
    assert Qualification.objects.get(certificate_no="ZS2021002").level == "intermediate"
    assert Qualification.objects.get(certificate_no="ZS2021003").issuing_province == "广东省"
    again = qualifications_import(path=path, province="广东省")
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Qualification.objects.count() == 3
    assert report.error_file is None and not (tmp_path / "pass.errors.xlsx").exists()


def test_bad_rows_go_to_the_error_workbook_and_good_rows_import(db, tmp_path):
    good = make_id_number()
    bad_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    Qualification.objects.create(name="旧", id_number=make_id_number(), level="assistant",
                                 certificate_no="TAKEN1", exam_year=2020)
    path = write_xlsx(tmp_path / "pass.xlsx", [
        ["王芳", good, "助理社会工作师", "ZS1", 2021],          # row 2 ok
        ["李明", bad_check, "社会工作师", "ZS2", 2021],         # row 3 bad checksum
        ["赵强", make_id_number(), "工程师", "ZS3", 2021],      # row 4 bad level
        ["钱七", make_id_number(), "社会工作师", "ZS4", 1999],  # row 5 bad year
        ["孙八", make_id_number(), "社会工作师", "ZS1", 2021],  # row 6 duplicate of row 2
        ["周九", make_id_number(), "社会工作师", "TAKEN1", 2021],  # row 7 conflicts with the DB
        ["", make_id_number(), "社会工作师", "ZS8", 2021],      # row 8 no name
    ])
    report = qualifications_import(path=path)
    assert report.created == 1 and Qualification.objects.filter(certificate_no="ZS1").exists()
    assert [line for line, _, _ in report.errors] == [3, 4, 5, 6, 7, 8]
    sheet = list(load_workbook(report.error_file).active.iter_rows(values_only=True))
    assert sheet[0][-1] == "错误原因"
    reasons = {row[0]: row[-1] for row in sheet[1:]}
    assert "check digit" in reasons[3]
    assert "unknown level" in reasons[4]
    assert "1999" in reasons[5]
    assert "row 2" in reasons[6]
    assert "another ID number" in reasons[7]


def test_id_numbers_are_normalized_and_address_codes_not_checked(db, tmp_path):
    # 仙桃 429004 did not exist in 1990; stdnum's validate() would refuse it, GB 11643 does not.
    xiantao = make_id_number(area="429004")
    fullwidth = xiantao.translate(str.maketrans("0123456789X", "０１２３４５６７８９ｘ"))
    path = write_xlsx(tmp_path / "pass.xlsx", [["王芳", fullwidth, "助理社会工作师", "ZS1", 2021]])
    report = qualifications_import(path=path)
    assert report.created == 1, report.errors
    assert Qualification.objects.get().id_number == xiantao


def test_dry_run_writes_nothing(db, tmp_path):
    path = write_xlsx(tmp_path / "pass.xlsx", [["王芳", make_id_number(), "助理社会工作师", "ZS1", 2021]])
    report = qualifications_import(path=path, dry_run=True)
    assert report.created == 1 and Qualification.objects.count() == 0


def test_missing_header_fails_whole_file(db, tmp_path):
    path = write_xlsx(tmp_path / "pass.xlsx", [["王芳", make_id_number(), "ZS1", 2021]],
                      header=["姓名", "身份证号", "证书管理号", "考试年度"])
    with pytest.raises(RosterImportError, match="证书级别"):
        qualifications_import(path=path)
    assert Qualification.objects.count() == 0


def test_corrected_name_updates_in_place(db, tmp_path):
    id_number = make_id_number()
    write_xlsx(tmp_path / "a.xlsx", [["王方", id_number, "助理社会工作师", "ZS1", 2021]])
    qualifications_import(path=tmp_path / "a.xlsx")
    pk = Qualification.objects.get().pk
    write_xlsx(tmp_path / "b.xlsx", [["王芳", id_number, "助理社会工作师", "ZS1", 2021]])
    report = qualifications_import(path=tmp_path / "b.xlsx")
    assert report.updated == 1
    assert Qualification.objects.get(pk=pk).name == "王芳"


def test_command(db, tmp_path, capsys):
    path = write_xlsx(tmp_path / "pass.xlsx", [
        ["王芳", make_id_number(), "助理社会工作师", "ZS1", 2021],
        ["李明", "123", "社会工作师", "ZS2", 2021],
    ])
    call_command("import_qualifications", str(path), "--dry-run")
    assert Qualification.objects.count() == 0
    call_command("import_qualifications", str(path))
    out = capsys.readouterr().out
    assert "1 created" in out and "1 with errors" in out and "pass.errors.xlsx" in out
    with pytest.raises(CommandError):
        call_command("import_qualifications", str(tmp_path / "missing.xlsx"))
