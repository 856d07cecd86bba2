"""Import administrative divisions from a CSV file (code,name,level,parent_code)."""

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.regions_import import RegionImportError, format_error, regions_import
from swms.xlsx_import import unreadable_file_message


class Command(BaseCommand):
    help = (
        "Import regions from a CSV file (code,name,level,parent_code). All or nothing: with any error "
        "nothing is written. Existing regions keep their primary keys; regions not in the file are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV file, e.g. data/regions/guangdong-2025.csv")
        parser.add_argument(
            "--province", help="Import only this province (name or 12-digit code), e.g. 广东省"
        )

    def handle(self, *args, file, province=None, **options):
        started = time.monotonic()
        verbose = options.get("verbosity", 1) >= 1
        try:
            result = regions_import(path=file, province=province, stdout=self.stdout if verbose else None)
        except OSError as exc:
            raise CommandError(unreadable_file_message(file, exc)) from exc
        except RegionImportError as exc:
            for line, message in exc.errors:
                self.stderr.write(format_error(line, message))
            raise CommandError(
                _("%(count)d errors in %(file)s; nothing was imported.")
                % {"count": len(exc.errors), "file": file}
            ) from exc
        self.stdout.write(
            _(
                "Regions imported from %(file)s in %(seconds).1f s: %(created)d created, %(updated)d updated, "
                "%(unchanged)d unchanged, %(kept)d kept (not in file), %(renumbered)d renumbered."
            )
            % {
                "file": file,
                "seconds": time.monotonic() - started,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "kept": result.kept,
                "renumbered": result.renumbered,
            }
        )
