"""Walk the security event log's hash chain (accounts/audit_chain.py) and report the first broken link."""

from django.core.management.base import BaseCommand, CommandError

from accounts import audit_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the security event log; exits non-zero at the first broken link."

    def handle(self, *args, **options):
        checked, broken = audit_chain.verify()
        if broken is not None:
            raise CommandError(f"Audit chain broken at security event {broken} ({checked} rows read).")
        self.stdout.write(f"Audit chain intact: {checked} security events verified.")
