import time

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from reports.aggregates import rebuild


class Command(BaseCommand):
    help = "Rebuild the statistics aggregates (reports.StatCount) from the records."

    def handle(self, *args, **options):
        started = time.monotonic()
        rows = rebuild()
        self.stdout.write(_("Statistics rebuilt: %(rows)s buckets in %(seconds).1f s.")
                          % {"rows": rows, "seconds": time.monotonic() - started})
