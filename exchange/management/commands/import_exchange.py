"""manage.py import_exchange PACKAGE.zip [--office 000000]"""

import getpass

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from exchange.services import ExchangeError, find_region, import_package


class Command(BaseCommand):
    help = ("Import a province's exchange package (docs/exchange.md): checked whole first, then written in one "
            "transaction; a package already imported writes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("package", help="The package's .zip file")
        parser.add_argument("--office", default=None,
                            help="Division code of the importing office; the package's province must lie in "
                                 "its subtree (default: none, an operator importing any province)")

    def handle(self, *args, package, office, **options):
        try:
            office_region = find_region(office) if office else None
        except ExchangeError as e:
            raise CommandError(str(e)) from e
        try:
            operator = getpass.getuser()
        except (KeyError, OSError):
            operator = ""
        try:
            result = import_package(package, office_region, imported_by=operator)
        except ExchangeError as e:
            raise CommandError(_("Package refused, nothing was imported. %(reason)s") % {"reason": e}) from e
        record = result.record
        if result.already_imported:
            self.stdout.write(self.style.WARNING(
                _("This package was already imported on %(date)s; nothing was written.") % {
                    "date": f"{timezone.localtime(record.imported_at):%Y-%m-%d %H:%M}"}))
            return
        self.stdout.write(self.style.SUCCESS(
            _("Imported the package of %(province)s, period %(period)s (%(kind)s).") % {
                "province": record.province.name, "period": record.period, "kind": record.get_kind_display()}))
        for name, c in record.counts.items():
            self.stdout.write(
                _("%(file)s: %(rows)d rows, %(created)d created, %(updated)d updated, %(unchanged)d unchanged")
                % {"file": name, **c})
        self.stdout.write(_("The province acknowledges it with: manage.py acknowledge_exchange %(sha256)s") % {
            "sha256": record.sha256})
