"""Service activities (manual 2.6): the seven categories declared once, codes, the summary rule, the
station's pages, and the officials' read-only list with its filter panel and export."""

import datetime
import io
import re
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.urls import reverse
from openpyxl import load_workbook

from services.activities import ActivityError, activity_delete, activity_save
from services.categories import CATEGORIES
from services.forms_activities import activity_form_class
from services.models import Activity, ActivityCodeCounter, Client
from stations import services as station_services
from tests.factories import make_id_number
from tests.test_stations import create_station, registered, station_login

pytestmark = pytest.mark.usefixtures("english")  # messages asserted in their English source

TZ = ZoneInfo("Asia/Shanghai")
NOV = datetime.datetime(2026, 11, 2, 9, 0, tzinfo=TZ)
CATEGORY_KEYS = [str(k) for k in CATEGORIES]


# --- helpers -------------------------------------------------------------------------------------


def add_worker(station, name="王社工"):
    return station_services.station_worker_add_manual(
        station=station, data={"name": name, "gender": "female", "id_number": make_id_number()}, actor=station.account,
    )


def add_client(station, name="李阿姨", person_types=("elderly",)):
    return Client.objects.create(station=station, name=name, gender="female", person_types=list(person_types))


def sample_value(field, *, form: bool):
    """A valid value of a declared field, as the form posts it or as Python passes it to the service."""
    values = {
        "text": ("示例", "示例"),
        "textarea": ("过程记录", "过程记录"),
        "date": ("2026-11-02", datetime.date(2026, 11, 2)),
        "datetime": ("2026-11-02T10:30", datetime.datetime(2026, 11, 2, 10, 30, tzinfo=TZ)),
        "int": ("3", 3),
    }
    if field.kind == "choice":
        return field.choices[0][0]
    return values[field.kind][0 if form else 1]


def declared(fields, *, form: bool, prefix=""):
    return {f"{prefix}{f.name}": sample_value(f, form=form) for f in fields}


def form_data(category, worker, clients=(), status="ongoing", summary=True, **overrides):
    spec = CATEGORIES[category]
    data = {
        "status": status, "name": "长者关爱", "lead_worker": str(worker.pk), "contact_phone": "020-12345678",
        "service_domains": ["elderly_care"], "started_at": "2026-11-02T09:00",
        "ended_at": "2026-11-02T11:00" if status == "ended" else "", "location": "活动室", "volunteer_count": "2",
        "clients": [str(c.pk) for c in clients], "workers": [str(worker.pk)],
        **declared(spec.basic, form=True, prefix="basic_"),
    }
    if summary:
        data.update(declared(spec.summary, form=True, prefix="summary_"))
    data.update(overrides)
    return data


def make_activity(station, worker, clients=(), category="case", status="ongoing", started_at=NOV, actor=None,
                  **data):
    spec = CATEGORIES[category]
    common = {"status": status, "name": "长者关爱", "lead_worker": worker, "contact_phone": "020-1",
              "service_domains": ["elderly_care"], "started_at": started_at,
              "ended_at": started_at + datetime.timedelta(hours=2) if status == "ended" else None,
              "location": "", "volunteer_count": 0}
    common.update(data)
    return activity_save(
        station=station, category=category, data=common, details=declared(spec.basic, form=False),
        summary=declared(spec.summary, form=False), clients=list(clients), workers=[worker],
        actor=actor or station.account,
    )


@pytest.fixture
def hq(alice, regions):
    """The 洪桥街道 station with a worker and two clients."""
    station, _pw = create_station(alice, regions)
    return {"station": station, "worker": add_worker(station),
            "clients": [add_client(station), add_client(station, "张伯", ("disabled", "dibao"))]}


def save(hq, **kw):
    return make_activity(hq["station"], hq["worker"], hq["clients"][:1], **kw)


# --- the per-category forms, built from the registry -------------------------------------------------


@pytest.mark.parametrize("category", CATEGORY_KEYS)
def test_each_category_form_requires_its_basic_fields(hq, category):
    spec = CATEGORIES[category]
    form_class = activity_form_class(category)
    data = form_data(category, hq["worker"], hq["clients"])
    assert form_class(data, station=hq["station"]).is_valid()
    assert {f"basic_{f.name}" for f in spec.basic} <= set(form_class.base_fields)
    for field in spec.basic:
        form = form_class({**data, f"basic_{field.name}": ""}, station=hq["station"])
        assert form.is_valid() is not field.required, field.name
        if field.required:
            assert f"basic_{field.name}" in form.errors


