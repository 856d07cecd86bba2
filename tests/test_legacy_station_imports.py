"""Legacy imports of organizations, stations, station workers and clients (issue #15): messy workbooks,
row errors with their Excel row numbers, re-runs that change nothing, dry runs, templates, batched queries."""

import datetime
import itertools
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone, translation
from openpyxl import Workbook, load_workbook
from stdnum.cn import ric
from stdnum.cn import uscc as stdnum_uscc

from accounts.backends import IdentifierBackend
from accounts.models import Region, User, UserKind
from accounts.services import subject_password_reset
from registration.models import Organization
from registration.org_import import organizations_import
from reports.models import StatCount
from services.activities import refresh_activity_people
from services.client_import import clients_import
from services.models import Activity, Client
from stations import services as station_services
from stations.imports import station_workers_import, stations_import
from stations.models import Station, StationFunding, StationOperator, StationWorker
from swms.imports import get_kind, write_template
from swms.workflow import State
from swms.xlsx_import import read_table
from tests.conftest import make_user
from tests.factories import RegistrationFactory, SocialWorkerFactory, make_id_number

TODAY = timezone.localdate()
TITLES = ("越秀区社会工作台账（2025年度）", "填报单位：越秀区民政局            填报日期：2025年12月")
FIRST = 5  # two title rows, a blank row, the header on row 4: data from row 5

_serial = itertools.count(1)
FULLWIDTH = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")


@pytest.fixture(autouse=True)
def english():
    with translation.override("en"):
        yield


def book(path, header, rows, titles=TITLES):
    """A workbook as offices send them: title rows and a blank row above the header."""
    wb = Workbook()
    ws = wb.active
    for title in titles:
        ws.append([title])
    ws.append([])
    ws.append(header)
    for row in rows:
        ws.append(list(row))
    wb.save(path)
    return path


def make_uscc(area="440104") -> str:
    body = f"52{area}{next(_serial):09d}"
    return body + stdnum_uscc.calc_check_digit(body)


def wrong_check(code: str) -> str:
    return code[:-1] + ("1" if code[-1] != "1" else "2")


def fifteen_digit_id(birth="850315", sequence="123") -> tuple[str, str]:
    """A 15-digit legacy number and the 18-digit number it becomes."""
    old = f"440104{birth}{sequence}"
    body = f"440104{19}{birth}{sequence}"
    return old, body + ric.calc_check_digit(body + "0")


def errors_by_line(report) -> dict[int, str]:
    return {line: reason for line, _raw, reason in report.errors}


def approved_org(region, uscc=None, name=None) -> Organization:
    uscc = uscc or make_uscc(region.code[:6])
    account = make_user(f"org_{uscc}", UserKind.ORGANIZATION, region)
    org = Organization.objects.create(
        account=account, name=name or f"{region.name}社工中心{uscc[-4:]}", uscc=uscc, legal_representative="李四",
        region=region, address="地址", contact_person="王五", contact_phone="13800000000",
        registration_authority="民政局")
    Organization.objects.filter(pk=org.pk).update(status=State.APPROVED)
    org.refresh_from_db()
    return org


def new_station(actor, region, name="洪桥街道社工站", tier="station") -> Station:
    station, _password = station_services.station_create(
        actor=actor, data={"name": name, "tier": tier, "region": region, "address": "地址", "contact_person": "站长",
                           "contact_phone": "020-1"}, funding=[], operators=[])
    return station


# --- Organizations -----------------------------------------------------------------------------------

ORG_HEADER = ["统一社会信用代码", "机构名称", "法人代表", "所在地区", "住所", "联系人", "联系电话", "成立日期",
              "登记机关", "服务领域"]


def org_row(uscc, name, region="广州市越秀区", phone="13800138011", founded="2015-06-01", **kw):
    row = {"uscc": uscc, "name": name, "rep": "李明", "region": region, "address": "广州市越秀区中山五路 1 号",
           "contact": "陈晓", "phone": phone, "founded": founded, "authority": "广州市越秀区民政局",
           "domains": "养老服务、儿童福利", **kw}
    return list(row.values())


