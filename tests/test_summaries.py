"""Monthly summaries: computed figures, draft/submit/return/resubmit/approve, completeness."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from services import summaries
from services.models import Activity, Client, MonthlySummary
from services.stats import month_figures, workbench_figures
from stations.services import station_worker_add_manual
from swms.workflow import ReviewNotPermitted, State, WorkflowError
from tests.factories import make_id_number
from tests.test_document_checks import pdf_bytes  # a real PDF: documents are parsed (issue #16)
from tests.test_stations import create_station, make_org, station_login

OCTOBER = datetime.date(2026, 10, 1)


def _at(day, hour=9):
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=timezone.get_current_timezone())


def _worker(station, name="王社工"):
    return station_worker_add_manual(station=station, actor=station.account, data=dict(
        name=name, gender="female", id_number=make_id_number(), mobile="", employer="", level="none",
        certificate_no="", is_head=False, practice_since=None, joined_on=datetime.date(2024, 1, 1)))


def _activity(station, lead, started, clients=(), workers=(), category="case", deleted=False, n=[0]):
    n[0] += 1
    a = Activity.objects.create(station=station, category=category, code=f"T-{n[0]}", name=f"活动{n[0]}",
                                lead_worker=lead, contact_phone="1", service_domains=["elderly_care"],
                                started_at=started, deleted_at=timezone.now() if deleted else None)
    a.clients.set(clients)
    a.workers.set(workers)
    return a


@pytest.fixture
def station_with_october(alice, regions):
    """Two activities in October (clients 甲乙 and 乙丙), one in November, one deleted in October."""
    station, _pw = create_station(alice, regions)
    lead = _worker(station)
    helper = _worker(station, "李社工")
    c1, c2, c3 = (Client.objects.create(station=station, name=n, gender="female", person_types=t)
                  for n, t in (("甲", ["elderly"]), ("乙", ["elderly", "disabled"]), ("丙", [])))
    _activity(station, lead, _at(datetime.date(2026, 10, 3)), [c1, c2], [lead, helper])
    _activity(station, lead, _at(datetime.date(2026, 10, 31), 23), [c2, c3], [lead], category="group")
    _activity(station, lead, _at(datetime.date(2026, 11, 1), 0), [c1, c2, c3], [lead])
    _activity(station, lead, _at(datetime.date(2026, 10, 10)), [c1], [lead], deleted=True)
    return station


def test_figures_equal_a_hand_count(station_with_october):
    assert month_figures(station_with_october.pk, OCTOBER) == {
        "activity_count": 2, "persons_served": 3, "person_times": 4}
    figures = workbench_figures(station_with_october.pk, *summaries_month(OCTOBER))
    assert figures["totals"] == {"activities": 2, "worker_times": 3, "clients": 3, "person_times": 4}
    assert figures["activities"][:2] == [1, 1]  # case, group
    by_type = dict(zip(figures["type_labels"], figures["type_times"], strict=True))
    # 甲 (elderly) 1 time, 乙 (elderly + disabled) 2 times, 丙 (no type → other) 1 time.
    from services.models import PersonType

    assert by_type[str(PersonType.ELDERLY.label)] == 3
    assert by_type[str(PersonType.DISABLED.label)] == 2
    assert by_type[str(PersonType.OTHER.label)] == 1


def summaries_month(month):
    from services.stats import month_bounds

    return month_bounds(month)


def test_figures_cannot_be_typed_and_freeze_at_submit(station_with_october, client):
    station = station_with_october
    station_login(client, station)
    client.post(reverse("services:summary-new"), {"month": "2026-10"})
    summary = MonthlySummary.objects.get(station=station, month=OCTOBER)
    client.post(reverse("services:summary-edit", args=[summary.pk]), {
        "text": "本月开展个案和小组服务。", "activity_count": 99, "persons_served": 99, "action": "submit"})
    summary.refresh_from_db()
    assert summary.status == State.SUBMITTED
    assert (summary.activity_count, summary.persons_served, summary.person_times) == (2, 3, 4)
    # Activities recorded later do not change a submitted summary.
    _activity(station, station.workers.first(), _at(datetime.date(2026, 10, 20)))
    summary.refresh_from_db()
    assert summary.activity_count == 2


def test_submit_locks_return_unlocks_resubmit_approve(station_with_october, alice, client):
    station = station_with_october
    summary = summaries.summary_start(station=station, month=OCTOBER, actor=station.account)
    with pytest.raises(WorkflowError):
        summaries.summary_submit(summary=summary, actor=station.account)  # nothing written yet
    summaries.summary_save(summary=summary, text="十月总结", document=None, actor=station.account)
    summaries.summary_submit(summary=summary, actor=station.account)
    assert summary.final_region.name == "越秀区"
    with pytest.raises(WorkflowError):
        summaries.summary_save(summary=summary, text="改", document=None, actor=station.account)

    summaries.summary_decide(summary=summary, actor=alice, action="return", comment="请补充服务成效")
    summary.refresh_from_db()
    assert summary.status == State.RETURNED and summary.is_editable
    message = station.account.messages.get()
    assert message.body == "请补充服务成效" and message.link == reverse("services:summary-detail", args=[summary.pk])

    station_login(client, station)
    page = client.get(reverse("services:summary-edit", args=[summary.pk])).content.decode()
    assert "请补充服务成效" in page
    summaries.summary_save(summary=summary, text="十月总结（补充成效）", document=None, actor=station.account)
    summaries.summary_submit(summary=summary, actor=station.account)
    summaries.summary_decide(summary=summary, actor=alice, action="approve")
    summary.refresh_from_db()
    assert summary.status == State.APPROVED and not summary.is_editable
    assert [r.action for r in summary.review_log] == ["submit", "return", "submit", "approve"]


def test_comment_required_to_return_and_city_reads_only(station_with_october, alice, city_official):
    station = station_with_october
    summary = summaries.summary_start(station=station, month=OCTOBER, actor=station.account)
    summaries.summary_save(summary=summary, text="总结", document=None, actor=station.account)
    summaries.summary_submit(summary=summary, actor=station.account)
    with pytest.raises(WorkflowError):
        summaries.summary_decide(summary=summary, actor=alice, action="return", comment="")
    with pytest.raises(ReviewNotPermitted):
        summaries.summary_decide(summary=summary, actor=city_official, action="approve")
    assert summary.available_actions(city_official) == []
    assert set(summary.available_actions(alice)) == {"approve", "return"}


def test_one_summary_per_month_and_not_for_the_future(alice, regions):
    station, _pw = create_station(alice, regions)
    first = summaries.summary_start(station=station, month=OCTOBER, actor=station.account)
    assert summaries.summary_start(station=station, month=datetime.date(2026, 10, 15), actor=station.account) == first
    future = (timezone.localdate().replace(day=1) + datetime.timedelta(days=40)).replace(day=1)
    with pytest.raises(WorkflowError):
        summaries.summary_start(station=station, month=future, actor=station.account)


def test_operator_organization_submits_for_its_station(alice, regions):
    today = timezone.localdate()
    org = make_org(regions)
    station, _pw = create_station(alice, regions, operators=[
        {"organization": org, "valid_from": today, "valid_to": today + datetime.timedelta(days=60)}])
    summary = summaries.summary_start(station=station, month=OCTOBER, actor=station.account)
    summaries.summary_save(summary=summary, text="承办机构提交", document=None, actor=org.account)
    summaries.summary_submit(summary=summary, actor=org.account)
    assert summary.status == State.SUBMITTED and summary.submitted_by == org.account
    outsider = make_org(regions, name="别的机构", uscc="91440104MA5CVVVV4V")
    other = summaries.summary_start(station=create_station(alice, regions, name="另一站")[0], month=OCTOBER,
                                    actor=alice)
    summaries.summary_save(summary=other, text="x", document=None, actor=alice)
    with pytest.raises(ReviewNotPermitted):
        summaries.summary_submit(summary=other, actor=outsider.account)


def test_document_checked_by_content(alice, regions, client, media):
    station, _pw = create_station(alice, regions)
    summary = summaries.summary_start(station=station, month=OCTOBER, actor=station.account)
    station_login(client, station)
    url = reverse("services:summary-edit", args=[summary.pk])
    fake = SimpleUploadedFile("总结.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    page = client.post(url, {"text": "x", "document": fake, "action": "save"}).content.decode()
    assert "invalid-feedback" in page
    summary.refresh_from_db()
    assert not summary.document
    pdf = SimpleUploadedFile("十月总结.pdf", pdf_bytes(), content_type="application/pdf")
    client.post(url, {"text": "x", "document": pdf, "action": "save"})
    summary.refresh_from_db()
    assert summary.document and summary.document_name == "十月总结.pdf"
    assert not summary.document.name.endswith("十月总结.pdf")  # stored under a random name
    response = client.get(reverse("services:summary-document", args=[summary.pk]))
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF-")


def test_officials_scope_and_queue(station_with_october, alice, charlie, client, django_assert_max_num_queries):
    station = station_with_october
    summary = summaries.summary_start(station=station, month=OCTOBER, actor=station.account)
    summaries.summary_save(summary=summary, text="总结", document=None, actor=station.account)
    summaries.summary_submit(summary=summary, actor=station.account)
    client.force_login(alice)
    with django_assert_max_num_queries(15):
        page = client.get(reverse("services:summary-queue")).content.decode()
    assert station.name in page and "2026-10" in page
    client.force_login(charlie)
    assert station.name not in client.get(reverse("services:summary-queue"), {"scope": "all"}).content.decode()
    assert client.get(reverse("services:summary-review", args=[summary.pk])).status_code == 404
    assert client.post(reverse("services:summary-decide", args=[summary.pk]),
                       {"action": "approve"}).status_code == 404
    assert client.get(reverse("services:summary-document", args=[summary.pk])).status_code == 404


def test_completeness_lists_stations_that_have_not_submitted(alice, charlie, regions, client,
                                                             django_assert_max_num_queries):
    done, _pw = create_station(alice, regions, name="已交站")
    draft, _pw = create_station(alice, regions, name="草稿站", region=regions["北京街道"])
    nothing, _pw = create_station(alice, regions, name="未动站")
    for s in (done, draft, nothing):
        Station = type(s)
        Station.objects.filter(pk=s.pk).update(created_at=_at(datetime.date(2026, 9, 1)))
    summary = summaries.summary_start(station=done, month=OCTOBER, actor=done.account)
    summaries.summary_save(summary=summary, text="x", document=None, actor=done.account)
    summaries.summary_submit(summary=summary, actor=done.account)
    summaries.summary_start(station=draft, month=OCTOBER, actor=draft.account)

    client.force_login(alice)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("services:summary-completeness"), {"month": "2026-10"})
    page = response.content.decode()
    assert response.context["total"] == 3 and response.context["submitted"] == 1 and response.context["rate"] == 33
    missing = [s.name for s in response.context["page"]]
    assert sorted(missing) == ["未动站", "草稿站"]
    assert "已交站" not in page.split('data-testid="missing-table"')[1]
    # The region tree narrows it; the sibling county sees none of these.
    response = client.get(reverse("services:summary-completeness"),
                          {"month": "2026-10", "region": regions["北京街道"].pk})
    assert [s.name for s in response.context["page"]] == ["草稿站"]
    client.force_login(charlie)
    assert client.get(reverse("services:summary-completeness"), {"month": "2026-10"}).context["total"] == 0


def test_completeness_says_a_region_without_stations_has_none_rather_than_all_submitted(alice, charlie, regions,
                                                                                        client):
    create_station(alice, regions, name="越秀站")
    client.force_login(charlie)  # 荔湾区: no stations at all
    response = client.get(reverse("services:summary-completeness"), {"month": "2026-10"})
    page = response.content.decode()
    assert response.context["total"] == 0
    assert 'data-testid="no-stations"' in page and "没有社工站" in page
    assert "均已提交" not in page and 'data-testid="missing-table"' not in page
    assert 'data-testid="c-rate">—<' in page
    # A chosen town without stations names the town.
    client.force_login(alice)
    response = client.get(reverse("services:summary-completeness"),
                          {"month": "2026-10", "region": regions["北京街道"].pk})
    assert "北京街道在 2026-10 没有社工站" in response.content.decode()


def test_completeness_says_all_submitted_only_when_there_are_stations_and_all_did(alice, regions, client):
    station, _pw = create_station(alice, regions, name="已交站")
    type(station).objects.filter(pk=station.pk).update(created_at=_at(datetime.date(2026, 9, 1)))
    summary = summaries.summary_start(station=station, month=OCTOBER, actor=station.account)
    summaries.summary_save(summary=summary, text="x", document=None, actor=station.account)
    summaries.summary_submit(summary=summary, actor=station.account)
    client.force_login(alice)
    page = client.get(reverse("services:summary-completeness"), {"month": "2026-10"}).content.decode()
    assert 'data-testid="all-submitted"' in page and "全部 1 个社工站均已提交" in page
    assert 'data-testid="no-stations"' not in page


def test_station_workbench_shows_the_four_statistics(station_with_october, client, django_assert_max_num_queries):
    station = station_with_october
    station_login(client, station)
    # Signed in as a password login is (the backend that loads the user with its region).
    client.force_login(station.account, backend="accounts.backends.IdentifierBackend")
    with django_assert_max_num_queries(15):
        response = client.get(reverse("reports:workbench"), {"period": "2026-10"})
    page = response.content.decode()
    charts = response.context["charts"]
    assert charts["totals"] == {"activities": 2, "worker_times": 3, "clients": 3, "person_times": 4}
    assert 'id="workbench-data"' in page and page.count("<canvas data-chart") == 4
    assert response.context["ongoing_count"] == 3  # the deleted one is not counted
    assert response.context["worker_count"] == 2
    # A year view adds November's activity.
    assert client.get(reverse("reports:workbench"), {"period": "2026"}).context["charts"]["totals"]["activities"] == 3
    # Nonsense falls back to this month rather than failing.
    assert client.get(reverse("reports:workbench"), {"period": "20x6-1"}).status_code == 200


def test_a_submitted_month_keeps_its_activities(station_with_october, alice):
    """Figures reported in a submitted summary stay true: its month's activities cannot be added, moved,
    deleted or given other clients, but an October case may still be ended with its summary record."""
    from services.activities import ActivityError, activity_delete, activity_save

    station = station_with_october
    summary = summaries.summary_start(station=station, month=OCTOBER, actor=station.account)
    summaries.summary_save(summary=summary, text="十月", document=None, actor=station.account)
    summaries.summary_submit(summary=summary, actor=station.account)
    case = Activity.objects.get(station=station, category="case", deleted_at__isnull=True,
                                started_at__month=10)
    lead = case.lead_worker
    common = dict(status="ongoing", name=case.name, lead_worker=lead, contact_phone="1",
                  service_domains=["elderly_care"], started_at=case.started_at, ended_at=None, location="",
                  volunteer_count=0)
    details = {"process": "p", "source": "walk_in", "intake_form": "phone", "intake_at": case.started_at,
               "intake_place": "站内"}
    clients = list(case.clients.all())
    with pytest.raises(ActivityError):  # a new activity in October
        activity_save(station=station, category="case", data=common, details=details, summary={},
                      clients=clients, workers=[lead], actor=station.account)
    with pytest.raises(ActivityError):  # other clients
        activity_save(station=station, activity=case, category="case", data=common, details=details, summary={},
                      clients=clients[:1] + list(Client.objects.filter(name="丙")), workers=[lead],
                      actor=station.account)
    with pytest.raises(ActivityError):  # moved to November
        activity_save(station=station, activity=case, category="case",
                      data={**common, "started_at": _at(datetime.date(2026, 11, 2))}, details=details, summary={},
                      clients=clients, workers=[lead], actor=station.account)
    with pytest.raises(ActivityError):
        activity_delete(activity=case, actor=station.account)
    # Ending the case in a later month is allowed: the October figures do not change.
    ended = activity_save(
        station=station, activity=case, category="case",
        data={**common, "status": "ended", "ended_at": _at(datetime.date(2026, 11, 20))}, details=details,
        summary={"assessment": "a", "goals_reached": "g", "closure": "goals_met"}, clients=clients, workers=[lead],
        actor=station.account)
    assert ended.status == "ended"
    assert month_figures(station.pk, OCTOBER) == {"activity_count": 2, "persons_served": 3, "person_times": 4}
    # Once returned, October is open again.
    summaries.summary_decide(summary=summary, actor=alice, action="return", comment="请核对")
    activity_delete(activity=case, actor=station.account)


def test_station_summary_list_query_count_does_not_grow(alice, regions, client, django_assert_max_num_queries):
    station, _pw = create_station(alice, regions)
    summaries.summary_start(station=station, month=OCTOBER, actor=station.account)
    station_login(client, station)
    with django_assert_max_num_queries(15) as first:
        client.get(reverse("services:summary-list"))
    for month in range(1, 10):
        summaries.summary_start(station=station, month=datetime.date(2026, month, 1), actor=station.account)
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(reverse("services:summary-list"))
    assert len(response.context["page"]) == 10
