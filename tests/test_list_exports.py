"""Every official list exports what it shows (#13): certificates issued, station workers, summary completeness,
officials, sent notices and a notice's read receipts, registration windows. Each test builds rows in the county
(越秀区) and outside it (荔湾区 or another province), asks for the file with a filter applied, and checks that it
holds exactly the filtered rows in scope, with ID and mobile numbers masked; then CSV, access and query counts."""

import csv
import datetime
import io
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import UserKind
from notices import notice_services
from registration.models import Certificate, RegistrationKind, RegistrationWindow
from services import summaries
from stations.services import station_worker_add_manual, station_worker_leave
from swms.pii import mask_id_number, mask_phone
from tests.conftest import make_user
from tests.factories import RegistrationFactory, SocialWorkerFactory, make_id_number
from tests.test_stations import create_station, station_login
from tests.today import LAST_MONTH, TODAY

pytestmark = pytest.mark.usefixtures("english")



def sheet(response):
    """(header, rows, every cell as one string) of an .xlsx download."""
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    values = list(load_workbook(BytesIO(b"".join(response.streaming_content))).active.values)
    return list(values[0]), [list(r) for r in values[1:]], " ".join(str(v) for row in values for v in row)


def as_dicts(header, rows):
    return [dict(zip(header, row, strict=True)) for row in rows]


def export(client, url, **params):
    return client.get(url, {**params, "export": "xlsx"})


# --- Certificates issued --------------------------------------------------------------------------------------


def certificate(regions, town, *, kind=RegistrationKind.FIRST, revoked=False):
    worker = SocialWorkerFactory(work_region=regions[town])
    registration = RegistrationFactory(worker=worker, kind=kind, valid_from=TODAY - datetime.timedelta(days=10),
                                       valid_to=TODAY + datetime.timedelta(days=1000))
    return Certificate.objects.create(registration=registration, file="certificates/x.pdf", sha256="0" * 64,
                                      issued_by="广州市民政局", revoked_at=timezone.now() if revoked else None,
                                      revoked_reason="注销" if revoked else "")


def test_certificate_export_holds_the_filtered_certificates_in_scope(client, regions, alice):
    first = certificate(regions, "洪桥街道")
    revoked = certificate(regions, "北京街道", revoked=True)
    certificate(regions, "洪桥街道", kind=RegistrationKind.RENEWAL)
    outside = certificate(regions, "沙面街道")
    client.force_login(alice)
    header, rows, text = sheet(export(client, reverse("registration:certificate-list"), kind="first"))
    assert header == ["issued at", "registration number", "full name", "ID number", "registration kind",
                      "qualification level", "region", "issuing authority", "valid to", "Status", "revoked at",
                      "revocation reason"]
    lines = as_dicts(header, rows)
    assert {line["registration number"] for line in lines} == {first.registration.registration_no,
                                                              revoked.registration.registration_no}
    line = next(x for x in lines if x["registration number"] == first.registration.registration_no)
    assert line["ID number"] == mask_id_number(first.registration.worker.id_number)
    assert line["registration kind"] == "First registration"
    assert line["issued at"].date() == TODAY and line["Status"] == "Current" and line["region"] == "洪桥街道"
    assert line["valid to"].date() == first.registration.valid_to
    gone = next(x for x in lines if x["registration number"] == revoked.registration.registration_no)
    assert gone["Status"] == "Revoked" and gone["revocation reason"] == "注销"
    for c in (first, revoked):
        assert c.registration.worker.id_number not in text
    assert outside.registration.registration_no not in text


def test_certificate_export_follows_the_region_tree(client, regions, city_official):
    in_town = certificate(regions, "洪桥街道")
    certificate(regions, "北京街道")
    certificate(regions, "沙面街道")
    client.force_login(city_official)
    _header, rows, _text = sheet(export(client, reverse("registration:certificate-list"),
                                        region=regions["洪桥街道"].pk))
    assert [row[1] for row in rows] == [in_town.registration.registration_no]


# --- Station workers ------------------------------------------------------------------------------------------


def station_worker(station, name, mobile="13912345678", **extra):
    return station_worker_add_manual(station=station, actor=station.account, data=dict(
        name=name, gender="female", id_number=make_id_number(), mobile=mobile, employer="阳光社工中心",
        level="none", certificate_no="", is_head=False, practice_since=None, joined_on=datetime.date(2024, 1, 1),
        **extra))


