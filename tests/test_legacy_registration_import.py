"""import_registrations (issue #15): a province's legacy register of registrations becomes accounts to claim,
roster rows, registration histories and current registrations; bad and contradicting rows are reported,
a re-run changes nothing, a dry run writes nothing, and the template imports as it comes."""

import datetime

import pytest
from django.core.management import call_command
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook

from accounts.models import User, UserKind
from registration.legacy_import import COLUMNS, registrations_import
from registration.models import Qualification, Registration, RegistrationKind, SocialWorker
from registration.selectors.worker import worker_home
from reports import aggregates
from reports.models import StatCount
from swms.workflow import State
from swms.xlsx_import import read_table
from tests.factories import QualificationFactory, RegistrationFactory, SocialWorkerFactory, make_id_number
from tests.today import TODAY

HEADER = ["序号", "姓名", "公民身份号码", "手机号", "资格级别", "证书管理号", "登记证书编号", "登记类别", "有效期自",
          "有效期至", "登记机关", "状态", "执业地区", "工作单位"]


def id_of(birth: datetime.date, male: bool = True) -> str:
    """A valid ID number whose sex digit is odd for a man (make_id_number gives one at random)."""
    while True:
        number = make_id_number(birth)
        if (int(number[16]) % 2 == 1) == male:
            return number


def years_later(day: datetime.date, years: int) -> datetime.date:
    return day.replace(year=day.year + years)


def write_register(path, rows):
    """A workbook as provinces keep them: a title row and a note row above the header, a serial-number column."""
    wb = Workbook()
    ws = wb.active
    ws.append(["广东省社会工作者登记名册（2015—2026）"])
    ws.append(["填报单位：广东省民政厅", None, None, "导出日期：2026年5月"])
    ws.append(HEADER)
    for i, row in enumerate(rows, start=1):
        ws.append([i, *row])
    wb.save(path)
    return path


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


@pytest.fixture
def people():
    current_start = TODAY.replace(month=1, day=1) - datetime.timedelta(days=365)  # 1 January last year
    return {
        "zhang": id_of(datetime.date(1985, 3, 15), male=True),
        "current_start": current_start,
        "current_end": years_later(current_start, 3) - datetime.timedelta(days=1),
    }


def messy_rows(people, regions):
    """Worker 张伟 with three registrations (dates in four spellings), 李娜 with a 15-digit ID number, and the rows
    that must fail: lost digits, unknown region, a region outside 广州市, unknown kind, contradictions."""
    zhang, start, end = people["zhang"], people["current_start"], people["current_end"]
    first = years_later(start, -6)
    second = years_later(start, -3)
    serial = (second - datetime.date(1899, 12, 30)).days  # an Excel date serial in a cell that lost its format
    return [
        # rows 4-6: 张伟's history, newest last but not in date order in the file
        ["张伟", zhang, "138 0013 8001", "社会工作师", "C2014001", "R-2015-001", "首次登记",
         datetime.datetime.combine(first, datetime.time()), f"{years_later(first, 3) - datetime.timedelta(days=1):%Y/%m/%d}",
         "广州市民政局", "已过期", "广州市越秀区洪桥街道", "阳光社工中心"],
        ["张 伟", zhang, "13800138001", "社会工作师", "C2014001", "R-CUR-001", "再登记（续期）",
         f"{start.year}年{start.month}月{start.day}日", int(f"{end:%Y%m%d}"), "广州市民政局", "有效", "440104002000",
         "阳光社工中心（北京路）"],
        ["张伟", zhang, "", "社会工作师", "C2014001", "R-2018-001", "续期", serial,
         f"{years_later(second, 3) - datetime.timedelta(days=1):%Y.%m.%d}", "广州市民政局", "过期", "越秀区洪桥街道",
         ""],
        # row 7: 15-digit legacy ID number, no mobile
        ["李娜", "440104880512062", "", "助理社会工作师", "A2019777", "R-LN-001", "首次登记", start, end,
         "广州市越秀区民政局", "有效", "越秀区", ""],
        # row 8: an 18-digit number typed into a number cell
        ["王五", 4.40104199001011e17, "", "社会工作师", "C2020001", "R-WW-001", "首次登记", start, end, "广州市民政局",
         "有效", "越秀区", ""],
        # row 9: unknown region
        ["赵六", make_id_number(), "", "社会工作师", "C2020002", "R-ZL-001", "首次登记", start, end, "广州市民政局",
         "有效", "火星市", ""],
        # row 10: outside 广州市 (the importing office's scope)
        ["钱七", make_id_number(), "", "社会工作师", "C2020003", "R-QQ-001", "首次登记", start, end, "深圳市民政局",
         "有效", "深圳市福田区", ""],
        # row 11: the certificate belongs to someone else in the roster
        ["孙八", make_id_number(), "", "社会工作师", "C-TAKEN", "R-SB-001", "首次登记", start, end, "广州市民政局",
         "有效", "越秀区", ""],
        # row 12: the registration number belongs to another person
        ["周九", make_id_number(), "", "社会工作师", "C2020005", "R-TAKEN", "首次登记", start, end, "广州市民政局",
         "有效", "越秀区", ""],
        # row 13: unknown kind, and "expired" for a registration still running
        ["吴十", make_id_number(), "", "社会工作师", "C2020006", "R-WS-001", "变更登记", start, end, "广州市民政局",
         "已过期", "越秀区", ""],
        # row 14: the same registration number again
        ["郑一", make_id_number(), "", "社会工作师", "C2020007", "R-CUR-001", "首次登记", start, end, "广州市民政局",
         "有效", "越秀区", ""],
        # row 15: the same certificate for another ID number than on row 4
        ["王二", make_id_number(), "", "社会工作师", "C2014001", "R-WE-001", "首次登记", start, end, "广州市民政局",
         "有效", "越秀区", ""],
    ]