@pytest.mark.parametrize("category", CATEGORY_KEYS)
def test_service_refuses_a_missing_basic_field(hq, category):
    spec = CATEGORIES[category]
    required = [f for f in spec.basic if f.required]
    assert required  # every category declares something to fill in
    details = declared(spec.basic, form=False)
    details.pop(required[0].name)
    with pytest.raises(ActivityError):
        activity_save(station=hq["station"], category=category, data={
            "status": "ongoing", "name": "x", "lead_worker": hq["worker"], "contact_phone": "1",
            "service_domains": ["other"], "started_at": NOV}, details=details, summary={},
            clients=hq["clients"], workers=[], actor=hq["station"].account)
    assert not Activity.objects.exists()


@pytest.mark.parametrize("category", CATEGORY_KEYS)
def test_ended_requires_the_summary_and_ongoing_drops_it(hq, category):
    spec = CATEGORIES[category]
    form_class = activity_form_class(category)
    required = {f"summary_{f.name}" for f in spec.summary if f.required}
    ended = form_class(form_data(category, hq["worker"], hq["clients"], status="ended", summary=False),
                       station=hq["station"])
    assert not ended.is_valid()
    assert required and required <= set(ended.errors)
    no_end = form_class(form_data(category, hq["worker"], hq["clients"], status="ended", ended_at=""),
                        station=hq["station"])
    assert not no_end.is_valid() and "ended_at" in no_end.errors
    # In progress: the summary is ignored, even a value that would not validate.
    ongoing = form_class({**form_data(category, hq["worker"], hq["clients"]),
                          **{k: "not a number" for k in required}}, station=hq["station"])
    assert ongoing.is_valid(), ongoing.errors
    assert all(v is None for v in ongoing.summary().values())


def test_service_ended_without_summary_is_refused(hq):
    with pytest.raises(ActivityError):
        activity_save(station=hq["station"], category="group", data={
            "status": "ended", "name": "x", "lead_worker": hq["worker"], "contact_phone": "1",
            "service_domains": ["other"], "started_at": NOV, "ended_at": NOV + datetime.timedelta(hours=1)},
            details=declared(CATEGORIES["group"].basic, form=False), summary={"sessions_held": 3},
            clients=hq["clients"], workers=[], actor=hq["station"].account)
    with pytest.raises(ActivityError):  # ended without an end
        save(hq, status="ended", ended_at=None)
    assert not Activity.objects.exists()


def test_going_back_in_progress_clears_the_summary(hq):
    activity = save(hq, status="ended")
    assert activity.summary["closure"] == "goals_met" and activity.summary["assessment"] == "过程记录"
    spec = CATEGORIES["case"]
    activity = activity_save(
        station=hq["station"], activity=activity, category="case",
        data={"status": "ongoing", "name": "继续跟进", "lead_worker": hq["worker"], "contact_phone": "1",
              "service_domains": ["elderly_care"], "started_at": NOV},
        details=declared(spec.basic, form=False), summary=declared(spec.summary, form=False),
        clients=hq["clients"], workers=[], actor=hq["station"].account,
    )
    activity.refresh_from_db()
    assert activity.summary == {} and activity.name == "继续跟进"


def test_values_are_stored_as_declared_json(hq):
    activity = save(hq, status="ended")
    activity.refresh_from_db()
    assert activity.details == {"process": "过程记录", "source": "walk_in", "intake_form": "face_to_face",
                                "intake_at": "2026-11-02T10:30:00+08:00", "intake_place": "示例"}
    assert "referred_to" in activity.summary  # optional, but given
    with pytest.raises(ActivityError):  # a choice that is not offered
        activity_save(
            station=hq["station"], category="visit", data={
                "status": "ongoing", "name": "x", "lead_worker": hq["worker"], "contact_phone": "1",
                "service_domains": ["other"], "started_at": NOV},
            details={"visit_type": "teleport", "purpose": "p"}, summary={}, clients=hq["clients"], workers=[],
            actor=hq["station"].account)


def test_end_before_start_is_refused(hq):
    with pytest.raises(ActivityError):
        save(hq, ended_at=NOV - datetime.timedelta(minutes=1))
    form = activity_form_class("case")(
        form_data("case", hq["worker"], hq["clients"], ended_at="2026-11-01T09:00"), station=hq["station"])
    assert not form.is_valid() and "ended_at" in form.errors


