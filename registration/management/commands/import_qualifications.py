"""manage.py import_qualifications FILE.xlsx [--dry-run] [--province 广东省]"""

from registration.roster_import import qualifications_import
from swms.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import the exam pass list (姓名, 身份证号, 证书级别, 证书管理号, 考试年度) from Excel."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--province", default="", help="Issuing province when the file has no 发证省份 column")

    def run(self, *, path, dry_run, progress, province="", **options):
        return qualifications_import(path=path, province=province, dry_run=dry_run, progress=progress)
