"""import_qualifications: validation, error workbook, idempotency, dry run, batches, scope."""

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from openpyxl import Workbook, load_workbook

from registration import roster_import
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


def test_a_real_world_roster_imports_whole(db, tmp_path):
    """A title and a unit row above the header, merged title cells, labels with spaces, line breaks and
    synonyms in another order, an extra column, a notes sheet first, years as 2021年, full-width digits,
    blank rows in the middle and formatted-but-empty rows at the end, a lower-case x, a 15-digit legacy ID."""
    from stdnum.cn import ric

    x_id = next(b + "X" for b in (f"44010419900307{n:03d}" for n in range(1000))
                if ric.calc_check_digit(b + "0") == "X")
    plain = make_id_number()
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in plain)
    wb = Workbook()
    notes = wb.active
    notes.title = "填表说明"
    notes.append(["本表请勿改动表头"])
    ws = wb.create_sheet("合格名单")
    ws.append(["2021年度社会工作者职业水平考试合格人员名单"])
    ws.merge_cells("A1:F1")
    ws.append(["填报单位（盖章）：", None, None, "填报日期：2022年3月1日"])
    ws.append(["序号", "证书\n管理号", "姓 名", "公民身份号码", "级别", "年度"])
    ws.append([1, "ZS2021101", "王芳", x_id.lower(), "助理社会工作师", "2021年"])
    ws.append([])
    ws.append([2, "ZS2021102", " 李明\u00a0", full_width, "社会工作师", "２０２１"])
    ws.append([3, "ZS2021103", "赵强", "440104900307123", "社会工作师", 2021])
    for row in range(8, 12):  # formatted but empty
        ws.cell(row=row, column=2).number_format = "@"
    path = tmp_path / "名单.xlsx"
    wb.save(path)

    report = qualifications_import(path=path, province="广东省")
    assert (report.read, report.created, len(report.errors)) == (3, 3, 0), report.errors
    assert Qualification.objects.get(certificate_no="ZS2021101").id_number == x_id
    assert Qualification.objects.get(certificate_no="ZS2021102").id_number == plain
    converted = Qualification.objects.get(certificate_no="ZS2021103")
    assert converted.id_number.startswith("44010419900307123") and converted.exam_year == 2021
    assert report.notes == [(7, f"15-digit ID number 440104900307123 converted to {converted.id_number}")]


def test_an_id_number_stored_as_a_number_is_reported_as_lost_digits(db, tmp_path):
    good = next(n for n in iter(make_id_number, None) if n[-1].isdigit())  # one a number cell can take
    path = write_xlsx(tmp_path / "pass.xlsx", [["王芳", int(good), "助理社会工作师", "ZS1", 2021]])
    with translation.override("zh-hans"):
        report = qualifications_import(path=path)
    assert report.created == 0
    assert report.errors[0][0] == 2 and "身份证号被存成了数字，末几位已丢失，请把该列设为文本后重新填写" in report.errors[0][2]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_a_csv_roster_in_utf8_or_gbk(db, tmp_path, encoding):
    ids = [make_id_number() for _ in range(2)]
    lines = ["姓名,身份证号,证书级别,证书管理号,考试年度", f"王芳,{ids[0]},助理社会工作师,ZS1,2021",
             f"李明,{ids[1]},社会工作师,ZS2,2021年"]
    path = tmp_path / "roster.csv"
    path.write_bytes("\r\n".join(lines).encode(encoding))
    report = qualifications_import(path=path)
    assert (report.created, len(report.errors)) == (2, 0)
    assert set(Qualification.objects.values_list("name", flat=True)) == {"王芳", "李明"}


def test_a_file_without_the_columns_says_which_are_missing_and_imports_nothing(db, tmp_path):
    path = write_xlsx(tmp_path / "pass.xlsx", [["王芳", make_id_number()]], header=["姓名", "身份证号"])
    with translation.override("zh-hans"), pytest.raises(RosterImportError, match="证书级别、证书管理号、考试年度"):
        qualifications_import(path=path)
    assert Qualification.objects.count() == 0