def test_organizations_messy_workbook(regions, tmp_path):
    codes = [make_uscc() for _ in range(4)]
    taken = make_user("someone", UserKind.SOCIAL_WORKER, phone="13800138099")
    fullwidth = " ".join([codes[0][:8].lower(), codes[0][8:]]).replace("4", "４")
    path = book(tmp_path / "orgs.xlsx", ORG_HEADER, [
        org_row(fullwidth, "越秀区阳光社会工作服务中心", phone="１３８００１３８０１１", founded="2015年6月1日"),  # 5
        org_row(codes[1], "洪桥街道长者服务社", region="440104001", phone="020-83001234",
                founded=datetime.date(2016, 3, 5), domains="社区治理,养老"),  # 6
        org_row(wrong_check(codes[2]), "错码机构"),  # 7
        org_row(codes[2], "深圳机构", region="深圳市福田区"),  # 8 outside the scope
        org_row(codes[2], "火星机构", region="火星区"),  # 9 unknown region
        org_row(codes[2], "市级机构", region="广州市"),  # 10 a city, not a county or town
        org_row(codes[0], "重复机构"),  # 11 the same code as row 5
        org_row(codes[3], "号码已被占用的机构", phone="13800138099", founded=20180101),  # 12
        org_row(codes[2], "未来机构", founded="2099-01-01"),  # 13
        org_row(codes[2], "领域不明机构", domains="养老服务、修自行车"),  # 14
    ])
    dry = organizations_import(path=path, scope=regions["广州市"], dry_run=True)
    assert (dry.read, dry.created, len(dry.errors)) == (10, 3, 7)
    assert not Organization.objects.exists() and not User.objects.filter(kind=UserKind.ORGANIZATION).exists()

    report = organizations_import(path=path, scope=regions["广州市"])
    assert (report.read, report.created, report.updated, report.unchanged) == (10, 3, 0, 0)
    errors = errors_by_line(report)
    assert sorted(errors) == [7, 8, 9, 10, 11, 13, 14]
    assert "check character" in errors[7]
    assert "outside the regions you administer" in errors[8]
    assert "no region is called 火星区" in errors[9]
    assert "county (district) or town (street)" in errors[10]
    assert "row 5" in errors[11]
    assert "future" in errors[13]
    assert "修自行车" in errors[14]
    assert dict(report.notes)[12].startswith("the mobile number 13800138099 belongs to another account")

    sunshine = Organization.objects.select_related("account", "region").get(uscc=codes[0])
    assert sunshine.status == State.APPROVED and sunshine.decided_at is not None
    assert (sunshine.initial_region, sunshine.final_region) == (regions["越秀区"], regions["广州市"])
    assert sunshine.founded_on == datetime.date(2015, 6, 1)
    assert sunshine.service_domains == ["child_welfare", "elderly_care"]
    assert sunshine.history.get().history_change_reason == "import"
    account = sunshine.account
    assert (account.username, account.kind, account.region, account.phone) == (
        codes[0], UserKind.ORGANIZATION, regions["越秀区"], "13800138011")
    assert not account.has_usable_password() and account.must_change_password
    second = Organization.objects.get(uscc=codes[1])
    assert second.region == regions["洪桥街道"] and second.account.phone is None  # a landline is no login
    assert second.founded_on == datetime.date(2016, 3, 5)
    assert Organization.objects.get(uscc=codes[3]).account.phone is None
    assert taken.phone == User.objects.get(pk=taken.pk).phone

    again = organizations_import(path=path, scope=regions["广州市"])
    assert (again.created, again.updated, again.unchanged, len(again.errors)) == (0, 0, 3, 7)
    assert Organization.objects.count() == 3 and User.objects.filter(kind=UserKind.ORGANIZATION).count() == 3


def test_imported_organization_is_taken_over_through_an_officials_reset(regions, alice, charlie, tmp_path):
    code = make_uscc()
    path = book(tmp_path / "orgs.xlsx", ORG_HEADER, [org_row(code, "越秀区晨曦社会工作服务中心")])
    organizations_import(path=path)
    account = Organization.objects.get(uscc=code).account
    backend = IdentifierBackend()
    assert backend.authenticate(None, username=code, password="") is None  # no password: nobody logs in
    with pytest.raises(PermissionDenied):
        subject_password_reset(actor=charlie, target=account)  # 荔湾区's official: not theirs
    password = subject_password_reset(actor=alice, target=account)
    # The one-time password opens the account by its credit code or its mobile number; it must be changed.
    assert backend.authenticate(None, username=code, password=password) == account
    assert backend.authenticate(None, username="13800138011", password=password) == account
    account.refresh_from_db()
    assert account.must_change_password


