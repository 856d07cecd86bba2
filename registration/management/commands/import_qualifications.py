"""manage.py import_qualifications FILE.xlsx [--dry-run] [--province 广东省] | --template PATH"""

from swms.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import the exam pass list (姓名, 身份证号, 证书级别, 证书管理号, 考试年度) from Excel."
    kind = "roster"

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--province", default="", help="Issuing province when the file has no 发证省份 column")

    def run_options(self, options):
        return {"province": options["province"]}
