"""A file an import cannot read is explained in Chinese with what to do, never in the reading library's
English ("Cannot detect file format", "invalid Zip archive", "Cfb error")."""

import re
import zipfile

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation

CJK = re.compile(r"[\u4e00-\u9fff]")
LIBRARY_WORDS = ("zip", "eocd", "detect", "cfb", "ole", "calamine", "os error", "_rels")


def _bad_files(tmp_path):
    (tmp_path / "text.xlsx").write_text("这不是表格")
    (tmp_path / "roster.csv").write_text("姓名,身份证号\n张三,110105194912310029\n")
    with zipfile.ZipFile(tmp_path / "other.xlsx", "w") as z:
        z.writestr("readme.txt", "not a workbook")
    (tmp_path / "legacy.xls").write_bytes(b"hello, not an OLE file")
    (tmp_path / "truncated.xlsx").write_bytes(b"PK\x03\x04" + b"\0" * 40)
    (tmp_path / "empty.xlsx").write_bytes(b"")
    (tmp_path / "binary.csv").write_bytes(b"\xff\x80\x00\xfe\xff")
    return {
        "text.xlsx": "Excel",
        "roster.csv": "表头",  # a CSV is read (UTF-8 or GBK); this one lacks columns, and says which
        "binary.csv": "既不是 UTF-8 也不是 GBK",
        "other.xlsx": "损坏",
        "legacy.xls": "损坏",
        "truncated.xlsx": "损坏",
        "empty.xlsx": "0 字节",
        "missing.xlsx": "不存在",
    }


@pytest.mark.parametrize("command", ["import_qualifications", "import_ce_hours"])
def test_unreadable_files_are_explained_in_chinese(db, tmp_path, command):
    with translation.override("zh-hans"):
        for name, expected in _bad_files(tmp_path).items():
            with pytest.raises(CommandError) as caught:
                call_command(command, str(tmp_path / name))
            message = str(caught.value)
            assert CJK.search(message), message
            assert expected in message, message
            assert not any(word in message.lower() for word in LIBRARY_WORDS), message


def test_missing_region_file_is_explained_in_chinese(db, tmp_path):
    with translation.override("zh-hans"), pytest.raises(CommandError) as caught:
        call_command("import_regions", str(tmp_path / "regions.csv"))
    assert "不存在" in str(caught.value) and "os error" not in str(caught.value).lower()


def test_region_file_in_gbk_says_how_to_save_it(db, tmp_path, capsys):
    path = tmp_path / "regions.csv"
    path.write_bytes("code,name,level,parent_code\n440000000000,广东省,province,\n".encode("gbk"))
    with translation.override("zh-hans"), pytest.raises(CommandError):
        call_command("import_regions", str(path))
    assert "UTF-8" in capsys.readouterr().err
