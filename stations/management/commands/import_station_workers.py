"""manage.py import_station_workers FILE.xlsx [--dry-run] | --template PATH"""

from swms.import_command import ImportCommand


class Command(ImportCommand):
    help = "Import the workers of stations (站点编号, 姓名, 身份证号, 证书级别, 是否站长 ...)."
    kind = "station_workers"