def test_rows_are_checked_and_written_in_batches_as_in_one_pass(db, tmp_path, monkeypatch):
    """New, unchanged, corrected and conflicting rows across batches of two; a repeat of a row in an earlier
    batch is still caught; progress after each batch and at the end."""
    monkeypatch.setattr(roster_import, "BATCH", 2)
    same, renamed, other = make_id_number(), make_id_number(), make_id_number()
    Qualification.objects.create(name="王芳", id_number=same, level="assistant", certificate_no="OLD1",
                                 exam_year=2020, issuing_province="广东省")
    Qualification.objects.create(name="李民", id_number=renamed, level="intermediate", certificate_no="OLD2",
                                 exam_year=2020, issuing_province="广东省")
    Qualification.objects.create(name="赵强", id_number=other, level="senior", certificate_no="OLD3", exam_year=2020)
    path = write_xlsx(tmp_path / "pass.xlsx", [
        ["新一", make_id_number(), "社会工作师", "NEW1", 2021],  # row 2: created
        ["王芳", same, "助理社会工作师", "OLD1", 2020],  # 3: unchanged, the stored province kept
        ["李明", renamed, "社会工作师", "OLD2", 2020],  # 4: the name corrected
        ["钱七", make_id_number(), "高级社会工作师", "OLD3", 2020],  # 5: another ID number
        ["新二", make_id_number(), "社会工作师", "NEW1", 2021],  # 6: repeats row 2, of the first batch
        ["阿依古丽·买买提\\", make_id_number(), "社会工作师", "NEW3", 2021],  # 7: created (COPY's escaping)
    ])
    calls = []
    report = qualifications_import(path=path, progress=lambda done, total: calls.append((done, total)))

    assert (report.read, report.created, report.updated, report.unchanged) == (6, 2, 1, 1)
    assert [(line, reason) for line, _raw, reason in report.errors] == [
        (5, "certificate number OLD3 is already registered to another ID number"),
        (6, "certificate number NEW1 already appears on row 2"),
    ]
    assert calls == [(2, 6), (4, 6), (6, 6)]
    stored = {q.certificate_no: q for q in Qualification.objects.all()}
    assert sorted(stored) == ["NEW1", "NEW3", "OLD1", "OLD2", "OLD3"]
    assert (stored["OLD2"].name, stored["OLD2"].issuing_province) == ("李明", "广东省")
    assert (stored["NEW1"].name, stored["NEW1"].source) == ("新一", "roster")
    assert stored["NEW3"].name == "阿依古丽·买买提\\"
    assert stored["OLD3"].id_number == other
    sheet = list(load_workbook(report.error_file).active.iter_rows(values_only=True))
    assert sheet[1][:2] == (5, "钱七") and sheet[1][4] == "OLD3"  # the row as it was, under its header


def test_values_longer_than_their_column_are_refused_on_their_row(db, tmp_path):
    path = write_xlsx(tmp_path / "pass.xlsx", [
        ["名" * 101, make_id_number(), "社会工作师", "ZS1", 2021],
        ["王芳", make_id_number(), "社会工作师", "Z" * 51, 2021],
        ["李明", make_id_number(), "社会工作师", "ZS3", 2021],
    ])
    report = qualifications_import(path=path)
    assert report.created == 1 and Qualification.objects.get().certificate_no == "ZS3"
    assert [(line, reason) for line, _raw, reason in report.errors] == [
        (2, "the name is longer than 100 characters"),
        (3, "the certificate management number is longer than 50 characters"),
    ]


def test_a_province_office_imports_the_rows_of_its_own_province_only(regions, tmp_path):
    Qualification.objects.create(name="赵强", id_number=make_id_number(), level="senior", certificate_no="HB1",
                                 exam_year=2020, issuing_province="湖北省")
    path = write_xlsx(tmp_path / "pass.xlsx", [
        ["王芳", make_id_number(), "社会工作师", "GD1", 2021, ""],
        ["李明", make_id_number(), "社会工作师", "HB2", 2021, "湖北省"],
        ["赵强", make_id_number(), "社会工作师", "HB1", 2021, "广东省"],
    ], header=[*HEADER, "发证省份"])
    report = qualifications_import(path=path, scope=regions["广东省"])
    assert report.created == 1
    assert Qualification.objects.get(certificate_no="GD1").issuing_province == "广东省"
    assert [(line, reason) for line, _raw, reason in report.errors] == [
        (3, "the issuing province 湖北省 is outside the regions you administer"),
        (4, "certificate number HB1 belongs to another province's roster"),
    ]
    assert Qualification.objects.get(certificate_no="HB1").issuing_province == "湖北省"
