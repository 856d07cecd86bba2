"""Delete what is past its retention (swms/retention.py): old security events, login attempts and certificate
lookups (SWMS_LOG_RETENTION_DAYS, at least 180), expired export and import files, leftover temporary files and
expired sessions. The review log and the change history are kept."""

from django.core.management.base import BaseCommand

from swms import retention


class Command(BaseCommand):
    help = "Purge records and files past their retention period (--dry-run: only count them)."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count what would be deleted; delete nothing.")

    def handle(self, *args, dry_run=False, **options):
        counts = retention.purge(dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for what, count in counts.items():
            self.stdout.write(f"{what.replace('_', ' ')}: {verb} {count}")
