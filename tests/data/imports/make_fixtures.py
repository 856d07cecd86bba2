"""Makes roster.xls and roster.ods, the real legacy-Excel and OpenDocument files of tests/test_import_formats.py.

No maintained Python package writes .xls (xlwt's last release is from 2017), so both are written by LibreOffice
Calc, as an office would save them: a source workbook is built with openpyxl and LibreOffice converts it.
Run once, from the project root, where LibreOffice is installed (Debian: libreoffice-calc-nogui):

    .venv/bin/python tests/data/imports/make_fixtures.py

The files are committed; the tests do not need LibreOffice.
"""

import datetime
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).resolve().parent
TITLE = "2021年度社会工作者职业水平考试合格人员名单"
HEADER = ["序号", "姓名", "身份证号码", "证书级别", "证书管理号", "考试年度", "发证日期"]
ISSUED = datetime.date(2022, 3, 1)
ROWS = [
    [1, "王芳", "440104199001011232", "助理社会工作师", "ZS2021101", 2021, ISSUED],
    [2, "李明", "44010419850612000x", "社会工作师", 2021035440000123, 2021, ISSUED],  # the number typed as a number
    None,  # a blank row in the middle
    [3, "赵强", "440104900307123", "高级社会工作师", "ZS2021103", "2021年", ISSUED],  # a 15-digit legacy number
]


def source_workbook(path: Path) -> None:
    wb = Workbook()
    notes = wb.active
    notes.title = "填表说明"
    notes.append(["本表请勿改动表头；身份证号码一列请设为文本。"])
    ws = wb.create_sheet("合格名单")
    ws.append([TITLE])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADER))
    ws.append(HEADER)
    for row in ROWS:
        ws.append(row or [])
    for line in range(3, 3 + len(ROWS)):
        ws.cell(row=line, column=3).number_format = "@"  # the ID column as text
        ws.cell(row=line, column=7).number_format = "yyyy-mm-dd"
    wb.save(path)


def main() -> int:
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        print("LibreOffice (soffice) is not installed")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "roster.xlsx"
        source_workbook(source)
        for target in ("xls", "ods"):
            subprocess.run([soffice, "--headless", f"-env:UserInstallation=file://{tmp}/profile", "--convert-to",
                            target, "--outdir", str(HERE), str(source)], check=True, capture_output=True)
            print(HERE / f"roster.{target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
