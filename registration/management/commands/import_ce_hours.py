"""manage.py import_ce_hours FILE.xlsx [--dry-run] | --template PATH"""

from swms.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import providers' continuing-education hours (身份证号, 姓名, 培训机构, 课程名称, 学时, 完成日期, 记录编号)."
    kind = "ce_hours"
