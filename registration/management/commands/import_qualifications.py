"""manage.py import_qualifications FILE.xlsx [--dry-run] [--province 广东省]"""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from registration.roster_import import RosterImportError, qualifications_import


class Command(BaseCommand):
    help = "Import the exam pass list (姓名, 身份证号, 证书级别, 证书管理号, 考试年度) from Excel."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument("--province", default="", help="Issuing province when the file has no 发证省份 column")

    def handle(self, *args, file, dry_run, province, **options):
        started = time.monotonic()

        def progress(done, total):
            self.stdout.write(_("%(done)d / %(total)d rows checked") % {"done": done, "total": total})

        try:
            report = qualifications_import(path=file, province=province, dry_run=dry_run, progress=progress)
        except RosterImportError as e:
            raise CommandError(str(e)) from e
        summary = _(
            "%(read)d rows read: %(created)d created, %(updated)d updated, %(unchanged)d unchanged, "
            "%(errors)d with errors (%(seconds).1f s)."
        ) % {
            "read": report.read, "created": report.created, "updated": report.updated,
            "unchanged": report.unchanged, "errors": len(report.errors), "seconds": time.monotonic() - started,
        }
        if dry_run:
            summary = _("Dry run, nothing written. ") + summary
        self.stdout.write(self.style.SUCCESS(summary) if not report.errors else self.style.WARNING(summary))
        if report.error_file:
            self.stdout.write(_("Rows with errors are listed in %(file)s") % {"file": report.error_file})
