"""manage.py export_exchange --province 440000 [--full] [--period YYYY-MM] [--out DIR]"""

import shutil
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from exchange.services import ExchangeError, export_package, find_province


class Command(BaseCommand):
    help = ("Export the province's data return for the national exchange (docs/exchange.md): incremental since "
            "the last acknowledged package, or full.")

    def add_arguments(self, parser):
        parser.add_argument("--province", required=True, help="Province division code, e.g. 440000")
        parser.add_argument("--full", action="store_true", help="Every row, not only the changes")
        parser.add_argument("--period", default=None, help="The month reported, YYYY-MM (default: this month)")
        parser.add_argument("--out", default=None, help="Also copy the package into this directory")

    def handle(self, *args, province, full, period, out, **options):
        try:
            package = export_package(find_province(province), full=full, period=period)
        except ExchangeError as e:
            raise CommandError(str(e)) from e
        self.stdout.write(self.style.SUCCESS(
            _("Package %(id)d written: %(file)s (%(kind)s, period %(period)s).") % {
                "id": package.pk, "file": package.file.name, "kind": package.get_kind_display(),
                "period": package.period}))
        for name, entry in package.manifest["files"].items():
            self.stdout.write(_("%(file)s: %(rows)d rows") % {"file": name, "rows": entry["rows"]})
        self.stdout.write(_("SHA-256: %(sha256)s") % {"sha256": package.sha256})
        if out:
            target = Path(out)
            target.mkdir(parents=True, exist_ok=True)
            target = target / Path(package.file.name).name
            with package.file.open("rb") as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
            self.stdout.write(_("Copied to %(path)s") % {"path": target})
        self.stdout.write(_("The package holds ID numbers in full: move it over a protected channel only."))
