"""The shared reader's values (issue #15): messy workbooks built here, read back with calamine."""

import datetime

import pytest
from django.utils import translation
from openpyxl import Workbook
from python_calamine import CalamineWorkbook
from stdnum.cn import ric

from swms.import_values import (
    Column,
    ImportValueError,
    clean,
    find_header,
    header_key,
    parse_date,
    parse_id_number,
    parse_year,
)

ROSTER = [Column("id_number", ("身份证号", "身份证号码", "公民身份号码")), Column("name", ("姓名",)),
          Column("level", ("级别", "证书级别")), Column("exam_year", ("考试年度", "年度"), required=False)]


def _rows(tmp_path, rows, merge=None):
    """Write the rows with openpyxl (as Excel or WPS would save them) and read them back with calamine."""
    wb = Workbook()
    ws = wb.active
    for row in rows:
        ws.append(row)
    if merge:
        ws.merge_cells(merge)
    path = tmp_path / "roster.xlsx"
    wb.save(path)
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)


def test_the_header_is_found_under_title_unit_and_note_rows_with_spaces_breaks_and_synonyms(tmp_path):
    rows = _rows(tmp_path, [
        ["2025年度社会工作者职业资格考试合格人员名单"],
        ["填报单位：某市民政局", None, "单位：人"],
        [],
        ["备注", "本表由人社部门提供", None, None, "多余的列"],
        ["年 度", "姓\n名", "公民身份号码", "证书级别 *", "联系电话"],
        ["２０２４年", "张\u00a0三 ", "440104199003071234", "助理社会工作师", "13800000000"],
    ], merge="A1:E1")
    index, columns = find_header(rows, ROSTER)
    assert index == 4 and columns == {"exam_year": 0, "name": 1, "id_number": 2, "level": 3}
    body = rows[index + 1]
    assert clean(body[columns["name"]]) == "张 三" and parse_year(body[columns["exam_year"]]) == 2024


def test_a_missing_column_is_named_and_nothing_is_guessed(tmp_path):
    rows = _rows(tmp_path, [["名单"], ["姓名", "级别"], ["张三", "助理社会工作师"]])
    with translation.override("zh-hans"), pytest.raises(ImportValueError, match="身份证号"):
        find_header(rows, ROSTER)


def test_header_labels_compare_without_spaces_full_width_forms_or_required_marks():
    assert header_key(" 身份证\n号码 ＊") == header_key("身份证号码") == "身份证号码"
    assert header_key("ＩＤ　号") == "ID号"


@pytest.mark.parametrize("value, year", [(2021, 2021), (2021.0, 2021), ("2021", 2021), ("2021年", 2021),
                                         ("２０２１年", 2021), (" 2021.0 ", 2021)])
def test_years_as_people_write_them(value, year):
    assert parse_year(value) == year


@pytest.mark.parametrize("value", ["二〇二一", "21", "2021.5", "", None])
def test_what_is_not_a_year_is_said_so(value):
    with pytest.raises(ImportValueError):
        parse_year(value)


@pytest.mark.parametrize("value", ["2021-05-01", "2021/5/1", "2021.5.1", "2021年5月1日", "20210501", 20210501,
                                   44317, 44317.0, datetime.date(2021, 5, 1), datetime.datetime(2021, 5, 1, 8, 30),
                                   "２０２１－０５－０１", " 2021/05/01\u00a0"])
def test_dates_in_every_spelling_and_as_excel_serial_numbers(value):
    assert parse_date(value) == datetime.date(2021, 5, 1)


@pytest.mark.parametrize("value", ["2021-02-30", "5/1/2021", "明年", ""])
def test_what_is_not_a_date_is_said_so(value):
    with pytest.raises(ImportValueError):
        parse_date(value)


def _check(body17):
    return ric.calc_check_digit(body17 + "0")  # it reads the first 17 of the 18 characters it is given


def _valid_id(body17="44010419900307123"):
    return body17 + _check(body17)


def test_id_numbers_lower_case_x_spaces_and_full_width_digits():
    with_x = next(b + "X" for b in (f"11010119900307{n:03d}" for n in range(1000)) if _check(b) == "X")
    assert parse_id_number(with_x.lower()).value == with_x
    plain = _valid_id()
    assert parse_id_number(" " + plain[:6] + " " + plain[6:] + "\u00a0").value == plain
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in plain)
    assert parse_id_number(full_width).value == plain