@pytest.fixture
def contradictions(regions):
    QualificationFactory(certificate_no="C-TAKEN", name="别人", level="intermediate")
    RegistrationFactory(registration_no="R-TAKEN", worker=SocialWorkerFactory(work_region=regions["洪桥街道"]))


def test_messy_register_imports_workers_histories_and_reports_bad_rows(
    regions, people, contradictions, tmp_path, django_capture_on_commit_callbacks
):
    path = write_register(tmp_path / "register.xlsx", messy_rows(people, regions))
    aggregates.rebuild()  # the fixtures' records, made without the services
    with django_capture_on_commit_callbacks(execute=True):
        report = registrations_import(path=path, scope=regions["广州市"])

    assert (report.read, report.created, report.updated, report.unchanged) == (12, 4, 0, 0)
    reasons = {line: reason for line, _raw, reason in report.errors}
    assert sorted(reasons) == [8, 9, 10, 11, 12, 13, 14, 15]
    assert "last digits are lost" in reasons[8]
    assert "no region is called 火星市" in reasons[9]
    assert "outside the regions you administer" in reasons[10]
    assert "belongs to another person in the exam roster" in reasons[11]
    assert "registration number R-TAKEN belongs to another person" in reasons[12]
    assert "unknown registration kind 变更登记" in reasons[13] and "status says expired" in reasons[13]
    assert "already appears on row 5" in reasons[14]
    assert "belongs to another ID number on row 4" in reasons[15]
    errors = list(load_workbook(report.error_file).active.iter_rows(values_only=True))
    assert [row[0] for row in errors[1:]] == [8, 9, 10, 11, 12, 13, 14, 15]
    assert [line for line, _note in report.notes] == [7]  # the 15-digit number converted

    # 张伟: an account nobody can log in to yet, a draft profile with name and ID locked, three registrations.
    zhang = SocialWorker.objects.select_related("user", "current_registration").get(id_number=people["zhang"])
    user = zhang.user
    assert (user.kind, user.id_number, user.phone) == (UserKind.SOCIAL_WORKER, people["zhang"], "13800138001")
    assert user.username.startswith("sw") and people["zhang"] not in user.username  # not the ID number (P1/P2)
    assert not user.has_usable_password()
    assert zhang.roster_locked and zhang.status == State.DRAFT and zhang.name == "张伟"
    assert (zhang.gender, zhang.birth_date) == ("male", datetime.date(1985, 3, 15))
    assert (zhang.mobile, zhang.work_region, zhang.employer) == (
        "13800138001", regions["北京街道"], "阳光社工中心（北京路）")  # from the newest registration
    history = list(zhang.registrations.order_by("valid_from"))
    assert [r.registration_no for r in history] == ["R-2015-001", "R-2018-001", "R-CUR-001"]
    assert [r.kind for r in history] == [RegistrationKind.FIRST, RegistrationKind.RENEWAL, RegistrationKind.RENEWAL]
    assert all(r.imported and r.application_id is None and r.issuing_office == "广州市民政局" for r in history)
    assert all(r.status == Registration.Status.VALID for r in history)
    assert history[1].valid_from == years_later(people["current_start"], -3)  # the Excel serial
    assert (history[2].valid_from, history[2].valid_to) == (people["current_start"], people["current_end"])
    assert zhang.current_registration == history[2]
    qualification = Qualification.objects.get(certificate_no="C2014001")
    assert (qualification.id_number, qualification.level, qualification.issuing_province, qualification.exam_year) == (
        people["zhang"], "intermediate", "广东省", history[0].valid_from.year)
    assert {r.qualification_id for r in history} == {qualification.pk}

    # 李娜: the 15-digit number stored converted; no mobile, so no login phone.
    lina = SocialWorker.objects.select_related("user").get(name="李娜")
    assert len(lina.id_number) == 18 and lina.id_number.startswith("44010419880512062")
    assert lina.gender == "female" and lina.user.phone is None and lina.mobile == ""
    assert lina.current_registration.level == "assistant"

    # Nothing of the refused rows was written.
    assert not SocialWorker.objects.filter(name__in=["王五", "赵六", "钱七", "孙八", "周九", "吴十", "郑一", "王二"]).exists()
    assert Registration.objects.count() == 5  # 张伟's three, 李娜's, and the one the fixture made

    # The statistics were recomputed for the regions concerned, and equal a rebuild from the records.
    kept = set(StatCount.objects.values_list("region_id", "day", "measure", "category", "value"))
    assert (regions["北京街道"].pk, people["current_end"], aggregates.WORKERS, "intermediate:valid", 1) in kept
    aggregates.rebuild()
    assert set(StatCount.objects.values_list("region_id", "day", "measure", "category", "value")) == kept

    # The worker's home shows the current registration.
    home = worker_home(user=user)
    assert home["registration"]["record"].registration_no == "R-CUR-001"
    assert home["registration"]["state"] in ("valid", "expiring")