def test_worker_overview_export_holds_the_filtered_workers_in_scope(client, regions, alice, charlie):
    hongqiao, _pw = create_station(alice, regions)
    beijing, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    shamian, _pw = create_station(charlie, regions, name="沙面街道社工站", region=regions["沙面街道"])
    wang = station_worker(hongqiao, "王小红")
    left = station_worker(hongqiao, "王离开")
    station_worker_leave(worker=left, left_on=TODAY, reason="调动", actor=hongqiao.account)
    station_worker(beijing, "王北京")
    station_worker(hongqiao, "李四")
    outsider = station_worker(shamian, "王沙面")
    client.force_login(alice)
    url = reverse("stations:worker-overview")
    header, rows, text = sheet(export(client, url, q="王", station="洪桥", status="all"))
    assert header[:4] == ["Full name", "ID number", "mobile phone", "gender"]
    lines = as_dicts(header, rows)
    # The page's order: by station code, current first, then the name.
    assert [line["Full name"] for line in lines] == ["王小红", "王离开"]
    assert lines[0]["ID number"] == mask_id_number(wang.id_number) and wang.id_number not in text
    assert lines[0]["mobile phone"] == mask_phone("13912345678") and "13912345678" not in text
    assert lines[0]["station code"] == hongqiao.code and lines[0]["region"] == "洪桥街道"
    assert lines[0]["how added"] == "Manual" and lines[0]["left on"] is None
    assert lines[1]["left on"].date() == TODAY and lines[1]["reason for leaving"] == "调动"
    assert outsider.id_number not in text and left.id_number not in text
    # Without "including those who left", the file has only current workers, as the page.
    _h, rows, _t = sheet(export(client, url, q="王"))
    assert sorted(row[0] for row in rows) == ["王北京", "王小红"]


def test_worker_overview_searched_by_id_number_offers_no_export_link(client, regions, alice):
    station, _pw = create_station(alice, regions)
    worker = station_worker(station, "王小红")
    client.force_login(alice)
    page = client.get(reverse("stations:worker-overview"), {"q": worker.id_number}).content.decode()
    assert 'data-testid="export"' not in page
    assert 'data-testid="export"' in client.get(reverse("stations:worker-overview")).content.decode()


# --- Summary completeness -------------------------------------------------------------------------------------


def test_completeness_export_lists_the_stations_that_have_not_submitted(client, regions, alice, charlie):
    done, _pw = create_station(alice, regions, name="已交站")
    draft, _pw = create_station(alice, regions, name="草稿站", region=regions["北京街道"],
                                contact_phone="13700001111")
    nothing, _pw = create_station(alice, regions, name="未动站")
    outside, _pw = create_station(charlie, regions, name="沙面站", region=regions["沙面街道"])
    for s in (done, draft, nothing, outside):
        type(s).objects.filter(pk=s.pk).update(created_at=timezone.now() - datetime.timedelta(days=90))
    summary = summaries.summary_start(station=done, month=LAST_MONTH, actor=done.account)
    summaries.summary_save(summary=summary, text="x", document=None, actor=done.account)
    summaries.summary_submit(summary=summary, actor=done.account)
    summaries.summary_start(station=draft, month=LAST_MONTH, actor=draft.account)
    client.force_login(alice)
    url = reverse("services:summary-completeness")
    header, rows, text = sheet(export(client, url, month=f"{LAST_MONTH:%Y-%m}"))
    assert header == ["month", "station code", "station name", "region", "contact person", "contact phone",
                      "Status"]
    lines = {line["station name"]: line for line in as_dicts(header, rows)}
    assert set(lines) == {"草稿站", "未动站"}
    assert [row[1] for row in rows] == sorted(row[1] for row in rows)  # by station code, as the page
    assert lines["草稿站"]["Status"] == "Draft, not submitted" and lines["未动站"]["Status"] == "Not started"
    assert lines["草稿站"]["contact phone"] == mask_phone("13700001111") and "13700001111" not in text
    assert lines["草稿站"]["month"] == f"{LAST_MONTH:%Y-%m}"
    _h, rows, _t = sheet(export(client, url, month=f"{LAST_MONTH:%Y-%m}", region=regions["北京街道"].pk))
    assert [row[2] for row in rows] == ["草稿站"]


# --- Officials ------------------------------------------------------------------------------------------------


