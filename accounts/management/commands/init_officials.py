"""Account initialization of the national rollout (民办函〔2021〕4号): one official per region."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.models import Region, RegionLevel
from accounts.services import officials_initialize


class Command(BaseCommand):
    help = "Create one official account per region of a province and write the initial passwords to Excel."

    def add_arguments(self, parser):
        parser.add_argument("--province", required=True, help="Province name or 12-digit code, e.g. 广东省")
        parser.add_argument(
            "--levels",
            default="province,city,county",
            help="Comma-separated region levels to create accounts for (province,city,county,town).",
        )
        parser.add_argument("--out", required=True, help="Excel file (.xlsx) for the usernames and passwords")

    def handle(self, *args, province, levels, out, **options):
        wanted = [lv.strip() for lv in levels.split(",") if lv.strip()]
        unknown = [lv for lv in wanted if lv not in RegionLevel.values]
        if unknown:
            raise CommandError(_("Unknown level: %(levels)s") % {"levels": ", ".join(unknown)})
        root = Region.objects.filter(level=RegionLevel.PROVINCE).filter(name=province).first() or (
            Region.objects.filter(level=RegionLevel.PROVINCE, code=province).first()
        )
        if root is None:
            raise CommandError(_("No province named %(name)s; import the regions first.") % {"name": province})
        out_path = Path(out)
        if out_path.suffix.lower() != ".xlsx":
            raise CommandError(_("The output file must end in .xlsx."))

        def progress(done, total):
            if done % 100 == 0 or done == total:
                self.stdout.write(_("%(done)d / %(total)d regions") % {"done": done, "total": total})

        rows, skipped = officials_initialize(root=root, levels=wanted, progress=progress)

        wb = Workbook()
        ws = wb.active
        ws.title = _("Initial accounts")
        header = [_("Division code"), _("Region"), _("Level"), _("Username"), _("Initial password")]
        ws.append(header)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for user, password in rows:
            r = user.region
            ws.append([r.code, r.full_name(), r.get_level_display(), user.username, password])
        for col, width in zip("ABCDE", (16, 30, 10, 18, 18), strict=True):
            ws.column_dimensions[col].width = width
        out_path.parent.mkdir(parents=True, exist_ok=True)
        wb.save(out_path)
        self.stdout.write(
            self.style.SUCCESS(
                _("Created %(created)d accounts, %(skipped)d regions already had one. Passwords written to %(out)s")
                % {"created": len(rows), "skipped": skipped, "out": out_path}
            )
        )
