"""Walk the security event log's hash chain (accounts/audit_chain.py) and report the first broken link; with
--shipped, also compare the table with the lines the `swms.audit` logger shipped off the box."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts import audit_chain


class Command(BaseCommand):
    help = "Verify the hash chain of the security event log; exits non-zero at the first broken link."

    def add_arguments(self, parser):
        parser.add_argument(
            "--shipped", action="append", default=[], metavar="FILE",
            help="A log file shipped off the box (text or JSON lines of the swms.audit logger); may be repeated.",
        )

    def handle(self, *args, **options):
        checked, broken = audit_chain.verify()
        if broken is not None:
            raise CommandError(f"Audit chain broken at security event {broken} ({checked} rows read).")
        self.stdout.write(f"Audit chain intact: {checked} security events verified.")
        if not options["shipped"]:
            return
        lines = []
        for name in options["shipped"]:
            with Path(name).open(encoding="utf-8", errors="replace") as handle:
                lines.extend(handle)
        result = audit_chain.verify_shipped(lines)
        problems = []
        if result.missing:
            problems.append(f"{len(result.missing)} shipped events are missing from the table "
                            f"(first #{result.missing[0]})")
        if result.changed:
            problems.append(f"{len(result.changed)} events differ from their shipped hash (first #{result.changed[0]})")
        if result.tail_cut:
            problems.append("the table ends before the last shipped event (its tail was cut off)")
        if problems:
            raise CommandError("Security event log does not match the shipped log: " + "; ".join(problems) + ".")
        self.stdout.write(f"Shipped log matches: {result.lines} shipped events compared.")
