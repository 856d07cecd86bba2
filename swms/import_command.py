"""The shared body of the Excel import commands: progress, summary, error workbook, exit code."""

import abc
import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from .xlsx_import import ImportFileError


class ImportCommand(BaseCommand, abc.ABC):
    """Subclasses set `help` and implement `run(path, dry_run, progress, **options)` → ImportReport."""

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")

    @abc.abstractmethod
    def run(self, *, path, dry_run, progress, **options):
        """Read and import `path` (nothing written on a dry run); return the ImportReport."""

    def handle(self, *args, file, dry_run, **options):
        started = time.monotonic()

        def progress(done, total):
            self.stdout.write(_("%(done)d / %(total)d rows checked") % {"done": done, "total": total})

        try:
            report = self.run(path=file, dry_run=dry_run, progress=progress, **options)
        except ImportFileError as e:
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
        for line, note in report.notes[:20]:
            self.stdout.write(_("Row %(line)d: %(note)s") % {"line": line, "note": note})
        if len(report.notes) > 20:
            self.stdout.write(_("… and %(count)d more rows changed on reading.") % {"count": len(report.notes) - 20})
        if report.error_file:
            self.stdout.write(_("Rows with errors are listed in %(file)s") % {"file": report.error_file})