def test_clients_required_where_the_category_says_so(hq):
    with pytest.raises(ActivityError):
        make_activity(hq["station"], hq["worker"], [], category="case")
    community = make_activity(hq["station"], hq["worker"], [], category="community")
    assert community.clients.count() == 0
    form = activity_form_class("visit")(form_data("visit", hq["worker"], []), station=hq["station"])
    assert not form.is_valid() and "clients" in form.errors
    assert activity_form_class("volunteer")(form_data("volunteer", hq["worker"], []), station=hq["station"]).is_valid()


# --- codes ---------------------------------------------------------------------------------------


def test_codes_sequential_per_station_month_and_never_reused(hq, alice, regions):
    station = hq["station"]
    first, second = save(hq), save(hq, category="group")
    assert first.code == f"{station.code}-202611-0001" and second.code == f"{station.code}-202611-0002"
    # Just after midnight on 1 December in China (still 30 November in UTC) counts for December.
    december = save(hq, started_at=datetime.datetime(2026, 12, 1, 0, 30, tzinfo=TZ))
    assert december.code == f"{station.code}-202612-0001"
    activity_delete(activity=second, actor=station.account)
    assert save(hq).code == f"{station.code}-202611-0003"
    other, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    assert make_activity(other, add_worker(other), [add_client(other)]).code == f"{other.code}-202611-0001"
    assert ActivityCodeCounter.objects.get(station=station, month=datetime.date(2026, 11, 1)).last == 3


def test_editing_keeps_the_code(hq):
    activity = save(hq)
    spec = CATEGORIES["case"]
    activity_save(station=hq["station"], activity=activity, category="case", data={
        "status": "ongoing", "name": "改名", "lead_worker": hq["worker"], "contact_phone": "1",
        "service_domains": ["other"], "started_at": datetime.datetime(2027, 1, 5, 9, 0, tzinfo=TZ)},
        details=declared(spec.basic, form=False), summary={}, clients=hq["clients"], workers=[],
        actor=hq["station"].account)
    activity.refresh_from_db()
    assert activity.code.endswith("-202611-0001") and activity.name == "改名"


