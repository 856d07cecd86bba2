"""manage.py freeze_overdue_registrations [--dry-run] [--date YYYY-MM-DD]"""

import datetime

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from registration.freeze import registrations_freeze_overdue


class Command(BaseCommand):
    help = "Freeze registrations not renewed within their province's grace period."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--date", type=datetime.date.fromisoformat, default=None)

    def handle(self, *args, dry_run, date, **options):
        count = registrations_freeze_overdue(today=date, dry_run=dry_run)
        message = _("%(count)d registrations to freeze (dry run).") if dry_run else _("%(count)d registrations frozen.")
        self.stdout.write(message % {"count": count})