def test_organization_reimport_corrects_data_until_the_account_is_used(regions, tmp_path):
    code = make_uscc()
    path = book(tmp_path / "orgs.xlsx", ORG_HEADER, [org_row(code, "越秀区晨曦社会工作服务中心")])
    organizations_import(path=path)
    moved = book(tmp_path / "orgs2.xlsx", ORG_HEADER, [org_row(code, "越秀区晨曦社会工作服务中心", region="广州市越秀区北京街道",
                                                               rep="王强")])
    report = organizations_import(path=moved)
    assert (report.created, report.updated) == (0, 1)
    organization = Organization.objects.select_related("account").get(uscc=code)
    assert (organization.legal_representative, organization.region.name) == ("王强", "北京街道")
    assert organization.account.region == regions["北京街道"]
    User.objects.filter(pk=organization.account_id).update(last_login=timezone.now())
    refused = organizations_import(path=path)
    assert refused.updated == 0 and "keeps its own data" in refused.errors[0][2]


def test_an_organization_that_signed_up_online_is_left_to_the_review(regions, tmp_path):
    account = make_user("org_online", UserKind.ORGANIZATION, regions["洪桥街道"])
    code = make_uscc()
    Organization.objects.create(account=account, name="网上注册机构", uscc=code, legal_representative="赵",
                                region=regions["洪桥街道"], address="地址", contact_person="赵", contact_phone="1",
                                registration_authority="民政局")
    report = organizations_import(path=book(tmp_path / "o.xlsx", ORG_HEADER, [org_row(code, "网上注册机构")]))
    assert report.updated == 0 and "review queue" in report.errors[0][2]
    assert Organization.objects.get(uscc=code).status == State.DRAFT


# --- Stations ------------------------------------------------------------------------------------------

STATION_HEADER = ["站点编号", "社工站名称", "站点级别", "行政区划", "地址", "联系人", "联系电话", "建站日期", "面积",
                  "服务领域", "服务范围", "承办机构统一社会信用代码", "承办起始日期", "承办截止日期", "资金来源",
                  "2024年经费", "2025年资金（万元）"]


def station_row(name, region="广州市越秀区洪桥街道", code="", tier="站", uscc="", start="", end="", f2024="",
                f2025="", **kw):
    row = {"code": code, "name": name, "tier": tier, "region": region, "address": "洪桥街 8 号", "contact": "黄站长",
           "phone": "020-83000000", "founded": "2021.3.1", "area": "220㎡", "domains": "养老服务，儿童福利",
           "scope": "辖区居民", "uscc": uscc, "start": start, "end": end, "source": "区级财政", "f2024": f2024,
           "f2025": f2025, **kw}
    return list(row.values())


@pytest.fixture
def operators(regions):
    draft = approved_org(regions["越秀区"])
    Organization.objects.filter(pk=draft.pk).update(status=State.DRAFT)
    draft.refresh_from_db()
    return {"ours": approved_org(regions["越秀区"]), "beijing": approved_org(regions["东城区"], uscc=make_uscc("110101")),
            "draft": draft}