def test_an_id_stored_as_a_number_is_reported_as_lost_digits_not_as_a_checksum_error(tmp_path):
    plain = _valid_id()
    rows = _rows(tmp_path, [["身份证号"], [int(plain)]])  # Excel keeps 15 significant digits of a number
    with translation.override("zh-hans"):
        for stored in (rows[1][0], float(plain), "4.40104E+17"):
            with pytest.raises(ImportValueError) as e:
                parse_id_number(stored)
            assert str(e.value) == "身份证号被存成了数字，末几位已丢失，请把该列设为文本后重新填写"


def test_a_15_digit_legacy_number_is_converted_to_18_and_flagged(tmp_path):
    legacy = "440104900307123"  # born 1990-03-07
    converted = parse_id_number(legacy)
    assert converted.value[:17] == "44010419900307123" and ric.is_valid(converted.value)
    assert converted.converted_from == legacy
    rows = _rows(tmp_path, [["身份证号"], [int(legacy)]])  # a 15-digit number survives a number cell
    assert parse_id_number(rows[1][0]) == converted


@pytest.mark.parametrize("value", ["44010419900307123", "440104199013071234", "abc", ""])
def test_bad_id_numbers_say_what_is_wrong(value):
    with pytest.raises(ImportValueError):
        parse_id_number(value)


def test_the_checksum_message_keeps_the_number_as_written():
    body = "44010419900307123"
    wrong = body + next(d for d in "0123456789X" if d != _check(body))
    with translation.override("en"), pytest.raises(ImportValueError) as e:
        parse_id_number(wrong)
    assert str(e.value) == f"{wrong}: The check digit of this ID number is wrong."


def test_a_retired_address_code_is_not_an_error():
    """The code is the residence at first issue, not at birth: python-stdnum's own check would refuse it."""
    retired = _valid_id("44230019900307123")  # 广东 4423xx (汕头地区, before 1983)
    assert not ric.is_valid(retired) and parse_id_number(retired).value == retired


@pytest.mark.parametrize("province", ["00", "19", "99", "10", "47", "84"])
def test_an_id_number_whose_first_two_digits_are_no_province_is_refused(province):
    """I1: checksum and birth date right, but no province-level division of GB/T 2260 has this code."""
    from django.core.exceptions import ValidationError

    from swms.ids import validate_ric

    number = _valid_id(f"{province}010419900307123")
    assert ric.calc_check_digit(number) == number[17]  # the check digit itself is right
    with pytest.raises(ValidationError) as refused:
        validate_ric(number)
    assert refused.value.code == "province"
    with translation.override("en"):
        assert "not a province code" in " ".join(refused.value.messages)
        with pytest.raises(ImportValueError, match="not a province code"):
            parse_id_number(number)


@pytest.mark.parametrize("province", ["11", "15", "23", "37", "46", "50", "65", "71", "81", "82", "83"])
def test_every_province_level_code_is_accepted(province):
    from swms.ids import validate_ric

    number = _valid_id(f"{province}010419900307123")
    assert validate_ric(number) == number


def _with_check_digit(body17: str) -> str:
    from stdnum.cn import ric

    return body17 + ric.calc_check_digit(body17 + "0")


def test_an_id_number_born_tomorrow_is_refused_and_one_born_today_accepted():
    """The birth-date bound follows the local date (Asia/Shanghai), also around the server's midnight."""
    import datetime

    from django.core.exceptions import ValidationError
    from django.utils import timezone
    from freezegun import freeze_time

    from swms.ids import validate_ric

    # 16:30 UTC is already the next day in Shanghai.
    with freeze_time("2026-03-01 16:30:00", tz_offset=0), translation.override("en"):
        today = timezone.localdate()
        assert today == datetime.date(2026, 3, 2)
        born_today = _with_check_digit(f"440104{today:%Y%m%d}123")
        assert validate_ric(born_today) == born_today
        tomorrow = today + datetime.timedelta(days=1)
        with pytest.raises(ValidationError, match="not possible"):
            validate_ric(_with_check_digit(f"440104{tomorrow:%Y%m%d}123"))
        with pytest.raises(ValidationError, match="not possible"):
            validate_ric(_with_check_digit("440104189912311230"[:17]))