def test_official_export_holds_the_searched_officials_in_scope(client, regions, alice, charlie):
    make_user("yx_wang", UserKind.OFFICIAL, regions["越秀区"], full_name="王科长", phone="13600001234")
    town = make_user("hq_wang", UserKind.OFFICIAL, regions["洪桥街道"], full_name="王干事", phone="13600005678",
                     is_active=False)
    make_user("yx_li", UserKind.OFFICIAL, regions["越秀区"], full_name="李科长")
    make_user("lw_wang", UserKind.OFFICIAL, regions["荔湾区"], full_name="王荔湾")
    town.last_login = timezone.now()
    town.save(update_fields=["last_login"])
    client.force_login(alice)
    header, rows, text = sheet(export(client, reverse("accounts:official-list"), q="王"))
    assert header == ["Username", "Full name", "Region", "division code", "Level", "Mobile phone", "Status",
                      "Last login", "created at"]
    lines = as_dicts(header, rows)
    # By region in tree order, then username: the county before its town.
    assert [line["Username"] for line in lines] == ["yx_wang", "hq_wang"]
    assert lines[0]["Mobile phone"] == mask_phone("13600001234") and "13600001234" not in text
    assert lines[0]["Level"] == "County" and lines[0]["Region"] == "越秀区"
    assert lines[1]["Status"] == "Deactivated" and lines[1]["Last login"].date() == TODAY
    assert "王荔湾" not in text