def test_stations_messy_workbook(regions, operators, tmp_path):
    ours = operators["ours"].uscc
    path = book(tmp_path / "stations.xlsx", STATION_HEADER, [
        station_row("洪桥街道社工站", uscc=ours.lower(), start="2024-01-01", end="2026/12/31", f2024="５０",
                    f2025=60.5),  # 5
        station_row("北京街道社工站", region="440104002000", tier="", founded=datetime.date(2020, 5, 1)),  # 6
        station_row("洪桥第二站", code="440104001000007", founded="2022年1月5日", f2025="12.5万元"),  # 7
        station_row("洪桥总站", tier="总站"),  # 8 a hub in a town
        station_row("沙面街道社工站", region="广州市荔湾区沙面街道"),  # 9 outside the scope
        station_row("无名站", region="越秀区无名街道"),  # 10 unknown region
        station_row("京办站", region="广州市越秀区北京街道", uscc=operators["beijing"].uscc, start="2024-01-01",
                    end="2025-12-31"),  # 11 an operator of another province
        station_row("草稿站", region="广州市越秀区北京街道", uscc=operators["draft"].uscc, start="2024-01-01",
                    end="2025-12-31"),  # 12 an organization not approved
        station_row("错码站", region="广州市越秀区北京街道", uscc=wrong_check(ours), start="2024-01-01",
                    end="2025-12-31"),  # 13
        station_row("错编号站", code="440103001000001"),  # 14 another region's code
        station_row("洪桥街道社工站", f2024=1),  # 15 the same station as row 5
        station_row("缺期限站", region="广州市越秀区北京街道", uscc=ours),  # 16 operator without dates
        station_row("负资金站", region="广州市越秀区北京街道", f2024=-3),  # 17
        station_row("", region="广州市越秀区北京街道"),  # 18 no name
    ])
    report = stations_import(path=path, scope=regions["越秀区"])
    assert (report.read, report.created, report.updated, report.unchanged) == (14, 3, 0, 0)
    errors = errors_by_line(report)
    assert sorted(errors) == [8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18]
    assert "hub" in errors[8]
    assert "outside the regions you administer" in errors[9]
    assert "no region is called" in errors[10]
    assert "not registered in this province" in errors[11]
    assert "not an approved organization" in errors[12]
    assert "check character" in errors[13]
    assert "does not belong to 洪桥街道" in errors[14]
    assert "row 5" in errors[15]
    assert "first and last day" in errors[16]
    assert "0 or more" in errors[17]
    assert "is empty" in errors[18]
    sheet = list(load_workbook(report.error_file).active.iter_rows(values_only=True))
    assert sheet[0][0] == "Row" and sheet[0][-1] == "错误原因" and sheet[0][2] == "社工站名称"
    assert [(row[0], row[2]) for row in sheet[1:3]] == [(8, "洪桥总站"), (9, "沙面街道社工站")]

    # The kept code moves the sequence on: the generated codes come after it.
    hongqiao = Station.objects.get(name="洪桥街道社工站")
    assert Station.objects.get(name="洪桥第二站").code == "440104001000007"
    assert hongqiao.code == "440104001000008"
    beijing = Station.objects.get(name="北京街道社工站")
    assert (beijing.code, beijing.tier, beijing.founded_on) == ("440104002000001", "station", datetime.date(2020, 5, 1))
    assert dict(report.notes) == {5: "station code 440104001000008 given", 6: "station code 440104002000001 given"}
    assert (hongqiao.founded_on, hongqiao.floor_area, hongqiao.service_domains) == (
        datetime.date(2021, 3, 1), Decimal("220.0"), ["child_welfare", "elderly_care"])
    account = hongqiao.account
    assert (account.username, account.kind, account.region) == (hongqiao.code, UserKind.STATION, regions["洪桥街道"])
    assert not account.has_usable_password()
    assert [(f.year, f.amount, f.source) for f in hongqiao.funding.all()] == [
        (2024, Decimal("50.00"), "区级财政"), (2025, Decimal("60.50"), "区级财政")]
    assert [(f.year, f.amount) for f in Station.objects.get(code="440104001000007").funding.all()] == [
        (2025, Decimal("12.50"))]
    operator = hongqiao.operators.get()
    assert (operator.organization, operator.valid_from, operator.valid_to) == (
        operators["ours"], datetime.date(2024, 1, 1), datetime.date(2026, 12, 31))
    assert list(Station.objects.owned_by(operators["ours"].account)) == (
        [hongqiao] if operator.is_current() else [])
    assert hongqiao.history.get().history_change_reason == "import"

    again = stations_import(path=path, scope=regions["越秀区"])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert Station.objects.count() == 3 and StationFunding.objects.count() == 3 and StationOperator.objects.count() == 1


def test_station_reimport_updates_and_the_official_sets_the_password(regions, alice, operators, tmp_path):
    path = book(tmp_path / "s.xlsx", STATION_HEADER, [station_row("洪桥街道社工站", f2025=60)])
    stations_import(path=path)
    station = Station.objects.get()
    changed = book(tmp_path / "s2.xlsx", STATION_HEADER, [
        station_row("洪桥街道社工站", code=station.code, f2025=80, contact="新站长", founded="", area="",
                    uscc=operators["ours"].uscc, start="2020-01-01", end="2021-12-31")])
    report = stations_import(path=changed)
    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    station.refresh_from_db()
    assert station.contact_person == "新站长" and station.founded_on == datetime.date(2021, 3, 1)  # empty kept
    assert [(f.year, f.amount) for f in station.funding.all()] == [(2025, Decimal("80.00"))]
    assert station.operators.get().status == StationOperator.Status.EXPIRED
    assert not Station.objects.owned_by(operators["ours"].account).exists()
    password = station_services.station_password_set(actor=alice, station=station)
    station.account.refresh_from_db()
    assert station.account.check_password(password) and station.account.must_change_password


