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
        self._seed_station()
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

    def _seed_station(self):
        """demo_station is the account of the 洪桥街道 station, which demo_org operates; two workers, two
        clients and two activities of this month so the workbench, lists and summary are not empty."""
        import datetime

        from registration.models import Organization
        from services.models import Activity, Client
        from stations import services as station_services
        from stations.models import Station, StationOperator, StationWorker

        account = User.objects.get(username="demo_station")
        county = User.objects.get(username="demo_county")
        station = Station.objects.filter(account=account).first()
        today = timezone.localdate()
        if station is None:
            with transaction.atomic():
                station = Station(
                    name="洪桥街道社工站", tier="station", region=account.region, address="广州市越秀区洪桥街 8 号",
                    contact_person="黄站长", contact_phone="020-83000000", founded_on=datetime.date(2021, 3, 1),
                    floor_area=220, service_domains=["elderly_care", "child_welfare", "social_assistance"],
                    service_scope="洪桥街道辖区居民", created_by=county, account=account,
                )
                station.code = station_services.next_station_code(account.region)
                station.save()
        organization = Organization.objects.get(account__username="demo_org")
        StationOperator.objects.get_or_create(
            station=station, organization=organization,
            defaults={"valid_from": today.replace(month=1, day=1), "valid_to": today.replace(year=today.year + 2)},
        )
        station_services.sync_operator_permissions(station=station)
        head, _ = StationWorker.objects.get_or_create(
            station=station, id_number="440104198501010017",
            defaults={"source": "manual", "name": "黄站长", "gender": "female", "mobile": "13800138002",
                      "employer": organization.name, "level": "intermediate", "certificate_no": "DEMO-ZS-0100",
                      "is_head": True, "practice_since": datetime.date(2016, 7, 1), "joined_on": datetime.date(2021, 3, 1)},
        )
        StationWorker.objects.get_or_create(
            station=station, id_number="44010419950202002X",
            defaults={"source": "manual", "name": "刘社工", "gender": "female", "mobile": "13800138003",
                      "employer": organization.name, "level": "assistant", "certificate_no": "DEMO-ZS-0101",
                      "joined_on": datetime.date(2023, 9, 1)},
        )
        elder, _ = Client.objects.get_or_create(
            station=station, name="陈伯", defaults={"gender": "male", "birth_date": datetime.date(1948, 5, 1),
                                                   "person_types": ["elderly"], "phone": "13800138004",
                                                   "address": "洪桥街 12 号", "filed": True})
        child, _ = Client.objects.get_or_create(
            station=station, name="小林", defaults={"gender": "female", "birth_date": datetime.date(2016, 3, 1),
                                                   "person_types": ["child", "left_behind"], "filed": True})
        started = timezone.now().replace(day=1, hour=9, minute=0, second=0, microsecond=0)
        for code, category, name, clients in (
            (f"{station.code}-DEMO-0001", "case", "独居长者个案跟进", [elder]),
            (f"{station.code}-DEMO-0002", "group", "留守儿童成长小组", [child]),
        ):
            activity, created = Activity.objects.get_or_create(
                code=code, defaults={"station": station, "category": category, "name": name, "lead_worker": head,
                                     "contact_phone": "020-83000000", "service_domains": ["elderly_care"],
                                     "started_at": started, "location": "洪桥街道社工站", "created_by": account})
            if created:
                activity.clients.set(clients)
                activity.workers.set([head])