@pytest.mark.django_db(transaction=True)
def test_two_activities_saved_at_once_get_different_codes(regions, alice):
    station, _pw = create_station(alice, regions)
    worker, client = add_worker(station), add_client(station)
    barrier = threading.Barrier(2)
    codes, errors = [], []

    def create():
        try:
            barrier.wait(timeout=10)
            codes.append(make_activity(station, worker, [client]).code)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)
        finally:
            connection.close()

    threads = [threading.Thread(target=create) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(codes) == [f"{station.code}-202611-0001", f"{station.code}-202611-0002"]


# --- people of another station -------------------------------------------------------------------


def test_workers_and_clients_of_another_station_are_refused(hq, alice, regions):
    other, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    foreign_worker, foreign_client = add_worker(other, "外站社工"), add_client(other, "外站居民")
    with pytest.raises(ActivityError):
        make_activity(hq["station"], foreign_worker, hq["clients"])  # lead worker
    with pytest.raises(ActivityError):
        make_activity(hq["station"], hq["worker"], [foreign_client])
    spec = CATEGORIES["case"]
    with pytest.raises(ActivityError):
        activity_save(station=hq["station"], category="case", data={
            "status": "ongoing", "name": "x", "lead_worker": hq["worker"], "contact_phone": "1",
            "service_domains": ["other"], "started_at": NOV}, details=declared(spec.basic, form=False), summary={},
            clients=hq["clients"], workers=[foreign_worker], actor=hq["station"].account)
    assert not Activity.objects.exists()
    # The form does not even offer them.
    form = activity_form_class("case")(
        form_data("case", foreign_worker, [foreign_client]), station=hq["station"])
    assert not form.is_valid() and {"lead_worker", "clients", "workers"} <= set(form.errors)


def test_a_worker_who_left_or_a_deleted_client_cannot_be_chosen_but_stay_on_old_activities(hq):
    station = hq["station"]
    leaver = add_worker(station, "离职社工")
    activity = make_activity(station, leaver, hq["clients"])
    station_services.station_worker_leave(worker=leaver, left_on=leaver.joined_on, reason="调动",
                                          actor=station.account)
    leaver.refresh_from_db()
    with pytest.raises(ActivityError):
        make_activity(station, leaver, hq["clients"])
    Client.objects.filter(pk=hq["clients"][1].pk).update(deleted_at=NOV)
    gone = Client.objects.get(pk=hq["clients"][1].pk)
    with pytest.raises(ActivityError):
        make_activity(station, hq["worker"], [gone])
    # Editing the old activity keeps the people it already had.
    form = activity_form_class("case")(
        form_data("case", leaver, hq["clients"], name="回顾"), station=station, activity=activity)
    assert form.is_valid(), form.errors
    activity_save(station=station, activity=activity, category="case", data=form.common_data(),
                  details=form.details(), summary=form.summary(), clients=form.cleaned_data["clients"],
                  workers=[leaver], actor=station.account)
    activity.refresh_from_db()
    assert activity.lead_worker == leaver and activity.name == "回顾"


# --- station pages -------------------------------------------------------------------------------


def test_station_creates_an_ended_activity_through_the_page(hq, client):
    station_login(client, hq["station"])
    page = client.get(reverse("services:activity-new", args=["case"]))
    assert page.status_code == 200
    html = page.content.decode()
    for field in (*CATEGORIES["case"].basic, *CATEGORIES["case"].summary):
        assert f'name="{"basic" if field in CATEGORIES["case"].basic else "summary"}_{field.name}"' in html
    assert 'type="datetime-local"' in html and "<script" not in html.split("</head>")[1]
    response = client.post(reverse("services:activity-new", args=["case"]),
                           form_data("case", hq["worker"], hq["clients"], status="ended"))
    activity = Activity.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("services:activity-detail",
                                                                           args=[activity.pk])
    assert activity.status == "ended" and activity.summary["closure"] == "goals_met"
    assert activity.created_by == hq["station"].account
    assert activity.history.latest().history_user == hq["station"].account
    assert set(activity.clients.all()) == set(hq["clients"]) and list(activity.workers.all()) == [hq["worker"]]
    detail = client.get(response["Location"]).content.decode()
    for label in ("Case process", "Case source", "Came by themselves", "Assessment", "Closure or referral",
                  "2026-11-02 10:30", "张伯", activity.code):
        assert label in detail


def test_station_edits_an_activity_through_the_page(hq, client):
    activity = save(hq)
    station_login(client, hq["station"])
    page = client.get(reverse("services:activity-edit", args=[activity.pk])).content.decode()
    assert 'value="2026-11-02T10:30"' in page  # the stored ISO value back in the datetime input
    response = client.post(reverse("services:activity-edit", args=[activity.pk]),
                           form_data("case", hq["worker"], hq["clients"], name="已改名", status="ended"))
    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.name == "已改名" and activity.status == "ended" and activity.summary


# --- the client picker ---------------------------------------------------------------------------


def _search(client, q, **extra):
    response = client.get(reverse("services:activity-client-search"), {"q": q, **extra})
    assert response.status_code == 200
    return response.content.decode()


def test_picker_finds_clients_by_name_whole_id_and_phone_with_masked_numbers(hq, client):
    station = hq["station"]
    li, zhang = hq["clients"]
    Client.objects.filter(pk=li.pk).update(id_number="11010519491231002X", phone="13912345678")
    Client.objects.filter(pk=zhang.pk).update(id_number="440104195001011234", phone="02083001234")
    station_login(client, station)
    by_name = _search(client, "李")
    assert f'data-pick="{li.pk}"' in by_name and f'data-pick="{zhang.pk}"' not in by_name
    # ID and phone numbers are encrypted at rest (P2): a whole number matches, a part of one does not.
    by_tail = _search(client, "002x")
    assert "data-pick" not in by_tail
    assert "data-pick" not in _search(client, "8300")
    by_phone = _search(client, "02083001234")
    assert f'data-pick="{zhang.pk}"' in by_phone and f'data-pick="{li.pk}"' not in by_phone
    by_whole_id = _search(client, "440104195001011234")
    assert f'data-pick="{zhang.pk}"' in by_whole_id
    # Never a full ID number or phone in the answer: masked as everywhere else.
    for html in (by_name, by_tail, by_phone, by_whole_id):
        assert "11010519491231002X" not in html and "440104195001011234" not in html
        assert "13912345678" not in html and "02083001234" not in html
    assert "110105********002X" in by_name and "139****5678" in by_name
    # Nothing typed, nothing listed; chosen ones are left out; no match says so.
    assert "data-pick" not in _search(client, "  ")
    assert f'data-pick="{li.pk}"' not in _search(client, "李", clients=[str(li.pk)])
    assert 'data-testid="picker-empty"' in _search(client, "没有这个人")


def test_picker_posts_what_is_typed_so_no_id_number_is_in_a_query_string(hq, client):
    """P4: the picker's htmx request is a POST (the CSRF token comes from the page's hx-headers)."""
    station = hq["station"]
    li, _zhang = hq["clients"]
    Client.objects.filter(pk=li.pk).update(id_number="11010519491231002X")
    station_login(client, station)
    form = client.get(reverse("services:activity-new", args=["case"])).content.decode()
    assert f'hx-post="{reverse("services:activity-client-search")}"' in form and "hx-get=" not in form.split(
        'data-testid="client-search"')[0].rsplit("<input", 1)[-1]
    found = client.post(reverse("services:activity-client-search"), {"q": "11010519491231002x"})
    assert f'data-pick="{li.pk}"' in found.content.decode()


def test_picker_never_returns_another_stations_or_deleted_clients(hq, client, alice, charlie, regions):
    other, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    far, _pw = create_station(charlie, regions, name="沙面街道社工站", region=regions["沙面街道"])
    neighbour = add_client(other, "李邻居")
    stranger = add_client(far, "李远方")
    gone = add_client(hq["station"], "李已删")
    Client.objects.filter(pk=gone.pk).update(deleted_at=NOV)
    station_login(client, hq["station"])
    html = _search(client, "李")
    assert f'data-pick="{hq["clients"][0].pk}"' in html
    for c in (neighbour, stranger, gone):
        assert f'data-pick="{c.pk}"' not in html
    # The neighbouring station sees its own only.
    station_login(client, other)
    html = _search(client, "李")
    assert f'data-pick="{neighbour.pk}"' in html and f'data-pick="{hq["clients"][0].pk}"' not in html


def test_picker_returns_at_most_twenty_and_says_there_are_more(hq, client):
    for i in range(25):
        add_client(hq["station"], f"王{i:02d}")
    station_login(client, hq["station"])
    html = _search(client, "王")
    assert html.count("data-pick=") == 20 and 'data-testid="picker-more"' in html


def test_activity_form_has_the_picker_not_a_select_of_every_client(hq, client, alice, regions):
    other, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    add_client(other, "别站的人")
    station_login(client, hq["station"])
    html = client.get(reverse("services:activity-new", args=["case"])).content.decode()
    assert 'data-client-picker' in html and 'name="clients"' not in html.split("<template")[0]
    assert '<select name="clients"' not in html and "Hold Ctrl" not in html
    assert "李阿姨" not in html and "别站的人" not in html  # no client listed before searching
    assert reverse("services:activity-client-search") in html
    zh = client.get(reverse("services:activity-new", args=["case"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "按住 Ctrl" not in zh.content.decode() and "多选" not in zh.content.decode()


def test_chosen_clients_come_back_as_chips_after_an_error_and_on_edit(hq, client, alice, regions):
    li, zhang = hq["clients"]
    other, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    foreign = add_client(other, "别站的人")
    station_login(client, hq["station"])
    response = client.post(reverse("services:activity-new", args=["case"]),
                           form_data("case", hq["worker"], [li, zhang], name=""))
    html = response.content.decode()
    assert response.status_code == 200
    chips = html.split('data-testid="client-chips"')[1].split("</ul>")[0]
    assert f'name="clients" value="{li.pk}"' in chips and f'name="clients" value="{zhang.pk}"' in chips
    # A client of another station posted by hand is refused and never shown as a chip.
    response = client.post(reverse("services:activity-new", args=["case"]),
                           form_data("case", hq["worker"], [li, foreign]))
    assert "clients" in response.context["form"].errors and not Activity.objects.exists()
    assert "别站的人" not in response.content.decode()
    activity = save(hq)
    chips = client.get(reverse("services:activity-edit", args=[activity.pk])).content.decode()
    assert f'name="clients" value="{li.pk}"' in chips.split('data-testid="client-chips"')[1].split("</ul>")[0]


def test_a_long_form_lists_its_errors_at_the_top_linking_to_each_field(hq, client):
    station_login(client, hq["station"])
    data = form_data("group", hq["worker"], status="ended", summary=False, name="", service_domains=[])
    response = client.post(reverse("services:activity-new", args=["group"]), data)
    html = response.content.decode()
    assert response.status_code == 200
    summary = html.split('data-testid="error-summary"')[1].split("</div>")[0]
    form = response.context["form"]
    assert {"name", "service_domains", "summary_sessions_held"} <= set(form.errors)
    for name in form.errors:
        anchor = f"id_{name}_0" if name == "service_domains" else f"id_{name}"
        assert f'href="#{anchor}"' in summary and f'id="{anchor}"' in html  # every link lands on a field
    assert "Activity name: This field is required." in summary
    assert summary.count("<li>") == sum(len(e) for e in form.errors.values())
    # Nothing to correct, no summary.
    page = client.get(reverse("services:activity-new", args=["group"])).content.decode()
    assert 'data-testid="error-summary"' not in page


def test_shared_form_rendering_shows_the_error_summary_when_asked():
    from django import forms
    from django.template.loader import render_to_string

    class Small(forms.Form):
        title = forms.CharField(label="Title")
        kind = forms.ChoiceField(label="Kind", choices=[("a", "A"), ("b", "B")], widget=forms.RadioSelect)

        def clean(self):
            raise forms.ValidationError("Not now.")

    form = Small(data={})
    form.is_valid()
    with_summary = render_to_string("includes/form_fields.html", {"form": form, "error_summary": True})
    assert 'data-testid="error-summary"' in with_summary
    assert 'href="#id_title"' in with_summary and 'href="#id_kind_0"' in with_summary and "Not now." in with_summary
    plain = render_to_string("includes/form_fields.html", {"form": form})
    assert 'data-testid="error-summary"' not in plain and "Not now." in plain


def test_unknown_category_is_404(hq, client):
    station_login(client, hq["station"])
    assert client.get("/services/activities/bogus/").status_code == 404
    assert client.get("/services/activities/bogus/new/").status_code == 404
    assert client.get(reverse("services:activity-list", args=["volunteer"])).status_code == 200


def test_overview_counts_equal_a_hand_count(hq, client, alice, regions):
    plan = {"case": 3, "group": 1, "community": 2, "volunteer": 1}
    made = []
    for category, n in plan.items():
        for i in range(n):
            made.append(save(hq, category=category, status="ended" if i == 0 else "ongoing"))
    activity_delete(activity=made[0], actor=hq["station"].account)  # a deleted case does not count
    other, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    make_activity(other, add_worker(other), [add_client(other)], category="visit")  # another station's
    station_login(client, hq["station"])
    response = client.get(reverse("services:activity-overview"))
    counts = {str(r["category"].key): (r["total"], r["ongoing"]) for r in response.context["rows"]}
    expected = {}
    for key in CATEGORY_KEYS:
        rows = [a for a in made if a.category == key and a.pk != made[0].pk]
        expected[key] = (len(rows), sum(a.status == "ongoing" for a in rows))
    assert counts == expected
    assert counts["case"] == (2, 2) and counts["visit"] == (0, 0)
    html = response.content.decode()
    for key in CATEGORY_KEYS:
        assert reverse("services:activity-list", args=[key]) in html
    assert re.search(r'data-testid="count-community">\s*2<', html)


def test_station_list_search_and_status(hq, client):
    a = save(hq, name="独居长者探访")
    b = save(hq, name="助餐服务", status="ended")
    save(hq, category="group", name="独居长者小组")  # another category
    station_login(client, hq["station"])
    url = reverse("services:activity-list", args=["case"])

    def codes(**params):
        return {x.code for x in client.get(url, params).context["page"]}

    assert codes() == {a.code, b.code}
    assert codes(q="独居") == {a.code}
    assert codes(q=b.code) == {b.code}
    assert codes(status="ended") == {b.code}


def test_delete_is_soft_and_the_code_stays(hq, client):
    activity = save(hq)
    station_login(client, hq["station"])
    url = reverse("services:activity-delete", args=[activity.pk])
    assert client.get(url).status_code == 200
    Activity.objects.get(pk=activity.pk)  # GET changed nothing
    assert Activity.objects.active().count() == 1
    response = client.post(url)
    assert response.status_code == 302
    activity.refresh_from_db()
    assert activity.deleted_at is not None
    assert activity.history.latest().history_user == hq["station"].account
    assert client.get(reverse("services:activity-detail", args=[activity.pk])).status_code == 404
    assert activity.code not in client.get(reverse("services:activity-list", args=["case"])).content.decode()


def test_another_station_gets_404(hq, client, alice, regions):
    activity = save(hq)
    other, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    station_login(client, other)
    for name in ("services:activity-detail", "services:activity-edit", "services:activity-delete"):
        assert client.get(reverse(name, args=[activity.pk])).status_code == 404, name
    assert client.post(reverse("services:activity-delete", args=[activity.pk])).status_code == 404
    assert client.post(reverse("services:activity-edit", args=[activity.pk]),
                       form_data("case", hq["worker"], hq["clients"], name="篡改")).status_code == 404
    activity.refresh_from_db()
    assert activity.deleted_at is None and activity.name == "长者关爱"


def test_organization_works_in_the_station_it_operates(hq, client, regions):
    from tests.test_stations import make_org

    org = make_org(regions)
    today = datetime.date.today()
    station_services.station_update(
        actor=hq["station"].created_by, station=hq["station"], data={}, funding=[],
        operators=[{"organization": org, "valid_from": today, "valid_to": today + datetime.timedelta(days=30)}])
    activity = save(hq)
    client.force_login(org.account)
    assert client.get(reverse("services:activity-detail", args=[activity.pk])).status_code == 200


# --- officials -----------------------------------------------------------------------------------


@pytest.fixture
def spread(hq, alice, charlie, regions):
    """Activities in 洪桥街道 and 北京街道 (越秀区) and one in 沙面街道 (荔湾区), varied for every filter."""
    station = hq["station"]
    elderly, disabled = hq["clients"]
    bj, _pw = create_station(alice, regions, name="北京街道社工站", region=regions["北京街道"])
    bj_worker = add_worker(bj, "赵敏")
    child = add_client(bj, "小明", ("child",))
    sm, _pw = create_station(charlie, regions, name="沙面街道社工站", region=regions["沙面街道"])
    return {
        "case": make_activity(station, hq["worker"], [elderly], name="独居长者个案"),
        "group": make_activity(station, hq["worker"], [disabled], category="group", status="ended",
                               name="残疾人互助小组", service_domains=["disability"],
                               started_at=datetime.datetime(2026, 10, 15, 9, 0, tzinfo=TZ)),
        "visit": make_activity(bj, bj_worker, [child], category="visit", name="儿童探访",
                               service_domains=["child_welfare", "education"],
                               started_at=datetime.datetime(2026, 12, 3, 9, 0, tzinfo=TZ)),
        "community": make_activity(bj, bj_worker, [add_client(bj, "小红", ("distressed_child",))],
                                   category="community", name="社区义诊"),
        "liwan": make_activity(sm, add_worker(sm, "孙华"), [add_client(sm)], name="荔湾个案"),
        "bj": bj,
    }


def official_codes(client, **params):
    response = client.get(reverse("services:official-activity-list"), params)
    assert response.status_code == 200
    return {a.code for a in response.context["page"]}


def test_officials_list_is_scoped_and_outsider_gets_404(spread, client, alice, charlie):
    yuexiu = {spread[k].code for k in ("case", "group", "visit", "community")}
    client.force_login(alice)
    assert official_codes(client) == yuexiu
    assert client.get(reverse("services:official-activity-detail", args=[spread["case"].pk])).status_code == 200
    assert client.get(reverse("services:official-activity-detail", args=[spread["liwan"].pk])).status_code == 404
    client.force_login(charlie)
    assert official_codes(client) == {spread["liwan"].code}
    for key in ("case", "group", "visit", "community"):
        assert client.get(reverse("services:official-activity-detail", args=[spread[key].pk])).status_code == 404
    # Charlie cannot reach 越秀区 through the region tree either.
    assert client.get(reverse("services:official-activity-list"),
                      {"region": spread["bj"].region_id}).status_code == 404


def test_each_filter_narrows_correctly(spread, client, alice, regions):
    client.force_login(alice)
    s = {k: v.code for k, v in spread.items() if k != "bj"}
    assert official_codes(client, region=regions["北京街道"].pk) == {s["visit"], s["community"]}
    assert official_codes(client, category="group") == {s["group"]}
    assert official_codes(client, status="ended") == {s["group"]}
    assert official_codes(client, domain="education") == {s["visit"]}
    assert official_codes(client, domain="child_welfare") == {s["visit"]}
    assert official_codes(client, started_from="2026-11-01") == {s["case"], s["visit"], s["community"]}
    assert official_codes(client, started_to="2026-11-02") == {s["case"], s["group"], s["community"]}
    assert official_codes(client, started_from="2026-11-02", started_to="2026-11-02") == {s["case"], s["community"]}
    assert official_codes(client, worker="赵") == {s["visit"], s["community"]}
    assert official_codes(client, person_type="disabled") == {s["group"]}
    assert official_codes(client, person_type="child") == {s["visit"]}  # not the "distressed_child" one
    assert official_codes(client, person_type="distressed_child") == {s["community"]}
    assert official_codes(client, person_type="orphan") == set()
    assert official_codes(client, station="北京街道") == {s["visit"], s["community"]}
    assert official_codes(client, station=spread["bj"].code) == {s["visit"], s["community"]}
    assert official_codes(client, q="长者") == {s["case"]}
    assert official_codes(client, category="case", status="ongoing", person_type="elderly") == {s["case"]}


def test_filter_panel_opens_when_its_conditions_are_used(spread, client, alice):
    client.force_login(alice)
    closed = client.get(reverse("services:official-activity-list"), {"category": "case"}).content.decode()
    assert 'class="collapse" id="more-filters"' in closed
    opened = client.get(reverse("services:official-activity-list"), {"worker": "赵"}).content.decode()
    assert 'class="collapse show" id="more-filters"' in opened
    assert "<script" not in opened.split("</head>")[1] and "style=" not in opened


def test_export_is_the_filtered_list(spread, client, alice):
    client.force_login(alice)
    response = client.get(reverse("services:official-activity-list"), {"station": "北京街道", "export": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.values)
    assert rows[0][:4] == ("service code", "category", "activity name", "status")
    by_code = {r[0]: r for r in rows[1:]}
    assert set(by_code) == {spread["visit"].code, spread["community"].code}
    visit = by_code[spread["visit"].code]
    assert visit[1] == "Home visit" and visit[2] == "儿童探访" and visit[4] == "北京街道社工站"
    assert visit[7] == "赵敏" and visit[10] == datetime.datetime(2026, 12, 3, 9, 0) and visit[13] == 1


def test_official_detail_shows_the_declared_sections(spread, client, alice):
    client.force_login(alice)
    group = client.get(reverse("services:official-activity-detail", args=[spread["group"].pk])).content.decode()
    for text in ("Group type", "Support group", "Sessions held", "Evaluation", "张伯", "残疾人互助小组"):
        assert text in group
    assert reverse("services:activity-edit", args=[spread["group"].pk]) not in group  # read-only
    case = client.get(reverse("services:official-activity-detail", args=[spread["case"].pk])).content.decode()
    assert 'data-testid="no-summary"' in case


def test_officials_do_not_see_deleted_activities(spread, client, alice):
    activity_delete(activity=spread["case"], actor=spread["case"].station.account)
    client.force_login(alice)
    assert spread["case"].code not in official_codes(client)
    assert client.get(reverse("services:official-activity-detail", args=[spread["case"].pk])).status_code == 404


# --- query counts --------------------------------------------------------------------------------


# The first bound leaves room for the page shell (session, user, navigation, inbox counts), which other
# parts of the project own; the second is the point: more rows, not one query more.
def test_official_list_query_count_does_not_grow(hq, client, alice, django_assert_max_num_queries):
    save(hq)
    client.force_login(alice)
    url = reverse("services:official-activity-list")
    params = {"person_type": "elderly", "domain": "elderly_care"}
    with django_assert_max_num_queries(20) as first:
        client.get(url, params)
    for i in range(12):
        save(hq, category=CATEGORY_KEYS[i % 7], status="ended" if i % 2 else "ongoing")
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(url, params)
    assert len(response.context["page"]) >= 5


def test_station_list_and_overview_query_counts_do_not_grow(hq, client, django_assert_max_num_queries):
    save(hq)
    station_login(client, hq["station"])
    url = reverse("services:activity-list", args=["case"])
    with django_assert_max_num_queries(20) as first_list:
        client.get(url)
    with django_assert_max_num_queries(20) as first_overview:
        client.get(reverse("services:activity-overview"))
    for i in range(10):
        save(hq, category=CATEGORY_KEYS[i % 2])
    with django_assert_max_num_queries(len(first_list.captured_queries)):
        assert len(client.get(url).context["page"]) == 6
    with django_assert_max_num_queries(len(first_overview.captured_queries)):
        client.get(reverse("services:activity-overview"))


def test_a_worker_synced_from_the_registry_can_lead(hq, regions):
    synced = station_services.station_worker_add_synced(
        station=hq["station"], social_worker=registered(regions), actor=hq["station"].account)
    assert make_activity(hq["station"], synced, hq["clients"]).lead_worker == synced


def test_picker_query_count_does_not_grow_with_the_matches(hq, client, django_assert_max_num_queries):
    station_login(client, hq["station"])
    with django_assert_max_num_queries(15) as few:
        _search(client, "张")
    for i in range(19):
        add_client(hq["station"], f"张{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = _search(client, "张")
    assert html.count("data-pick=") == 20