def test_station_dry_run_writes_nothing(regions, tmp_path):
    path = book(tmp_path / "s.xlsx", STATION_HEADER, [station_row("洪桥街道社工站", f2025=60)])
    report = stations_import(path=path, dry_run=True)
    assert report.dry_run and report.created == 1
    assert report.notes == [(FIRST, "a station code will be given when the file is imported")]
    assert not Station.objects.exists() and not User.objects.filter(kind=UserKind.STATION).exists()
    from stations.models import StationCodeSequence

    assert not StationCodeSequence.objects.exists()


# --- Station workers -----------------------------------------------------------------------------------

WORKER_HEADER = ["社工站编号", "姓名", "性别", "身份证号码", "手机", "工作单位", "证书级别", "证书编号", "是否站长",
                 "从事社会工作时间", "入站日期"]


def worker_row(station, name, id_number, gender="", level="", cert="", head="", since="", joined="2021-03-01"):
    return [station, name, gender, id_number, "13800001111", "阳光社工中心", level, cert, head, since, joined]


@pytest.fixture
def station(regions, alice):
    return new_station(alice, regions["洪桥街道"])


@pytest.fixture
def outside_station(regions, superuser):
    return new_station(superuser, regions["沙面街道"], name="沙面街道社工站")


def registered_worker(regions, name="李注册"):
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"], name=name, gender="female", mobile="13812345678",
                                 employer="阳光社工中心", work_start_date=datetime.date(2015, 7, 1))
    RegistrationFactory(worker=worker, qualification__level="intermediate",
                        valid_from=TODAY - datetime.timedelta(days=30))
    return worker


def test_station_workers_messy_workbook(regions, station, outside_station, tmp_path):
    head_id = make_id_number(datetime.date(1985, 1, 1))
    registered = registered_worker(regions)
    other_registered = registered_worker(regions, name="王注册")
    old, converted = fifteen_digit_id()
    male = next(n for n in (make_id_number() for _ in range(10)) if int(n[16]) % 2)
    path = book(tmp_path / "workers.xlsx", WORKER_HEADER, [
        worker_row(station.code, "黄站长", head_id.translate(FULLWIDTH), level="社会工作师", cert="ZS-1", head="是",
                   since="2016年7月1日", joined=20210301),  # 5
        worker_row("洪桥街道社工站", registered.name, registered.id_number, head="否", joined="2022/9/1"),  # 6
        worker_row(station.code, "老号码", old, gender="男"),  # 7 converted
        worker_row(station.code, "丢位数", 440104199001011232),  # 8 a number cell lost its digits
        worker_row("440104001000999", "无站", make_id_number()),  # 9 unknown station
        worker_row(outside_station.code, "外区", make_id_number()),  # 10 outside the scope
        worker_row(station.code, "冒名", other_registered.id_number),  # 11 the registry has another name
        worker_row(station.code, "性别错", male, gender="女"),  # 12
        worker_row(station.code, "无证号", make_id_number(), level="助理社会工作师"),  # 13
        worker_row(station.code, "黄站长", head_id),  # 14 the same post as row 5
        worker_row(station.code, "日期错", make_id_number(), joined="2021-13-01"),  # 15
    ])
    report = station_workers_import(path=path, scope=regions["越秀区"])
    assert (report.read, report.created, report.updated, report.unchanged) == (11, 3, 0, 0)
    errors = errors_by_line(report)
    assert sorted(errors) == [8, 9, 10, 11, 12, 13, 14, 15]
    assert "last digits are lost" in errors[8]
    assert "no station has the code 440104001000999" in errors[9]
    assert "outside the regions you administer" in errors[10]
    assert "王注册" in errors[11] and "冒名" in errors[11]
    assert "gender does not match" in errors[12]
    assert "certificate number" in errors[13]
    assert "row 5" in errors[14]
    assert "is not a date" in errors[15]
    assert dict(report.notes) == {7: f"15-digit ID number {old} converted to {converted}"}

    head = StationWorker.objects.get(id_number=head_id)
    assert (head.source, head.level, head.is_head, head.practice_since, head.joined_on, head.gender) == (
        "manual", "intermediate", True, datetime.date(2016, 7, 1), datetime.date(2021, 3, 1), "female"
        if int(head_id[16]) % 2 == 0 else "male")
    synced = StationWorker.objects.get(id_number=registered.id_number)
    assert (synced.source, synced.social_worker, synced.level, synced.mobile, synced.joined_on) == (
        "synced", registered, "intermediate", "13812345678", datetime.date(2022, 9, 1))
    assert StationWorker.objects.get(id_number=converted).name == "老号码"
    assert station_services.staffing_warnings(station) == []  # a head of 社会工作师 with 9 years of practice

    again = station_workers_import(path=path, scope=regions["越秀区"])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 3)
    assert StationWorker.objects.count() == 3