def test_rerun_changes_nothing_and_a_changed_row_updates(regions, people, contradictions, tmp_path):
    rows = messy_rows(people, regions)
    path = write_register(tmp_path / "register.xlsx", rows)
    registrations_import(path=path, scope=regions["广州市"])
    counts = (User.objects.count(), SocialWorker.objects.count(), Registration.objects.count(),
              Qualification.objects.count(), SocialWorker.history.count(), Registration.history.count())

    again = registrations_import(path=path, scope=regions["广州市"])
    assert (again.created, again.updated, again.unchanged, len(again.errors)) == (0, 0, 4, 8)
    assert (User.objects.count(), SocialWorker.objects.count(), Registration.objects.count(),
            Qualification.objects.count(), SocialWorker.history.count(), Registration.history.count()) == counts

    # The register corrected: the current registration was frozen, and 张伟 has a new mobile.
    rows[1][2], rows[1][10] = "13900139009", "冻结"
    registrations_import(path=write_register(tmp_path / "register.xlsx", rows), scope=regions["广州市"])
    zhang = SocialWorker.objects.select_related("user", "current_registration").get(id_number=people["zhang"])
    assert zhang.current_registration.status == Registration.Status.FROZEN
    assert (zhang.mobile, zhang.user.phone) == ("13900139009", "13900139009")


def test_claimed_or_signed_up_accounts_keep_their_profile(regions, people, tmp_path):
    """The import adds registrations to a worker who signed up online, never rewrites what they entered."""
    worker = SocialWorkerFactory(name="张伟", id_number=people["zhang"], user__id_number=people["zhang"],
                                 user__full_name="张伟", work_region=regions["沙面街道"], mobile="13700137000")
    path = write_register(tmp_path / "register.xlsx", messy_rows(people, regions)[:3])
    report = registrations_import(path=path)
    assert (report.created, len(report.errors)) == (3, 0)
    worker.refresh_from_db()
    assert (worker.work_region, worker.mobile) == (regions["沙面街道"], "13700137000")
    assert worker.user.has_usable_password()
    assert worker.current_registration.registration_no == "R-CUR-001"
    assert User.objects.filter(id_number=people["zhang"]).count() == 1


