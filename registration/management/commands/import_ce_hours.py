"""manage.py import_ce_hours FILE.xlsx [--dry-run]"""

from registration.ce_import import ce_hours_import
from swms.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import providers' continuing-education hours (身份证号, 姓名, 培训机构, 课程名称, 学时, 完成日期, 记录编号)."

    def run(self, *, path, dry_run, progress, **options):
        return ce_hours_import(path=path, dry_run=dry_run, progress=progress)
