"""manage.py import_clients FILE.xlsx [--dry-run] | --template PATH"""

from swms.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import the clients of stations (站点编号, 姓名, 身份证号, 出生日期, 人员类别 ...)."
    kind = "clients"
