"""The shared reader on real files of every format the imports take (issue #15): legacy .xls and OpenDocument
.ods as an office suite saves them, an .xlsx with a merged title and line breaks in the header, and the
streaming reader (`iter_table`) against the list one (`read_table`)."""

import datetime
import shutil
from pathlib import Path

import odswriter
import pytest
from django.utils import translation
from openpyxl import Workbook

from registration.models import Qualification
from registration.roster_import import COLUMNS, qualifications_import
from swms.import_values import Column, parse_date
from swms.xlsx_import import cells, iter_table, read_table

DATA = Path(__file__).parent / "data" / "imports"
ISSUED = Column("issued", ("发证日期",), required=False)  # a date column the roster itself does not keep


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.mark.parametrize("name", ["roster.xls", "roster.ods"])
def test_a_roster_saved_by_libreoffice_imports_with_the_right_values(db, tmp_path, name):
    """tests/data/imports/make_fixtures.py: a notes sheet first, a merged title row above the header, a
    certificate number typed as a number, years as numbers and as 2021年, a date column, a blank row, a
    15-digit legacy ID number."""
    path = tmp_path / name
    shutil.copy(DATA / name, path)  # the error workbook would go beside it

    report = qualifications_import(path=path, province="广东省")

    assert (report.read, report.created, report.errors) == (3, 3, [])
    assert sorted(Qualification.objects.values_list("certificate_no", "name", "id_number", "level", "exam_year",
                                                    "issuing_province")) == [
        ("2021035440000123", "李明", "44010419850612000X", "intermediate", 2021, "广东省"),
        ("ZS2021101", "王芳", "440104199001011232", "assistant", 2021, "广东省"),
        ("ZS2021103", "赵强", "440104199003071239", "senior", 2021, "广东省"),
    ]
    assert report.notes == [(6, "15-digit ID number 440104900307123 converted to 440104199003071239")]
    table = read_table(path, [*COLUMNS, ISSUED])
    assert table.sheet == "合格名单" and [line for line, _raw in table.rows] == [3, 4, 6]
    assert {parse_date(cells(raw, table.columns)["issued"]) for _line, raw in table.rows} == {
        datetime.date(2022, 3, 1)}


def test_an_ods_roster_written_by_odswriter_imports_and_reports_rows_by_their_numbers(db, tmp_path):
    path = tmp_path / "名单.ods"
    with open(path, "wb") as handle, odswriter.writer(handle) as ods:
        ods.new_sheet("说明").writerow(["请勿改动表头"])
        sheet = ods.new_sheet("名单")
        sheet.writerow(["2021年度合格人员名单"])
        sheet.writerow(["发证日期", "证书管理号", "级别", "公民身份号码", "姓名", "考试年度"])
        sheet.writerow([datetime.date(2022, 3, 1), 2021035440000124, "社会工作师", "440104199001011232", "王芳",
                        2021])
        sheet.writerow([datetime.datetime(2022, 3, 2, 0, 0), "ZS2", "社会工作师", "440104199001011233", "李明",
                        2021])
    report = qualifications_import(path=path, province="广东省")

    assert (report.read, report.created) == (2, 1)
    assert [(line, "check digit" in reason) for line, _raw, reason in report.errors] == [(4, True)]
    assert Qualification.objects.get().certificate_no == "2021035440000124"
    table = read_table(path, [*COLUMNS, ISSUED])
    assert [parse_date(cells(raw, table.columns)["issued"]) for _line, raw in table.rows] == [
        datetime.date(2022, 3, 1), datetime.date(2022, 3, 2)]


def test_an_xlsx_with_a_merged_title_and_line_breaks_in_the_header_reads(db, tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(["2021年度社会工作者职业水平考试合格人员名单"])
    ws.merge_cells("A1:F1")  # across the header's width
    ws.append(["姓名", "身份证\n号码", "证书\n级别", "证书管理号", "考试\r\n年度", "发证\n省份"])
    ws.append(["王芳", "440104199001011232", "社会工作师", "ZS1", 2021, "广东省"])
    path = tmp_path / "名单.xlsx"
    wb.save(path)

    table = read_table(path, COLUMNS)
    assert table.columns == {"name": 0, "id_number": 1, "level": 2, "certificate_no": 3, "exam_year": 4,
                             "issuing_province": 5}
    assert table.header[1] == "身份证\n号码" and table.rows == [
        (3, ["王芳", "440104199001011232", "社会工作师", "ZS1", 2021, "广东省"])]
    report = qualifications_import(path=path)
    assert (report.created, report.errors) == (1, [])
    assert Qualification.objects.filter(certificate_no="ZS1", id_number="440104199001011232", exam_year=2021,
                                        issuing_province="广东省").exists()


def test_iter_table_streams_the_rows_read_table_lists_with_their_excel_numbers(tmp_path):
    """The data begins at C3: calamine's row iterator starts each row at the first used column, the reader
    puts the columns left of it back, so the header's columns and the row numbers are those of Excel."""
    wb = Workbook()
    ws = wb.active
    ws["C3"], ws["D3"] = "姓名", "身份证号"
    ws["C4"], ws["D4"] = "王芳", "440104199001011232"
    ws["D6"] = "440104199001011233"  # no name: still a row
    ws["C8"].number_format = "@"  # formatted but empty: neither a row nor counted
    path = tmp_path / "a.xlsx"
    wb.save(path)
    columns = [Column("name", ("姓名",)), Column("id_number", ("身份证号",))]

    stream = iter_table(path, columns)
    assert (stream.header_line, stream.total, stream.columns) == (3, 3, {"name": 2, "id_number": 3})  # rows 4–6
    assert next(stream.rows) == (4, ["", "", "王芳", "440104199001011232"])
    assert list(stream.rows) == [(6, ["", "", "", "440104199001011233"])]
    assert read_table(path, columns).rows == [(4, ["", "", "王芳", "440104199001011232"]),
                                              (6, ["", "", "", "440104199001011233"])]


def test_iter_table_of_a_csv_counts_its_lines_for_the_progress(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("名单\r\n姓名,身份证号\r\n王芳,1\r\n\r\n李明,2\r\n".encode("gb18030"))
    stream = iter_table(path, [Column("name", ("姓名",)), Column("id_number", ("身份证号",))])
    assert (stream.header_line, stream.total) == (2, 3)
    assert list(stream.rows) == [(3, ["王芳", "1"]), (5, ["李明", "2"])]
