"""manage.py import_stations FILE.xlsx [--dry-run] | --template PATH"""

from swms.import_command import ImportCommand


class Command(ImportCommand):
    help = ("Import social work stations with their funding and operator (站点名称, 所在地区, 地址, 联系人, 联系电话, "
            "2025年资金(万元), 承办机构统一社会信用代码 ...).")
    kind = "stations"