def test_official_export_as_csv_opens_with_a_byte_order_mark(client, regions, alice):
    make_user("yx_wang", UserKind.OFFICIAL, regions["越秀区"], full_name="王科长", phone="13600001234")
    make_user("lw_wang", UserKind.OFFICIAL, regions["荔湾区"], full_name="王荔湾")
    client.force_login(alice)
    response = client.get(reverse("accounts:official-list"), {"q": "王", "export": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].endswith('.csv"')
    raw = b"".join(response.streaming_content)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Username", "Full name", "Region"]
    assert [row[0] for row in rows[1:]] == ["yx_wang"] and rows[1][5] == mask_phone("13600001234")
    assert "13600001234" not in raw.decode("utf-8-sig")


# --- Notices: the send list and read receipts -----------------------------------------------------------------


def send(actor, title, *, publish=True, **audience):
    notice = notice_services.notice_save(actor=actor, notice=None, regions=[], data=dict(
        title=title, category="notice", content="内容", **audience))
    return notice_services.notice_publish(actor=actor, notice=notice) if publish else notice


def test_sent_export_holds_the_office_notices_filtered(client, regions, alice, bob, charlie):
    station, _pw = create_station(alice, regions)
    published = send(alice, "关于月度总结的通知", to_stations=True)
    send(bob, "同事发出的通知", to_stations=True)  # the same office: on the list
    send(alice, "草稿通知", publish=False, to_stations=True)
    send(charlie, "荔湾区的通知", to_stations=True)
    notice_services.notice_mark_read(notice=published, user=station.account)
    client.force_login(alice)
    header, rows, text = sheet(export(client, reverse("notices:sent"), status="published", q="通知"))
    assert header == ["title", "category", "status", "Public", "sender", "created at", "published at",
                      "withdrawn at", "Recipients", "Read", "Read rate"]
    lines = {line["title"]: line for line in as_dicts(header, rows)}
    assert set(lines) == {"关于月度总结的通知", "同事发出的通知"}
    line = lines["关于月度总结的通知"]
    assert line["status"] == "Published" and line["published at"].date() == TODAY
    assert line["Recipients"] == published.audience_count and line["Read"] == 1
    assert "草稿通知" not in text and "荔湾区的通知" not in text
    _h, rows, _t = sheet(export(client, reverse("notices:sent"), status="draft"))
    assert [(row[0], row[8], row[10]) for row in rows] == [("草稿通知", None, None)]


@pytest.fixture
def notice_to_yuexiu(regions, alice, city_official):
    """A 广州市 notice to the stations and social workers of 越秀区, one station has read it; a worker without a
    full name (their username is their ID number); stations of 荔湾区 outside the audience."""
    hongqiao, _pw = create_station(alice, regions)
    beijing, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    create_station(city_official, regions, name="沙面街道社工站", region=regions["沙面街道"])
    nameless = SocialWorkerFactory(work_region=regions["洪桥街道"], user__full_name="", name="无名")
    notice = notice_services.notice_save(actor=city_official, notice=None, regions=[regions["越秀区"]], data=dict(
        title="越秀区通知", category="notice", content="内容", to_stations=True, to_workers=True))
    notice = notice_services.notice_publish(actor=city_official, notice=notice)
    notice_services.notice_mark_read(notice=notice, user=hongqiao.account)
    return {"notice": notice, "read": hongqiao, "unread": beijing, "nameless": nameless}


def test_receipts_export_lists_who_read_and_who_has_not(client, city_official, notice_to_yuexiu):
    notice = notice_to_yuexiu["notice"]
    url = reverse("notices:sent-detail", args=[notice.pk])
    client.force_login(city_official)
    header, rows, _text = sheet(export(client, url, show="read"))
    assert header == ["full name", "account type", "region", "Status", "read at"]
    assert len(rows) == 1
    line = as_dicts(header, rows)[0]
    assert line["full name"] == notice_to_yuexiu["read"].account.display_name()
    assert line["account type"] == "Station" and line["Status"] == "Read" and line["read at"].date() == TODAY
    header, rows, text = sheet(export(client, url))
    names = {row[0] for row in rows}
    worker_user = notice_to_yuexiu["nameless"].user
    assert notice_to_yuexiu["unread"].account.display_name() in names
    assert mask_id_number(worker_user.username) in names and worker_user.username not in text
    assert notice_to_yuexiu["read"].account.display_name() not in names
    assert "沙面街道社工站" not in text and len(rows) == notice.audience_count - 1
    assert {row[3] for row in rows} == {"Not read yet"}


def test_receipts_export_of_another_office_notice_is_not_found(client, alice, charlie, notice_to_yuexiu):
    url = reverse("notices:sent-detail", args=[notice_to_yuexiu["notice"].pk])
    for official in (alice, charlie):  # below the sending office, or beside it: not theirs
        client.force_login(official)
        assert export(client, url).status_code == 404


def test_large_receipts_export_becomes_a_background_job_of_the_same_rows(
    client, city_official, notice_to_yuexiu, settings, media, django_capture_on_commit_callbacks,
):
    from swms.models import ExportJob

    settings.SWMS_EXPORT_SYNC_ROWS = 1
    settings.SWMS_EXPORT_RUNNER = "inline"  # the job runs in the request's commit hook (swms/exports.py)
    notice = notice_to_yuexiu["notice"]
    client.force_login(city_official)
    with django_capture_on_commit_callbacks(execute=True):
        response = export(client, reverse("notices:sent-detail", args=[notice.pk]))
    job = ExportJob.objects.get()
    assert response.status_code == 302 and job.status == "done", job.error
    assert job.builder == "notices.views_notices.notice_receipts_table"
    assert job.total == notice.audience_count - 1
    with job.file.open("rb") as handle:
        rows = list(load_workbook(BytesIO(handle.read())).active.values)
    assert len(rows) == 1 + job.total


# --- Registration windows -------------------------------------------------------------------------------------


def test_window_export_holds_the_province_windows(client, regions, alice, province_official):
    RegistrationWindow.objects.create(province=regions["广东省"], name="2026年第一期", opens_on=TODAY,
                                      closes_on=TODAY + datetime.timedelta(days=30), created_by=province_official)
    hubei = make_user("hb_province", UserKind.OFFICIAL, regions["湖北省"])
    RegistrationWindow.objects.create(province=regions["湖北省"], name="湖北第一期", opens_on=TODAY,
                                      closes_on=TODAY + datetime.timedelta(days=30), created_by=hubei)
    client.force_login(alice)
    header, rows, _text = sheet(export(client, reverse("registration:window-list")))
    assert header == ["name", "province", "opens on", "closes on", "Certificates issued on", "Status"]
    assert [(row[0], row[1], row[5]) for row in rows] == [("2026年第一期", "广东省", "Open")]


# --- Access and cost ------------------------------------------------------------------------------------------

LISTS = ["registration:certificate-list", "stations:worker-overview", "services:summary-completeness",
         "accounts:official-list", "notices:sent", "registration:window-list"]


@pytest.mark.parametrize("url_name", LISTS)
def test_no_file_for_anonymous_or_non_officials(client, regions, social_worker, station_user, url_name):
    url = reverse(url_name)
    response = export(client, url)
    assert response.status_code == 302 and "Content-Disposition" not in response
    for user in (social_worker, station_user):
        client.force_login(user)
        response = export(client, url)
        assert response.status_code in (403, 404) and "Content-Disposition" not in response


def test_receipts_export_is_not_for_recipients(client, notice_to_yuexiu):
    station_login(client, notice_to_yuexiu["read"])
    response = export(client, reverse("notices:sent-detail", args=[notice_to_yuexiu["notice"].pk]))
    assert response.status_code == 403 and "Content-Disposition" not in response


def _cost(client, url, params, django_assert_max_num_queries, limit=30):
    with django_assert_max_num_queries(limit) as captured:
        response = export(client, url, **params)
        sheet(response)
    return len(captured.captured_queries)


def test_export_queries_do_not_grow_with_the_rows(client, regions, alice, city_official,
                                                  django_assert_max_num_queries):
    station, _pw = create_station(alice, regions)
    cases = {
        "certificates": (reverse("registration:certificate-list"), {}, lambda: certificate(regions, "洪桥街道")),
        "workers": (reverse("stations:worker-overview"), {}, lambda: station_worker(station, "王某")),
        "officials": (reverse("accounts:official-list"), {},
                      lambda n=iter(range(100)): make_user(f"yx_{next(n)}", UserKind.OFFICIAL, regions["越秀区"],
                                                           phone=f"1360000{next(n):04d}")),
        "completeness": (reverse("services:summary-completeness"), {"month": f"{TODAY:%Y-%m}"},
                         lambda n=iter(range(100)): create_station(alice, regions, name=f"站{next(n)}")),
        "sent": (reverse("notices:sent"), {}, lambda n=iter(range(100)): send(alice, f"通知{next(n)}",
                                                                               to_stations=True)),
    }
    client.force_login(alice)
    for name, (url, params, add) in cases.items():
        for _ in range(2):
            add()
        two = _cost(client, url, params, django_assert_max_num_queries)
        for _ in range(18):
            add()
        assert _cost(client, url, params, django_assert_max_num_queries, limit=two) <= two, name


def test_receipts_export_queries_do_not_grow_with_the_rows(client, regions, alice, city_official, notice_to_yuexiu,
                                                           django_assert_max_num_queries):
    notice = notice_to_yuexiu["notice"]
    url = reverse("notices:sent-detail", args=[notice.pk])
    client.force_login(city_official)
    costs = {}
    for show in ("read", "unread"):
        costs[show] = _cost(client, url, {"show": show}, django_assert_max_num_queries)
    for i in range(18):
        station, _pw = create_station(alice, regions, name=f"更多站{i}")
        if i % 2:
            notice_services.notice_mark_read(notice=notice, user=station.account)
    for show in ("read", "unread"):
        assert _cost(client, url, {"show": show}, django_assert_max_num_queries, limit=costs[show]) <= costs[show]


# --- The buttons on a phone -----------------------------------------------------------------------------------


@pytest.mark.browser
def test_export_buttons_fit_the_list_headers_on_a_phone(live_server, transactional_db, regions, page, screenshot_dir):
    from tests.conftest import PASSWORD
    from tests.test_browser_registration import _login

    official = make_user("gz_exports", UserKind.OFFICIAL, regions["广州市"], full_name="广州市民政局")
    certificate(regions, "洪桥街道")
    certificate(regions, "沙面街道")
    make_user("yx_wang", UserKind.OFFICIAL, regions["越秀区"], full_name="王科长", phone="13600001234")
    station, _pw = create_station(official, regions)
    notice = notice_services.notice_save(actor=official, notice=None, regions=[], data=dict(
        title="关于报送月度总结的通知", category="notice", content="内容", to_stations=True))
    notice_services.notice_publish(actor=official, notice=notice)
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, live_server.url, "gz_exports", PASSWORD)
    for name, url in (("certificates", reverse("registration:certificate-list")),
                      ("officials", reverse("accounts:official-list")),
                      ("receipts", reverse("notices:sent-detail", args=[notice.pk]))):
        page.goto(live_server.url + url)
        testid = "receipts-export" if name == "receipts" else "export"
        button = page.get_by_test_id(testid)
        button.wait_for()
        box = button.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, name
        # The page itself does not scroll sideways (tables scroll in their own box).
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, name
        page.screenshot(path=screenshot_dir / f"list-export-{name}-390.png", full_page=False)


def test_every_export_writes_one_pi_export_event(client, regions, alice):
    """L1: who took which list and how many rows; the filters (which may hold names) stay out of the log."""
    from accounts.models import SecurityEvent

    certificate(regions, "洪桥街道")
    client.force_login(alice)
    sheet(export(client, reverse("registration:certificate-list"), kind="first", q="张三"))
    event = SecurityEvent.objects.get(kind=SecurityEvent.Kind.PI_EXPORT)
    assert (event.actor, event.target, event.success) == (alice, alice, True)
    assert event.detail.endswith(f" · 1 · {reverse('registration:certificate-list')}")
    assert "张三" not in event.detail
