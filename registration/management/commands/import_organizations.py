"""manage.py import_organizations FILE.xlsx [--dry-run] | --template PATH"""

from swms.import_command import ImportCommand


class Command(ImportCommand):
    help = ("Import social work service organizations registered with the civil-affairs bureau, as approved, with "
            "login-less accounts (统一社会信用代码, 机构名称, 法定代表人, 所在地区, 住所, 联系人, 联系电话, 登记管理机关).")
    kind = "organizations"