def test_station_worker_reimport_updates_what_the_station_may_edit(regions, station, tmp_path):
    registered = registered_worker(regions)
    manual_id = make_id_number()
    path = book(tmp_path / "w.xlsx", WORKER_HEADER, [worker_row(station.code, "手工", manual_id),
                                                     worker_row(station.code, registered.name, registered.id_number)])
    station_workers_import(path=path)
    changed = book(tmp_path / "w2.xlsx", WORKER_HEADER, [
        worker_row(station.code, "手工", manual_id, level="高级社会工作师", cert="ZS-9", head="是"),
        worker_row(station.code, registered.name, registered.id_number, level="助理社会工作师", cert="X", head="是"),
    ])
    report = station_workers_import(path=changed)
    assert (report.created, report.updated) == (0, 2)
    manual = StationWorker.objects.get(id_number=manual_id)
    assert (manual.level, manual.certificate_no, manual.is_head) == ("senior", "ZS-9", True)
    synced = StationWorker.objects.get(id_number=registered.id_number)
    assert (synced.level, synced.is_head) == ("intermediate", True)  # the registry's level stays


def test_station_workers_dry_run_writes_nothing(regions, station, tmp_path):
    path = book(tmp_path / "w.xlsx", WORKER_HEADER, [worker_row(station.code, "手工", make_id_number())])
    report = station_workers_import(path=path, dry_run=True)
    assert report.created == 1 and not StationWorker.objects.exists()


# --- Clients -------------------------------------------------------------------------------------------

CLIENT_HEADER = ["所属站点", "服务对象姓名", "性别", "公民身份号码", "出生日期", "年龄", "对象类别", "电话", "家庭住址",
                 "备注", "是否建档"]


def client_row(station, name, id_number="", gender="", birth="", age="", types="老年人", phone="", filed="是"):
    return [station, name, gender, id_number, birth, age, types, phone, "洪桥街 10 号", "", filed]


