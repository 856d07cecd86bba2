"""Demo accounts for every role on the Guangdong tree (for `make demo` only, never in production)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Region, User, UserKind

DEMO_PASSWORD = "Swms@Demo2026"

# username, kind, region code, full name, extra fields
DEMO_ACCOUNTS = [
    ("demo_province", UserKind.OFFICIAL, "440000000000", "广东省民政厅 (演示)", {}),
    ("demo_city", UserKind.OFFICIAL, "440100000000", "广州市民政局 (演示)", {}),
    ("demo_county", UserKind.OFFICIAL, "440104000000", "越秀区民政局 (演示)", {}),
    ("demo_county2", UserKind.OFFICIAL, "440103000000", "荔湾区民政局 (演示)", {}),
    ("demo_dongguan", UserKind.OFFICIAL, "441900000000", "东莞市民政局 (演示)", {}),
    ("demo_worker", UserKind.SOCIAL_WORKER, None, "张社工 (演示)",
     {"phone": "13800138000", "id_number": "11010519491231002X", "email": "worker@example.com"}),
    ("demo_org", UserKind.ORGANIZATION, "440104000000", "越秀区阳光社会工作服务中心 (演示)", {}),
    ("demo_station", UserKind.STATION, "440104001000", "洪桥街道社工站 (演示)", {}),
]


class Command(BaseCommand):
    help = "Create or refresh the demo accounts (one per role) and print their logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD)

    @transaction.atomic
    def handle(self, *args, password, **options):
        # Demo accounts share a published password: never in production, nor on a real database.
        if settings.SWMS_PRODUCTION or (
            not settings.DEBUG and "sqlite" not in settings.DATABASES["default"]["ENGINE"]
        ):
            raise CommandError("seed_demo is for the embedded demo (SQLite or DEBUG) only.")
        rows = []
        for username, kind, code, full_name, extra in DEMO_ACCOUNTS:
            region = None
            if code:
                region = Region.objects.filter(code=code).first()
                if region is None:
                    raise CommandError(f"Region {code} is missing: run import_regions on the Guangdong file first.")
            user, _ = User.objects.update_or_create(
                username=username,
                defaults={"kind": kind, "region": region, "full_name": full_name, "is_active": True,
                          "must_change_password": False, "password_changed_at": timezone.now(), **extra},
            )
            user.set_password(password)
            user.save()
            rows.append((username, user.get_kind_display(), region.name if region else "—"))
        self._seed_registration()
        self._seed_organization()
        ops, _ = User.objects.update_or_create(
            username="demo_ops",
            defaults={"kind": "", "is_superuser": True, "is_staff": True, "full_name": "运维 (演示)",
                      "must_change_password": False, "password_changed_at": timezone.now()},
        )
        ops.set_password(password)
        ops.save()
        rows.append(("demo_ops", "superuser", "—"))

        self.stdout.write(f"\nDemo logins (password for all: {password})\n")
        self.stdout.write(f"{'username':<16}{'role':<22}region")
        for username, role, region in rows:
            self.stdout.write(f"{username:<16}{str(role):<22}{region}")
        self.stdout.write("Captcha: type the characters shown in the image.\n")

    def _seed_registration(self):
        """The demo worker passed last year's exam, so a first registration can be tried end to end."""
        from registration.models import Qualification, SocialWorker

        worker_user = User.objects.get(username="demo_worker")
        Qualification.objects.update_or_create(
            certificate_no="DEMO-ZS-0001",
            defaults={"id_number": worker_user.id_number, "name": worker_user.full_name, "level": "assistant",
                      "exam_year": timezone.localdate().year - 1, "issuing_province": "广东省"},
        )
        SocialWorker.objects.get_or_create(
            user=worker_user,
            defaults={"name": worker_user.full_name, "id_number": worker_user.id_number, "roster_locked": True,
                      "mobile": worker_user.phone, "email": worker_user.email},
        )

    def _seed_organization(self):
        """demo_org is an approved organization of 越秀区, reviewed through the real workflow (county, then
        city) so its review log and inbox look like a real one; a second run changes nothing."""
        import datetime

        from registration import org_services
        from registration.models import Organization

        account = User.objects.get(username="demo_org")
        organization, _ = Organization.objects.get_or_create(
            account=account,
            defaults={"name": "越秀区阳光社会工作服务中心", "uscc": "52440104MJL6031851",  # check digit per GB 32100
                      "legal_representative": "李明", "region": account.region, "address": "广州市越秀区中山五路 1 号",
                      "contact_person": "陈晓", "contact_phone": "13800138001",
                      "service_domains": ["elderly_care", "child_welfare", "community_governance"],
                      "founded_on": datetime.date(2015, 6, 1), "registration_authority": "广州市越秀区民政局"},
        )
        if organization.is_editable:
            organization = org_services.organization_submit(organization=organization, actor=account)
        reviewers = {u.region_id: u for u in User.objects.filter(username__in=["demo_county", "demo_city"])}
        while organization.pending_step:
            organization = org_services.organization_decide(
                organization=organization, actor=reviewers[organization.awaiting_region.pk], action="approve",
                comment="演示数据",
            )
