"""Every review queue exports what its page shows: the same filters, scope, region and order; IDs masked."""

import csv
import datetime
import io

import pytest
from django.urls import reverse

from registration.models import RegistrationApplication
from services import summaries
from swms.models import ExportJob
from swms.review_queues import all_queues, queue_table
from swms.tasks import _JobRequest
from tests.conftest import login
from tests.registration_fixtures import submitted_application
from tests.test_stations import create_station

pytestmark = pytest.mark.usefixtures("english")


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200, response
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def _summary(station, month):
    summary = summaries.summary_start(station=station, month=month, actor=station.account)
    summaries.summary_save(summary=summary, text="本月总结", document=None, actor=station.account)
    return summaries.summary_submit(summary=summary, actor=station.account)


@pytest.fixture
def summaries_in_two_counties(regions, alice, charlie):
    yuexiu, _pw = create_station(alice, regions)
    liwan, _pw = create_station(charlie, regions, name="沙面街道社工站", region=regions["沙面街道"])
    for month in (datetime.date(2026, 8, 1), datetime.date(2026, 9, 1)):
        _summary(yuexiu, month)
    _summary(liwan, datetime.date(2026, 9, 1))


@pytest.mark.parametrize("queue", all_queues(), ids=lambda q: q.key)
@pytest.mark.parametrize("scope", ["mine", "all"])
def test_each_queue_exports_the_rows_of_its_page(queue, scope, summaries_in_two_counties, alice, city_official,
                                                 client):
    for user in (alice, city_official):
        login(client, user)
        url = reverse(queue.list_url) + f"?scope={scope}"
        page = client.get(url)
        assert page.status_code == 200
        shown = [(obj.queue_title, obj.queue_details) for obj in page.context["page"]]
        rows = _csv(client.get(url + "&export=csv"))
        assert len(rows) - 1 == page.context["page"].paginator.count
        assert [(r[0], r[1]) for r in rows[1:]][:25] == shown
        assert 'data-testid="export"' in page.content.decode()


def test_export_holds_the_filtered_scoped_masked_rows(regions, worker_in, alice, client, settings):
    mine = [submitted_application(worker_in("洪桥街道")) for _ in range(2)]
    other_town = submitted_application(worker_in("北京街道"))
    outsider = submitted_application(worker_in("沙面街道"))  # 荔湾区: not alice's
    login(client, alice)
    target = mine[0]
    base = reverse("registration:review-queue")
    query = f"?scope=all&region={regions['洪桥街道'].pk}&q={target.worker.name}&status=submitted"
    page = client.get(base + query)
    assert [obj.pk for obj in page.context["page"]] == [target.pk]
    rows = _csv(client.get(base + query + "&export=csv"))
    assert rows[0][:3] == ["Item", "Details", "Region"]
    assert [r[0] for r in rows[1:]] == [target.worker.name]
    text = "\n".join(",".join(r) for r in rows)
    id_number = target.worker.id_number
    assert id_number not in text and f"{id_number[:6]}********{id_number[-4:]}" in text
    assert rows[1][2] == "洪桥街道" and rows[1][6] == "越秀区" and rows[1][7] == "Waiting for your initial review"

    everything = _csv(client.get(base + "?scope=all&export=csv"))
    names = {r[0] for r in everything[1:]}
    assert {a.worker.name for a in (*mine, other_town)} <= names
    assert outsider.worker.name not in names
    # A region outside alice's scope is 404 for the export as for the page.
    assert client.get(base + f"?scope=all&region={regions['荔湾区'].pk}&export=csv").status_code == 404


def test_a_large_queue_export_becomes_a_job_that_rebuilds_the_same_rows(regions, worker_in, alice, client, settings):
    for town in ("洪桥街道", "北京街道"):
        submitted_application(worker_in(town))
    settings.SWMS_EXPORT_SYNC_ROWS = 1
    login(client, alice)
    base = reverse("registration:review-queue")
    response = client.get(base + f"?scope=all&region={regions['越秀区'].pk}&export=xlsx")
    assert response.status_code == 302
    job = ExportJob.objects.get(user=alice)
    assert "queue=applications" in job.params
    table = queue_table(_JobRequest(alice, job.params))
    assert table.total == 2 == RegistrationApplication.objects.filter(status="submitted").count()
    assert sorted(r[0] for r in table.rows) == sorted(
        a.worker.name for a in RegistrationApplication.objects.all())


def test_queue_export_query_count_does_not_grow(summaries_in_two_counties, regions, alice, client,
                                               django_assert_max_num_queries):
    login(client, alice)
    url = reverse("services:summary-queue") + "?scope=all&export=csv"
    with django_assert_max_num_queries(12):
        rows = _csv(client.get(url))
    assert len(rows) == 3
    station, _pw = create_station(alice, regions, name="第二站")
    _summary(station, datetime.date(2026, 8, 1))
    with django_assert_max_num_queries(12):
        assert len(_csv(client.get(url))) == 4
