"""Demo accounts for every role on the Guangdong tree (for `make demo` only, never in production)."""

import datetime
import unicodedata

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Region, User, UserKind

DEMO_PASSWORD = "Swms@Demo2026"

# username, kind, region code, full name, extra fields
DEMO_ACCOUNTS = [
    ("demo_province", UserKind.OFFICIAL, "440000000000", "广东省民政厅（演示）", {}),
    ("demo_city", UserKind.OFFICIAL, "440100000000", "广州市民政局（演示）", {}),
    ("demo_county", UserKind.OFFICIAL, "440104000000", "越秀区民政局（演示）", {}),
    ("demo_county2", UserKind.OFFICIAL, "440103000000", "荔湾区民政局（演示）", {}),
    ("demo_dongguan", UserKind.OFFICIAL, "441900000000", "东莞市民政局（演示）", {}),
    ("demo_worker", UserKind.SOCIAL_WORKER, None, "张社工（演示）",
     {"phone": "13800138000", "id_number": "11010519491231002X", "email": "worker@example.com"}),
    ("demo_org", UserKind.ORGANIZATION, "440104000000", "越秀区阳光社会工作服务中心（演示）", {}),
    ("demo_station", UserKind.STATION, "440104001000", "洪桥街道社工站（演示）", {}),
]