def test_clients_messy_workbook(regions, station, outside_station, tmp_path):
    elder = make_id_number(datetime.date(1948, 5, 1))
    old, converted = fifteen_digit_id("400101", "224")
    mismatch = make_id_number(datetime.date(1960, 1, 1))
    known = Client.objects.create(station=station, name="王伯", gender="male", birth_date=datetime.date(1950, 2, 3),
                                  phone="13800002222", person_types=["elderly"])
    known_id = make_id_number(datetime.date(1950, 2, 3))
    known_id = next(n for n in [known_id] + [make_id_number(datetime.date(1950, 2, 3)) for _ in range(9)]
                    if int(n[16]) % 2)
    path = book(tmp_path / "clients.xlsx", CLIENT_HEADER, [
        client_row(station.code, "陈婆婆", elder.lower(), types="老年人、低保"),  # 5
        client_row(station.code, "李阿姨", gender="女", birth="1950/2/3", types="特困,残疾人", phone="13800003333"),  # 6
        client_row("洪桥街道社工站", "张伯", gender="男", age="７５岁", types="", filed="否"),  # 7
        client_row(station.code, "老证件", old, types="低收入/困难家庭"),  # 8
        client_row(station.code, "王伯", known_id, phone="13800002222"),  # 9 gives the known client its ID
        client_row(station.code, "丢位数", 440104194805010021),  # 10 a number cell lost its digits
        client_row(station.code, "类别错", gender="女", age=70, types="老年人、外星人"),  # 11
        client_row(station.code, "无年龄", gender="男"),  # 12
        client_row(outside_station.code, "外区", gender="男", age=70),  # 13
        client_row(station.code, "生日错", mismatch, birth="1961-01-01"),  # 14
        client_row(station.code, "李阿姨", gender="女", birth="1950-02-03", phone="13800003333"),  # 15 = row 6
        client_row("不存在的站", "无站", gender="男", age=70),  # 16
    ])
    report = clients_import(path=path, scope=regions["越秀区"])
    assert (report.read, report.created, report.updated, report.unchanged) == (12, 4, 1, 0)
    errors = errors_by_line(report)
    assert sorted(errors) == [10, 11, 12, 13, 14, 15, 16]
    assert "last digits are lost" in errors[10]
    assert "外星人" in errors[11]
    assert "birth date or, if it is not known, the age" in errors[12]
    assert "outside the regions you administer" in errors[13]
    assert "does not match the ID number" in errors[14]
    assert "row 6" in errors[15]
    assert "不存在的站" in errors[16]
    assert dict(report.notes) == {8: f"15-digit ID number {old} converted to {converted}"}

    chen = Client.objects.get(name="陈婆婆")
    assert (chen.id_number, chen.birth_date, chen.gender, chen.person_types, chen.filed, chen.source) == (
        elder, datetime.date(1948, 5, 1), "female" if int(elder[16]) % 2 == 0 else "male", ["elderly", "dibao"], True,
        "imported")
    li = Client.objects.get(name="李阿姨")
    assert (li.birth_date, li.person_types, li.id_number) == (
        datetime.date(1950, 2, 3), ["disabled", "extreme_poverty"], "")
    zhang = Client.objects.get(name="张伯")
    assert (zhang.age, zhang.birth_date, zhang.filed, zhang.person_types) == (75, None, False, [])
    assert Client.objects.get(id_number=converted).person_types == ["low_income"]
    known.refresh_from_db()
    assert (known.id_number, known.source) == (known_id, "manual")

    again = clients_import(path=path, scope=regions["越秀区"])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert Client.objects.count() == 5


def test_clients_without_id_number_match_a_client_with_one_and_dry_run_writes_nothing(
        regions, station, tmp_path, django_capture_on_commit_callbacks):
    number = make_id_number(datetime.date(1945, 1, 1))
    female = int(number[16]) % 2 == 0
    Client.objects.create(station=station, name="赵奶奶", gender="female" if female else "male",
                          id_number=number, birth_date=datetime.date(1945, 1, 1), phone="13800004444")
    path = book(tmp_path / "c.xlsx", CLIENT_HEADER, [
        client_row(station.code, "赵奶奶", gender="女" if female else "男", birth="1945-01-01", phone="13800004444",
                   types="老年人、孤儿"),
        client_row(station.code, "新人", gender="男", age=80)])
    dry = clients_import(path=path, dry_run=True)
    assert (dry.created, dry.updated) == (1, 1)
    assert Client.objects.count() == 1 and Client.objects.get().person_types == []
    zhao = Client.objects.get(name="赵奶奶")
    lead = StationWorker.objects.create(station=station, source="manual", name="社工", gender="male",
                                        id_number=make_id_number())
    activity = Activity.objects.create(station=station, category="visit", code="A1", name="探访", lead_worker=lead,
                                       contact_phone="1", started_at=timezone.now())
    activity.clients.add(zhao)
    refresh_activity_people([activity.pk])
    with django_capture_on_commit_callbacks(execute=True):
        report = clients_import(path=path)
    assert (report.created, report.updated) == (1, 1)
    assert Client.objects.get(name="赵奶奶").person_types == ["elderly", "orphan"]
    activity.refresh_from_db()
    assert activity.client_types == ["elderly", "orphan"]  # what the officials' activity list filters by
    counts = dict(StatCount.objects.filter(region=station.region, measure="clients").values_list("category")
                  .annotate(n=Sum("value")))
    assert counts["all"] == 2 and counts["orphan"] == 1


# --- Templates, commands, query counts ---------------------------------------------------------------


