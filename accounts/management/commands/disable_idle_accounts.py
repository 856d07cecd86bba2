"""Deactivate accounts nobody has used for a while (SECURITY.md A1: no stale accounts).

Run daily (cron or celery beat). An account is idle when its last login, or its creation if it never
logged in, is older than --days (default SWMS_ACCOUNT_IDLE_DAYS). A reactivation or an
administrator's password reset within that window counts as activity, so an account a superior
office has just reopened is not closed again before its holder could log in. An account without a
password that never logged in (imported, waiting to be claimed or set up) is left alone. Superusers are left
alone: operators are audited separately and must not lock themselves out.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import SecurityEvent, User
from accounts.services import security_event_record, sessions_end_for


class Command(BaseCommand):
    help = (
        "Deactivate active non-superuser accounts idle for more than N days (default SWMS_ACCOUNT_IDLE_DAYS)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--days", type=int, default=None, help="Idle days (default: SWMS_ACCOUNT_IDLE_DAYS)."
        )
        parser.add_argument("--dry-run", action="store_true", help="Only list the accounts.")

    def handle(self, *args, days=None, dry_run=False, **options):
        days = settings.SWMS_ACCOUNT_IDLE_DAYS if days is None else days
        if days < 1:
            raise CommandError("--days must be at least 1.")
        cutoff = timezone.now() - timedelta(days=days)
        recently_reopened = SecurityEvent.objects.filter(
            kind__in=[SecurityEvent.Kind.ACCOUNT_ACTIVATED, SecurityEvent.Kind.PASSWORD_RESET],
            created_at__gte=cutoff,
            target__isnull=False,
        ).values("target_id")
        idle = (
            # Operators (三员) are kept: the security administrator is who re-enables accounts.
            User.objects.filter(is_active=True, is_superuser=False, operator_role="")
            .filter(Q(last_login__lt=cutoff) | Q(last_login__isnull=True, date_joined__lt=cutoff))
            .exclude(pk__in=recently_reopened)
            # Accounts brought in by an import that nobody has taken over yet (a worker's to claim, a station's
            # or organization's whose password an official sets): no password, nothing to guess or misuse.
            .exclude(Q(last_login__isnull=True) & Q(password__startswith=UNUSABLE_PASSWORD_PREFIX))
            .order_by("pk")
        )
        count = 0
        for pk in list(idle.values_list("pk", flat=True)):
            with transaction.atomic():
                # Re-check under the row lock: the holder may have logged in meanwhile.
                user = idle.select_for_update(of=("self",)).filter(pk=pk).first()
                if user is None:
                    continue
                if dry_run:
                    self.stdout.write(user.username)
                    count += 1
                    continue
                user.is_active = False
                user.save(update_fields=["is_active"])
                security_event_record(
                    kind=SecurityEvent.Kind.ACCOUNT_DEACTIVATED, target=user, detail="idle", success=True
                )
            if not dry_run:
                sessions_end_for(user)
            count += 1
        verb = "Would deactivate" if dry_run else "Deactivated"
        self.stdout.write(f"{verb} {count} idle account(s) (no use for more than {days} days).")
