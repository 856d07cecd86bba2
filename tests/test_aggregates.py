"""The statistics aggregates: every figure equals a direct count of the records (across the sibling
counties 越秀区 and 荔湾区), and the table kept incrementally by the services equals a rebuild."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Region
from registration.models import Registration, SocialWorker
from registration.selectors.worker import registration_state
from reports import aggregates
from reports.models import StatCount, StatRollup
from reports.statistics import period_from, statistics
from services import clients as client_services
from services import summaries
from services.activities import activity_delete, activity_save
from services.forms_clients import with_person_type
from services.models import Activity, Client, MonthlySummary
from stations import services as station_services
from stations.models import Station
from tests.factories import CERecordFactory, RegistrationFactory, SocialWorkerFactory
from tests.test_activities import add_worker, make_activity
from tests.test_stations import create_station
from tests.today import MONTH_START, TODAY

COUNTIES = ("越秀区", "荔湾区")


def _client(station, name, types):
    return Client.objects.create(station=station, name=name, gender="female", person_types=list(types))


def _registered(regions, town, *, valid_to, level="assistant", status=Registration.Status.VALID, hours=0):
    worker = SocialWorkerFactory(work_region=regions[town])
    reg = RegistrationFactory(worker=worker, qualification__level=level, status=status,
                              valid_from=valid_to - datetime.timedelta(days=3 * 365), valid_to=valid_to)
    if hours:
        CERecordFactory(worker=worker, hours=hours, completed_on=reg.valid_from + datetime.timedelta(days=10))
    return worker


@pytest.fixture
def world(regions, alice, charlie, media):
    """Stations, clients, activities, summaries and registrations in both counties."""
    hq, _ = create_station(alice, regions)
    bj, _ = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    hub, _ = create_station(alice, regions, name="越秀区社工总站", tier="hub", region=regions["越秀区"])
    gone, _ = create_station(alice, regions, name="撤销站")
    sm, _ = create_station(charlie, regions, name="沙面街道社工站", region=regions["沙面街道"])
    people = {}
    for station, names in ((hq, [("李阿姨", ["elderly"]), ("张伯", ["disabled", "dibao"]), ("小明", [])]),
                           (bj, [("王婆", ["elderly", "dibao"])]), (sm, [("陈叔", ["elderly"]), ("刘姐", ["dibao"])]),
                           (gone, [("旧人", ["elderly"])])):
        people[station.pk] = [_client(station, n, t) for n, t in names]
    client_services.client_delete(client=_client(hq, "已删", ["elderly"]), actor=alice)
    for station in (hq, bj, sm, gone):
        worker = add_worker(station)
        cs = people[station.pk]
        make_activity(station, worker, cs, category="case", started_at=MONTH_START)
        make_activity(station, worker, cs[:1], category="visit", started_at=MONTH_START)
        make_activity(station, worker, cs[:1], category="visit", started_at=MONTH_START - datetime.timedelta(days=40))
    Activity.objects.filter(pk=make_activity(hq, add_worker(hq, "赵"), people[hq.pk], category="group",
                                             started_at=MONTH_START).pk).update(deleted_at=timezone.now())
    summary = summaries.summary_start(station=hq, month=TODAY.replace(day=1), actor=hq.account)
    summary.text = "本月总结"
    summary.save()
    summaries.summary_submit(summary=summary, actor=hq.account)
    summaries.summary_start(station=sm, month=TODAY.replace(day=1), actor=sm.account)
    station_services.station_delete(actor=alice, station=gone, reason="合并")
    soon = TODAY + datetime.timedelta(days=30)
    later = TODAY + datetime.timedelta(days=400)
    past = TODAY - datetime.timedelta(days=10)
    _registered(regions, "洪桥街道", valid_to=later, hours=80)
    _registered(regions, "洪桥街道", valid_to=later, level="intermediate", hours=20)
    _registered(regions, "北京街道", valid_to=soon, level="senior")
    _registered(regions, "洪桥街道", valid_to=past)
    _registered(regions, "北京街道", valid_to=later, status=Registration.Status.FROZEN)
    _registered(regions, "沙面街道", valid_to=later, status=Registration.Status.REVOKED)
    _registered(regions, "沙面街道", valid_to=soon, hours=100)
    renewed = _registered(regions, "沙面街道", valid_to=past)  # renewed: the newer registration is current
    RegistrationFactory(worker=renewed, valid_from=past + datetime.timedelta(days=1),
                        valid_to=past + datetime.timedelta(days=3 * 365), kind="renewal")
    aggregates.rebuild()
    return {"hq": hq, "sm": sm}


def _figure(ctx, code):
    return next(f for f in ctx["figures"] if f.code == code)


def _row(fig, name):
    return next(r for r in fig.rows if r.label == name)


def _values(fig, name):
    return [c.value for c in _row(fig, name).cells]


# --- (a) Every figure equals a direct count ---------------------------------------------------------


def _direct_worker_states(county):
    counts = {}
    for worker in SocialWorker.objects.within(county):
        latest = worker.registrations.order_by("-valid_to").first()
        if latest is not None:
            state = registration_state(latest, on_date=TODAY)[0]
            counts[(latest.level, state)] = counts.get((latest.level, state), 0) + 1
    return counts


def test_worker_figures_equal_a_direct_count_per_county(world, regions):
    ctx = statistics(root=regions["广州市"], period=period_from({}, TODAY)[1])
    by_level, by_status, due = (_figure(ctx, c) for c in ("workers_level", "workers_status", "renewals_due"))
    for name in COUNTIES:
        direct = _direct_worker_states(regions[name])
        levels = [sum(v for (lvl, _s), v in direct.items() if lvl == want)
                  for want in ("assistant", "intermediate", "senior")]
        assert _values(by_level, name) == levels + [sum(levels)]
        states = [sum(v for (_l, s), v in direct.items() if s == want)
                  for want in ("valid", "expiring", "expired", "frozen", "revoked")]
        assert _values(by_status, name) == states + [sum(states)]
        assert _values(due, name)[-1] == states[1]
    assert _values(by_status, "越秀区") == [2, 1, 1, 1, 0, 5]
    assert _values(by_status, "荔湾区") == [1, 1, 0, 0, 1, 3]  # the renewed worker counts once, as valid
    assert [c.value for c in by_status.total.cells] == [3, 2, 1, 1, 1, 8]


def test_ce_compliance_counts_workers_in_force_meeting_their_hours(world, regions):
    ctx = statistics(root=regions["广州市"], period=period_from({}, TODAY)[1])
    ce = _figure(ctx, "ce")
    # 越秀区: in force 3 (80 h assistant meets 72; 20 h social worker and 0 h senior do not).
    assert _values(ce, "越秀区")[:3] == [3, 1, 2]
    # 荔湾区: in force 2 (100 h assistant meets; the renewal began yesterday-ish with no hours).
    assert _values(ce, "荔湾区")[:3] == [2, 1, 1]


def test_station_and_client_figures_equal_the_lists_counts(world, regions):
    ctx = statistics(root=regions["广州市"], period=period_from({}, TODAY)[1])
    stations, clients = _figure(ctx, "stations"), _figure(ctx, "clients")
    for name in COUNTIES:
        county = regions[name]
        live = Station.objects.active().within(county)
        assert _values(stations, name)[:4] == [live.filter(tier=t).count() for t in ("hub", "station", "room")] + [
            live.count()]
        listed = Client.objects.active().filter(station__deleted_at__isnull=True).within(county)
        row = _values(clients, name)
        assert row[-1] == listed.count()
        assert row[0] == with_person_type(listed, "elderly").count()
        assert row[6] == with_person_type(listed, "dibao").count()
    assert _values(stations, "越秀区")[:4] == [1, 2, 0, 3]
    assert _values(clients, "越秀区")[-1] == 4 and _values(clients, "荔湾区")[-1] == 2


def test_service_figures_equal_a_direct_count_for_the_month(world, regions):
    period = period_from({"period": "month", "month": f"{TODAY:%Y-%m}"}, TODAY)[1]
    ctx = statistics(root=regions["广州市"], period=period)
    start = MONTH_START.replace(minute=0)
    for name in COUNTIES:
        acts = Activity.objects.active().filter(station__deleted_at__isnull=True, started_at__gte=start).within(
            regions[name])
        links = Activity.clients.through.objects.filter(activity__in=acts)
        assert _values(_figure(ctx, "activities"), name)[-1] == acts.count()
        assert _values(_figure(ctx, "activities"), name)[0] == acts.filter(category="case").count()
        assert _values(_figure(ctx, "person_times"), name)[-1] == links.count()
        assert _values(_figure(ctx, "clients_served"), name)[-1] == links.values("client_id").distinct().count()
        assert _values(_figure(ctx, "worker_times"), name)[-1] == Activity.workers.through.objects.filter(
            activity__in=acts).count()
    assert _values(_figure(ctx, "activities"), "越秀区")[-1] == 4  # two stations × two; deleted ones left out
    assert _values(_figure(ctx, "person_times"), "越秀区")[-1] == 3 + 1 + 1 + 1


def test_summary_figures_count_submitted_and_expected_station_months(world, regions):
    period = period_from({"period": "month", "month": f"{TODAY:%Y-%m}"}, TODAY)[1]
    fig = _figure(statistics(root=regions["广州市"], period=period), "summaries")
    assert _values(fig, "越秀区")[:3] == [3, 1, 0]  # three live stations, one submitted
    assert _values(fig, "荔湾区")[:3] == [1, 0, 0]  # a draft is not submitted
    done = MonthlySummary.objects.filter(status__in=["submitted", "approved"], station__deleted_at__isnull=True)
    assert fig.total.cells[1].value == done.count()


def test_figures_link_to_the_lists_filtered_the_same_way(world, regions):
    period = period_from({"period": "month", "month": f"{TODAY:%Y-%m}"}, TODAY)[1]
    ctx = statistics(root=regions["广州市"], period=period)
    yx = regions["越秀区"].pk
    assert _row(_figure(ctx, "stations"), "越秀区").cells[1].url.endswith(f"?region={yx}&tier=station")
    assert f"region={yx}&person_type=elderly" in _row(_figure(ctx, "clients"), "越秀区").cells[0].url
    url = _row(_figure(ctx, "activities"), "越秀区").cells[0].url
    assert f"region={yx}&category=case&started_from={TODAY.replace(day=1).isoformat()}" in url


# --- (b) Incremental == rebuilt -----------------------------------------------------------------------


def _edit(activity, clients, **changes):
    from services.categories import CATEGORIES
    from tests.test_activities import declared

    spec = CATEGORIES[activity.category]
    data = {"status": activity.status, "name": activity.name, "lead_worker": activity.lead_worker,
            "contact_phone": activity.contact_phone, "service_domains": activity.service_domains,
            "started_at": activity.started_at, "ended_at": activity.ended_at, "location": "", "volunteer_count": 0}
    data.update(changes)
    return activity_save(station=activity.station, activity=activity, category=activity.category, data=data,
                         details=declared(spec.basic, form=False), summary=declared(spec.summary, form=False),
                         clients=clients, workers=[activity.lead_worker], actor=activity.station.account)


def _table():
    """Both tables: the leaf buckets and the subtree sums kept for every region."""
    fields = ("region_id", "day", "measure", "category", "value")
    return (sorted(StatCount.objects.values_list(*fields)), sorted(StatRollup.objects.values_list(*fields)))


def test_incremental_updates_equal_a_rebuild(regions, alice, charlie, city_official, worker_in,
                                             django_capture_on_commit_callbacks):
    from registration import review
    from tests.registration_fixtures import submitted_application

    with django_capture_on_commit_callbacks(execute=True):
        hq, _ = create_station(alice, regions)
        sm, _ = create_station(charlie, regions, name="沙面站", region=regions["沙面街道"])
        w_hq, w_sm = add_worker(hq), add_worker(sm)
        a = client_services.client_save(station=hq, data={"name": "李阿姨", "gender": "female",
                                                          "person_types": ["elderly"], "age": 70}, actor=alice)
        b = client_services.client_save(station=sm, data={"name": "陈叔", "gender": "male",
                                                          "person_types": ["dibao", "elderly"], "age": 66},
                                                          actor=charlie)
    with django_capture_on_commit_callbacks(execute=True):
        act = make_activity(hq, w_hq, [a], category="case", started_at=MONTH_START)
        make_activity(sm, w_sm, [b], category="visit", started_at=MONTH_START)
        gone = make_activity(hq, w_hq, [a], category="group", started_at=MONTH_START)
    with django_capture_on_commit_callbacks(execute=True):
        c = client_services.client_save(station=hq, data={"name": "张伯", "gender": "male", "age": 80}, actor=alice)
        _edit(act, [a, c], started_at=MONTH_START - datetime.timedelta(days=40))  # other month, clients
        activity_delete(activity=gone, actor=hq.account)
        client_services.client_delete(client=c, actor=alice)
        summary = summaries.summary_start(station=hq, month=TODAY.replace(day=1), actor=hq.account)
        summary.text = "总结"
        summary.save()
        summaries.summary_submit(summary=summary, actor=hq.account)
        summaries.summary_decide(summary=summary, actor=alice, action="approve")
    with django_capture_on_commit_callbacks(execute=True):  # a station moves to another town
        from tests.test_stations import station_data
        station_services.station_update(actor=alice, station=Station.objects.get(pk=hq.pk),
                                        data=station_data(regions, region=regions["北京街道"]), funding=[],
                                        operators=[])
    worker = worker_in()
    application = submitted_application(worker)
    with django_capture_on_commit_callbacks(execute=True):
        review.application_approve(application=application, actor=alice)
        review.application_approve(application=application, actor=city_official)
    with django_capture_on_commit_callbacks(execute=True):
        station_services.station_delete(actor=charlie, station=Station.objects.get(pk=sm.pk), reason="撤")
    incremental = _table()
    measures = {row[2] for row in incremental[0]}
    assert {"stations", "clients", "activities", "person_times", "summaries", "registrations", "workers"} <= measures
    by_station = StatCount.objects.filter(measure__in=["stations", "clients", "activities", "summaries"])
    assert not by_station.filter(region=regions["洪桥街道"]).exists()  # everything moved with the station
    assert by_station.filter(region=regions["北京街道"], measure="summaries", category="approved").exists()
    assert not by_station.filter(region=regions["沙面街道"]).exists()  # deleted station: off every count
    # The province's subtree sums hold every leaf bucket of its tree.
    province = {(d, m, c): v for r, d, m, c, v in incremental[1] if r == regions["广东省"].pk}
    leaves: dict = {}
    for r, d, m, c, v in incremental[0]:
        if Region.objects.get(pk=r).get_root().pk == regions["广东省"].pk:
            leaves[(d, m, c)] = leaves.get((d, m, c), 0) + v
    assert province == leaves
    aggregates.rebuild()
    assert _table() == incremental


def test_freezing_updates_the_worker_stock(regions, django_capture_on_commit_callbacks):
    from registration.freeze import registrations_freeze_overdue

    _registered(regions, "洪桥街道", valid_to=TODAY - datetime.timedelta(days=800))
    aggregates.rebuild()
    with django_capture_on_commit_callbacks(execute=True):
        assert registrations_freeze_overdue() == 1
    assert StatCount.objects.get(measure="workers").category == "assistant:frozen"
    incremental = _table()
    # The province's subtree sums hold every leaf bucket of its tree.
    province = {(d, m, c): v for r, d, m, c, v in incremental[1] if r == regions["广东省"].pk}
    leaves: dict = {}
    for r, d, m, c, v in incremental[0]:
        if Region.objects.get(pk=r).get_root().pk == regions["广东省"].pk:
            leaves[(d, m, c)] = leaves.get((d, m, c), 0) + v
    assert province == leaves
    aggregates.rebuild()
    assert _table() == incremental


# --- Rollup cost --------------------------------------------------------------------------------------


def test_statistics_query_count_does_not_grow_with_children(world, regions):
    period = period_from({}, TODAY)[1]
    province = regions["广东省"]
    with CaptureQueriesContext(connection) as before:
        statistics(root=province, period=period)
    for i in range(5):
        city = Region.objects.create(code=f"4451{i:02d}000000", name=f"新市{i}", level="city", parent=province)
        _registered({"x": city}, "x", valid_to=TODAY + datetime.timedelta(days=500))
    aggregates.rebuild()
    province.refresh_from_db()
    with CaptureQueriesContext(connection) as after:
        ctx = statistics(root=province, period=period)
    assert len(after) == len(before)
    assert len(_figure(ctx, "workers_level").rows) == 3 + 5
    assert _figure(ctx, "workers_level").total.cells[-1].value == 8 + 5


def test_booking_ce_hours_updates_the_ce_stock_at_once(regions, alice, city_official, worker_in,
                                                       django_capture_on_commit_callbacks):
    """A county accepting offline hours moves the CE compliance figure without waiting for the
    nightly rebuild, and the incremental tables still equal a rebuild."""
    from registration import review, services
    from swms.uploads import check_image_upload
    from tests.registration_fixtures import submitted_application
    from tests.test_uploads import png_upload

    worker = worker_in()
    application = submitted_application(worker)
    with django_capture_on_commit_callbacks(execute=True):
        review.application_approve(application=application, actor=alice)
        review.application_approve(application=application, actor=city_official)
    met = StatRollup.objects.filter(measure=aggregates.CE_MET, region=regions["越秀区"])
    assert not met.exists()
    registration = worker.registrations.get()
    claim = services.ce_claim_submit(
        worker=worker, data={"provider": "广州社工协会", "course": "督导", "started_on": registration.valid_from,
                             "finished_on": registration.valid_from, "hours": 72},
        proof=check_image_upload(png_upload(800, 600)),
    )
    with django_capture_on_commit_callbacks(execute=True):
        review.ce_claim_decide(claim=claim, actor=alice, action="approve")
    assert [(m.day, m.category, m.value) for m in met] == [(registration.valid_to, "assistant", 1)]
    incremental = _table()
    aggregates.rebuild()
    assert _table() == incremental


def test_stations_meeting_the_staffing_rules_follow_their_workers(regions, alice, charlie,
                                                                  django_capture_on_commit_callbacks):
    """A station counts as staffed once its head holds the intermediate qualification with two years of
    practice (Shenmu measures); the figure moves when the station's workers change, and equals a rebuild."""
    with django_capture_on_commit_callbacks(execute=True):
        hq, _ = create_station(alice, regions)
        create_station(charlie, regions, name="沙面站", region=regions["沙面街道"])
    ctx = lambda: statistics(root=regions["广州市"], period=period_from({}, TODAY)[1])  # noqa: E731
    staffed = lambda name: _values(_figure(ctx(), "stations"), name)[-1]  # noqa: E731
    assert staffed("越秀区") == 0 and staffed("荔湾区") == 0
    with django_capture_on_commit_callbacks(execute=True):
        head = add_worker(hq, name="黄站长")
        station_services.station_worker_update(worker=head, data={
            "is_head": True, "level": "intermediate", "certificate_no": "S-1",
            "practice_since": TODAY - datetime.timedelta(days=800)}, actor=alice)
    assert staffed("越秀区") == 1 and staffed("荔湾区") == 0
    incremental = _table()
    aggregates.rebuild()
    assert _table() == incremental
    with django_capture_on_commit_callbacks(execute=True):
        station_services.station_worker_leave(worker=head, left_on=TODAY, reason="调动", actor=alice)
    assert staffed("越秀区") == 0