def test_every_template_reads_back_and_its_example_row_imports(regions, alice, tmp_path):
    approved_org(regions["越秀区"], uscc="52440104MJL6031851")  # the stations' example operator
    expected = {"organizations": 0, "stations": 1, "station_workers": 1, "clients": 1}
    # The organizations' example is the same organization: it is there already, unchanged.
    for key in ["organizations", "stations", "station_workers", "clients"]:
        kind = get_kind(key)
        path = tmp_path / f"{key}.xlsx"
        with open(path, "wb") as handle:
            write_template(kind, handle)
        table = read_table(path, kind.columns)
        assert [line for line, _raw in table.rows] == [2]
        assert all(column.help and column.labels for column in kind.columns)
        report = kind.run(path=path)
        assert report.errors == [], (key, report.errors)
        assert report.created == expected[key], key
        sheet = load_workbook(path).worksheets[1]
        assert sheet.cell(row=1, column=1).value == "Column"
    station = Station.objects.get()
    assert station.code == "440104001000001"  # the code the workers' and clients' examples name
    assert station.workers.get().name == "张三" and station.clients.get().name == "陈婆婆"
    assert len(station.funding.all()) == 2 and station.operators.count() == 1


@pytest.mark.parametrize("command,key", [("import_organizations", "organizations"), ("import_stations", "stations"),
                                         ("import_station_workers", "station_workers"), ("import_clients", "clients")])
def test_commands_write_the_template_and_import(regions, tmp_path, command, key, capsys):
    call_command(command, "--template", str(tmp_path))
    written = list(tmp_path.glob("*.xlsx"))
    assert len(written) == 1
    assert read_table(written[0], get_kind(key).columns).rows
    call_command(command, str(written[0]), "--dry-run", "--no-progress")
    assert "Dry run, nothing written" in capsys.readouterr().out


def _many(tmp_path, header, rows):
    return book(tmp_path / "many.xlsx", header, rows)


def test_organization_import_of_200_rows_is_batched(regions, tmp_path, django_assert_max_num_queries):
    rows = [org_row(make_uscc(), f"机构{i}", region=("广州市越秀区", "440104001", "广州市越秀区北京街道")[i % 3],
                    phone=f"139{i:08d}") for i in range(200)]
    path = _many(tmp_path, ORG_HEADER, rows)
    with django_assert_max_num_queries(25):
        report = organizations_import(path=path)
    assert report.created == 200
    with django_assert_max_num_queries(12):
        assert organizations_import(path=path).unchanged == 200


def test_station_import_of_200_rows_is_batched(regions, tmp_path, django_assert_max_num_queries):
    org = approved_org(regions["越秀区"])
    rows = [station_row(f"社工站{i}", region=("广州市越秀区洪桥街道", "440104002")[i % 2], uscc=org.uscc,
                        start="2024-01-01", end="2099-12-31", f2024=i, f2025=i + 1) for i in range(200)]
    path = _many(tmp_path, STATION_HEADER, rows)
    with django_assert_max_num_queries(35):
        report = stations_import(path=path)
    assert report.created == 200 and not report.errors
    assert Station.objects.owned_by(org.account).count() == 200
    with django_assert_max_num_queries(15):
        assert stations_import(path=path).unchanged == 200


def test_worker_and_client_imports_of_200_rows_are_batched(regions, station, tmp_path,
                                                          django_assert_max_num_queries):
    registered = [registered_worker(regions, name=f"注册{i}") for i in range(5)]
    rows = [worker_row(station.code, w.name, w.id_number) for w in registered]
    rows += [worker_row(station.code, f"社工{i}", make_id_number()) for i in range(195)]
    path = _many(tmp_path, WORKER_HEADER, rows)
    with django_assert_max_num_queries(15):
        report = station_workers_import(path=path)
    assert report.created == 200 and not report.errors
    assert StationWorker.objects.filter(source="synced").count() == 5

    rows = [client_row(station.code, f"对象{i}", make_id_number(datetime.date(1950, 1, 1) + datetime.timedelta(i)))
            for i in range(100)]
    rows += [client_row(station.code, f"无证{i}", gender="女", age=60 + i % 30, phone=f"138{i:08d}")
             for i in range(100)]
    path = _many(tmp_path, CLIENT_HEADER, rows)
    with django_assert_max_num_queries(15):
        report = clients_import(path=path)
    assert report.created == 200 and not report.errors
    with django_assert_max_num_queries(10):
        assert clients_import(path=path).unchanged == 200


def test_region_lookup_accepts_the_whole_tree_without_scope(regions, tmp_path):
    """No scope (an operator on the command line): any region of the country."""
    path = book(tmp_path / "s.xlsx", STATION_HEADER, [station_row("沙嘴街道社工站", region="湖北省仙桃市沙嘴街道")])
    report = stations_import(path=path)
    assert report.created == 1
    assert Station.objects.get().region == Region.objects.get(name="沙嘴街道")
