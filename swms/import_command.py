"""The shared body of the import commands: template, progress bar, summary, error workbook, exit code."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from .imports import get_kind, template_filename, write_template
from .xlsx_import import ImportFileError


class ImportCommand(BaseCommand):
    """A command per import kind: subclasses set `kind` (a key of swms.imports) and `help`, and may add
    options, which are passed to the kind's `run` as keyword arguments (see `run_options`)."""

    kind: str = ""

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?", help="The .xlsx, .xls, .ods or .csv file to import.")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")
        parser.add_argument("--template", metavar="PATH",
                            help="Write the import template (header, example row, explanations) to PATH and stop.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def run_options(self, options) -> dict:
        """The command's own options passed on to the kind's run function."""
        return {}

    def handle(self, *args, file, dry_run, template, no_progress, **options):
        kind = get_kind(self.kind)
        if template:
            target = Path(template)
            if target.is_dir():
                target = target / template_filename(kind)
            with open(target, "wb") as handle:
                write_template(kind, handle)
            self.stdout.write(_("Template written to %(file)s") % {"file": target})
            return
        if not file:
            raise CommandError(_("Give the file to import, or --template PATH to get the template."))
        started = time.monotonic()
        bar = None

        def progress(done, total):
            nonlocal bar
            if no_progress:
                return
            if bar is None:
                bar = tqdm(total=total, unit=_("rows"), file=self.stderr, dynamic_ncols=True, mininterval=0.5,
                           desc=str(kind.label))
            bar.update(done - bar.n)

        try:
            report = kind.run(path=file, dry_run=dry_run, progress=progress, **self.run_options(options))
        except ImportFileError as e:
            raise CommandError(str(e)) from e
        finally:
            if bar is not None:
                bar.close()
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
