"""manage.py acknowledge_exchange <package id or SHA-256>"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from exchange.services import ExchangeError, acknowledge_package


class Command(BaseCommand):
    help = ("Record that the national side imported an exchange package; the next incremental package starts "
            "at its cut-off.")

    def add_arguments(self, parser):
        parser.add_argument("package", help="The package's id, or its SHA-256 (at least 8 characters)")

    def handle(self, *args, package, **options):
        try:
            found, new = acknowledge_package(package)
        except ExchangeError as e:
            raise CommandError(str(e)) from e
        local = timezone.localtime
        if not new:
            self.stdout.write(self.style.WARNING(_("Package %(id)d was already acknowledged on %(date)s.") % {
                "id": found.pk, "date": f"{local(found.acknowledged_at):%Y-%m-%d %H:%M}"}))
            return
        self.stdout.write(self.style.SUCCESS(
            _("Package %(id)d (%(period)s, %(kind)s) acknowledged; the next incremental package holds the changes "
              "since %(until)s.") % {"id": found.pk, "period": found.period, "kind": found.get_kind_display(),
                                     "until": f"{local(found.until):%Y-%m-%d %H:%M}"}))
