"""manage.py import_registrations FILE.xlsx [--dry-run] | --template PATH"""

from swms.import_command import ImportCommand


class Command(ImportCommand):
    help = ("Import the registrations made before this system (姓名, 身份证号, 手机号码, 证书级别, 证书管理号, "
            "登记证书编号, 登记类型, 有效期起, 有效期止, 登记机关, 登记状态, 执业地区, 工作单位): the workers' "
            "accounts to claim, their registration history and current registration.")
    kind = "registrations"