class Command(BaseCommand):
    help = "Create or refresh the demo accounts (one per role) and print their logins."

    def add_arguments(self, parser):
        parser.add_argument("--password", default=DEMO_PASSWORD)

    def handle(self, *args, password, **options):
        # Demo accounts share a published password: never in production, nor on a real database.
        if settings.SWMS_PRODUCTION or (
            not settings.DEBUG and "sqlite" not in settings.DATABASES["default"]["ENGINE"]
        ):
            raise CommandError("seed_demo is for the embedded demo (SQLite or DEBUG) only.")
        with transaction.atomic():
            rows, free, ready, window_note = self._seed(password)
        # The demo's stations and clients are created directly: count them for the statistics now, not
        # at the nightly rebuild.
        from reports.aggregates import rebuild

        rebuild()
        # Printed after the commit, so the eager tasks' mail and SMS output comes before the logins.
        self._print(password, rows, free, ready, window_note)

    def _seed(self, password):
        rows = []
        for username, kind, code, full_name, extra in DEMO_ACCOUNTS:
            region = None
            if code:
                region = Region.objects.filter(code=code).first()
                if region is None:
                    raise CommandError(f"Region {code} is missing: run import_regions on the Guangdong file first.")
            user, _created = User.objects.update_or_create(
                username=username,
                defaults={"kind": kind, "region": region, "full_name": full_name, "is_active": True,
                          "must_change_password": False, "password_changed_at": timezone.now(), **extra},
            )
            user.set_password(password)
            user.save()
            rows.append((username, user.get_kind_display(), region.name if region else "—"))
        self._seed_registration()
        free = self._seed_free_roster_entry()
        window_note = self._seed_window()
        ready = self._seed_ready_worker()
        self._seed_organization()
        self._seed_station()
        # The three operators (三员, accounts/operator_roles.py); no superuser. An older demo's superuser
        # demo_ops is switched off.
        User.objects.filter(username="demo_ops", is_superuser=True).update(is_superuser=False, is_staff=False,
                                                                             is_active=False)
        for username, role, full_name in (("demo_sysadmin", "system", "系统管理员（演示）"),
                                          ("demo_secadmin", "security", "安全管理员（演示）"),
                                          ("demo_auditor", "audit", "安全审计员（演示）")):
            ops, _created = User.objects.update_or_create(
                username=username,
                defaults={"kind": "", "region": None, "is_superuser": False, "is_staff": True,
                          "operator_role": role, "full_name": full_name, "is_active": True,
                          "must_change_password": False, "password_changed_at": timezone.now()},
            )
            ops.set_password(password)
            ops.save()
            rows.append((username, ops.get_operator_role_display(), "—"))
        return rows, free, ready, window_note

    def _print(self, password, rows, free, ready, window_note):
        w = self.stdout.write
        w("\n" + _("Demo logins (the password of every account: %(password)s)") % {"password": password} + "\n")
        for line in table([(_("username"), _("role"), _("region")), *rows]):
            w(line)
        w(_("At login, also type the characters of the captcha picture (click it for a new one).") + "\n")
        w(_("To try the whole registration flow:"))
        w("  - " + _("sign up at /registration/signup/ with the roster ID number %(id)s (exam roster: %(name)s, "
                     "%(level)s, %(year)s);") % {"id": free.id_number, "name": free.name,
                                                "level": free.get_level_display(), "year": free.exam_year})
        if ready is not None:
            w("  - " + _("or log in as demo_worker: profile approved, ready to apply for %(kind)s (%(window)s).")
              % {"kind": ready.label, "window": window_note})
        else:
            w("  - " + _("demo_worker has applied already; its workbench shows the next step (%(window)s).")
              % {"window": window_note})
        w("  " + _("The county (demo_county) and then the city (demo_city) review the application.") + "\n")
        if settings.SWMS_MFA_REQUIRED:
            w(_("Officials and operators set up an authenticator app (two-step verification) at their first login; "
                "SMS codes of this server are printed in its console.") + "\n")
        else:
            w(_("Two-step verification is off in this demo, so no phone is needed; start it with "
                "SWMS_MFA_REQUIRED=1 make demo to try it (officials and operators then set up an authenticator "
                "app at their first login).") + "\n")

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

    def _seed_free_roster_entry(self):
        """A roster record (the national exam pass list) whose ID number has no account yet, so a newcomer can
        sign up as a worker the roster knows; a fresh one is made when the last one was used."""
        from stdnum.cn import ric

        from registration.models import Qualification, SocialWorker

        for serial in range(101, 1000):
            body = f"440104{datetime.date(1995, 3, 15):%Y%m%d}{serial:03d}"
            id_number = body + ric.calc_check_digit(body + "0")
            if User.objects.filter(id_number=id_number).exists() or SocialWorker.objects.filter(
                    id_number=id_number).exists():
                continue
            qualification, _created = Qualification.objects.update_or_create(
                certificate_no=f"DEMO-ZS-{serial:04d}",
                defaults={"id_number": id_number, "name": "王晓明", "level": "assistant",
                          "exam_year": timezone.localdate().year - 1, "issuing_province": "广东省"},
            )
            return qualification
        raise CommandError("No free demo ID number is left.")

    def _seed_window(self) -> str:
        """Guangdong takes applications today. A province that never set a window takes them at any time and
        the certificate follows the approval at once (the quickest demo); if windows were set and none is
        open, a demo window is opened (its certificates follow its close)."""
        from registration.eligibility import current_window
        from registration.models import RegistrationWindow

        province = Region.objects.get(code="440000000000")
        today = timezone.localdate()
        state = current_window(province, on_date=today)
        if not state.is_open:
            RegistrationWindow.objects.create(
                province=province, name="演示登记期", opens_on=today, closes_on=today + datetime.timedelta(days=30),
                certificate_delay_days=0, created_by=User.objects.get(username="demo_province"))
            state = current_window(province, on_date=today)
        if state.window is None:
            return _("no registration window set: open all year, certificate at approval")
        return _("window %(opens)s – %(closes)s") % {"opens": state.window.opens_on, "closes": state.window.closes_on}

    def _seed_ready_worker(self):
        """demo_worker's profile is complete and approved by the county through the real workflow; returns the
        registration kind it may apply for (first registration), or None if it has applied already."""
        import io

        from django.core.files.uploadedfile import SimpleUploadedFile
        from PIL import Image

        from registration import review, services
        from registration.eligibility import worker_eligibility
        from registration.models import SocialWorker
        from swms.ids import birth_date_from_ric
        from swms.uploads import check_image_upload
        from swms.workflow import State

        worker = SocialWorker.objects.get(user__username="demo_worker")
        if worker.birth_date is None:  # taken from the ID number at sign-up; locked with the roster name
            worker.birth_date = birth_date_from_ric(worker.id_number)
            worker.gender = "male" if int(worker.id_number[16]) % 2 else "female"
            worker.save(update_fields=["birth_date", "gender"])
        if worker.status in (State.DRAFT, State.RETURNED):
            buffer = io.BytesIO()
            Image.new("RGB", (413, 626), (222, 230, 240)).save(buffer, format="PNG")
            photo = check_image_upload(SimpleUploadedFile("demo-photo.png", buffer.getvalue(), content_type="image/png"))
            services.profile_save(worker=worker, photo=None if worker.photo else photo, data=dict(
                ethnicity="汉族", hukou="广东省广州市", native_place="广东广州", marital_status="single",
                political_status="none", education="bachelor", school="中山大学", major="社会工作",
                graduation_date=datetime.date(2014, 7, 1), work_start_date=datetime.date(2014, 8, 1),
                address="广州市越秀区洪桥街 8 号", postcode="510040", full_time=True, years_in_social_work=10,
                position="frontline", work_region=Region.objects.get(code="440104001000"),
                employer="越秀区阳光社会工作服务中心", practice_domains=["community", "elderly"],
                experience="在洪桥街道社工站从事长者服务和社区服务十年。",
            ))
            worker = services.profile_submit(worker=worker, actor=worker.user)
        if worker.status == State.SUBMITTED:
            review.profile_decide(worker=worker, actor=User.objects.get(username="demo_county"), action="approve",
                                  comment="演示数据")
        allowed = [d for d in worker_eligibility(worker, on_date=timezone.localdate()) if d.allowed]
        if worker.applications.exists():
            return None
        return allowed[0] if allowed else None

    def _seed_organization(self):
        """demo_org is an approved organization of 越秀区, reviewed through the real workflow (county, then
        city) so its review log and inbox look like a real one; a second run changes nothing."""
        import datetime

        from registration.models import Organization
        from registration.services import organizations as org_services

        account = User.objects.get(username="demo_org")
        organization, _created = Organization.objects.get_or_create(
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
        from services.activities import refresh_activity_people
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
        head, _created = StationWorker.objects.get_or_create(
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
        elder, _created = Client.objects.get_or_create(
            station=station, name="陈伯", defaults={"gender": "male", "birth_date": datetime.date(1948, 5, 1),
                                                   "person_types": ["elderly"], "phone": "13800138004",
                                                   "address": "洪桥街 12 号", "filed": True})
        child, _created = Client.objects.get_or_create(
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
                refresh_activity_people([activity.pk])


def display_width(text: str) -> int:
    """Columns a terminal gives the text: East Asian wide and full-width characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in str(text))


def table(rows) -> list[str]:
    """Rows as lines whose columns line up in a terminal, Chinese text included."""
    rows = [[str(cell) for cell in row] for row in rows]
    widths = [max(display_width(row[i]) for row in rows) + 2 for i in range(len(rows[0]) - 1)]
    return ["".join(cell + " " * (widths[i] - display_width(cell)) for i, cell in enumerate(row[:-1])) + row[-1]
            for row in rows]