def test_name_differing_from_the_system_is_refused(regions, people, tmp_path):
    SocialWorkerFactory(name="张卫", id_number=people["zhang"], user__id_number=people["zhang"])
    report = registrations_import(path=write_register(tmp_path / "r.xlsx", messy_rows(people, regions)[:1]))
    assert report.created == 0
    assert "under the name 张卫" in report.errors[0][2]


def test_dry_run_writes_nothing(regions, people, contradictions, tmp_path, capsys):
    path = write_register(tmp_path / "register.xlsx", messy_rows(people, regions))
    before = (User.objects.count(), Registration.objects.count(), Qualification.objects.count())
    call_command("import_registrations", str(path), "--dry-run", "--no-progress")
    out = capsys.readouterr().out
    assert "Dry run" in out and "5 created" in out  # no scope on the command line: 深圳 is fine
    assert (User.objects.count(), Registration.objects.count(), Qualification.objects.count()) == before
    call_command("import_registrations", str(path), "--no-progress")
    assert Registration.objects.filter(imported=True).count() == 5


def test_the_uploader_is_the_author_of_the_history(regions, people, province_official, tmp_path):
    path = write_register(tmp_path / "register.xlsx", messy_rows(people, regions)[:3])
    registrations_import(path=path, scope=regions["广东省"], actor=province_official)
    worker = SocialWorker.objects.get(id_number=people["zhang"])
    assert {(h.history_user, h.history_change_reason) for h in worker.history.all()} == {
        (province_official, "legacy import")}
    assert {h.history_user for h in Registration.history.filter(worker=worker)} == {province_official}


def test_template_reads_back_and_its_example_row_imports(regions, tmp_path):
    template = tmp_path / "template.xlsx"
    call_command("import_registrations", "--template", str(template))
    table = read_table(template, COLUMNS)
    assert len(table.rows) == 1 and set(table.columns) == {c.key for c in COLUMNS}
    report = registrations_import(path=template)
    assert (report.created, report.errors) == (1, [])
    worker = SocialWorker.objects.get()
    assert worker.current_registration.registration_no == "2024440104000123"
    assert worker.work_region == regions["洪桥街道"]
    assert worker.current_registration.created_at == timezone.make_aware(datetime.datetime(2024, 6, 1))


def test_queries_do_not_grow_with_the_rows(regions, tmp_path):
    """Bulk reads and writes: a register of 40 workers costs the queries of one of 4 (same regions)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def register(name, workers):
        start = datetime.date(TODAY.year - 1, 3, 1)
        rows = []
        for i in range(workers):
            number = make_id_number(datetime.date(1990, 1, 1 + i % 28))
            for h, town in enumerate(("洪桥街道", "北京街道")):
                valid_from = years_later(start, 3 * (h - 1))
                rows.append([f"{name}{i}", number, f"137{len(name) * 1000 + i:08d}", "社会工作师", f"{name}-C{i}",
                             f"{name}-R{i}-{h}", "首次登记" if h == 0 else "再登记", valid_from,
                             years_later(valid_from, 3) - datetime.timedelta(days=1), "广州市民政局", "有效",
                             f"越秀区{town}", "阳光社工中心"])
        return write_register(tmp_path / f"{name}.xlsx", rows)

    counts = []
    for name, workers in (("甲", 4), ("乙乙", 40)):
        path = register(name, workers)
        with CaptureQueriesContext(connection) as queries:
            report = registrations_import(path=path)
        assert (report.created, report.errors) == (2 * workers, [])
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_a_legacy_registration_names_its_own_office_as_issuer(db, regions):
    from registration.certificates import issuing_authority
    from tests.factories import RegistrationFactory

    legacy = RegistrationFactory(region=regions["洪桥街道"], imported=True, issuing_office="广州市越秀区民政局")
    assert issuing_authority(legacy) == "广州市越秀区民政局"
    made_here = RegistrationFactory(region=regions["洪桥街道"])
    assert issuing_authority(made_here) == "广州市民政局"
