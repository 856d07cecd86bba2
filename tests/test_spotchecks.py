"""Province spot checks (抽查) and rectifications (整改), issue #13: reproducible scoped draws, results, the
rectification round trip through the shared review workflow, the report and its export."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts.models import User
from notices.models import Message
from registration.models import RegistrationApplication
from spotchecks import services
from spotchecks.models import Rectification, SampleMode, SpotCheckBatch, SpotCheckItem, SpotCheckResult
from swms.models import ReviewLog
from swms.workflow import CommentRequired, ReviewNotPermitted, State
from tests.conftest import make_user
from tests.factories import QualificationFactory, RegistrationFactory, SocialWorkerFactory

pytestmark = pytest.mark.usefixtures("english")

DAY = datetime.date(2025, 3, 10)


def _at(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))


def approved_registration(regions, town, day=DAY, *, status=State.APPROVED, initial="越秀区", final="广州市",
                          reviewers=None):
    """A registration whose application was approved on `day` by `initial` then `final` (review log rows)."""
    worker = SocialWorkerFactory(work_region=regions[town])
    qualification = QualificationFactory(id_number=worker.id_number, name=worker.name)
    application = RegistrationApplication.objects.create(
        applicant=worker.user, worker=worker, kind="first", qualification=qualification, region=regions[town],
        pickup="mail", status=status, decided_at=_at(day), submitted_at=_at(day - datetime.timedelta(days=3)),
        initial_region=regions[initial] if initial else None, final_region=regions[final])
    reviewers = reviewers or {}
    for step, office in (("initial", initial), ("final", final)):
        if office and status == State.APPROVED:
            actor = reviewers.get(office) or make_user(f"rv_{office}_{worker.pk}", "official", regions[office])
            ReviewLog.objects.create(item=application, action="approve", step=step, actor=actor,
                                     actor_region=regions[office], from_state="submitted", to_state="approved",
                                     comment=f"{office}审核通过", created_at=_at(day))
    return RegistrationFactory(worker=worker, qualification=qualification, application=application,
                               region=regions[town])


@pytest.fixture
def registry(regions):
    """广州市 6, 深圳市 3, 东莞市 2 approved in range; one approved too late, one still in review, one in 北京."""
    reviewers = {name: make_user(f"reviewer_{i}", "official", regions[name])
                 for i, name in enumerate(["越秀区", "荔湾区", "广州市", "福田区", "深圳市", "东莞市", "东城区", "北京市"])}
    made = {"广州市": [], "深圳市": [], "东莞市": []}
    for i in range(6):
        made["广州市"].append(approved_registration(regions, ["洪桥街道", "北京街道", "沙面街道"][i % 3],
                                                    DAY + datetime.timedelta(days=i),
                                                    initial="荔湾区" if i % 3 == 2 else "越秀区", reviewers=reviewers))
    for _i in range(3):
        made["深圳市"].append(approved_registration(regions, "福田区", initial="福田区", final="深圳市", reviewers=reviewers))
    for _i in range(2):
        made["东莞市"].append(approved_registration(regions, "东城街道", initial=None, final="东莞市", reviewers=reviewers))
    made["late"] = approved_registration(regions, "洪桥街道", DAY + datetime.timedelta(days=60), reviewers=reviewers)
    made["pending"] = approved_registration(regions, "洪桥街道", status=State.COUNTY_APPROVED, reviewers=reviewers)
    made["beijing"] = approved_registration(regions, "东华门街道", initial="东城区", final="北京市", reviewers=reviewers)
    return made


def _draw(province_official, regions, **kw):
    params = dict(actor=province_official, province=regions["广东省"], approved_from=DAY,
                  approved_to=DAY + datetime.timedelta(days=30), cities=None, mode=SampleMode.COUNT, amount=2)
    params.update(kw)
    return services.batch_draw(**params)


def _sample(batch):
    return sorted(batch.items.values_list("registration_id", flat=True))


def test_same_seed_draws_the_same_items_and_another_seed_differs(registry, regions, province_official):
    first = _draw(province_official, regions, seed="abc")
    again = _draw(province_official, regions, seed="abc")
    assert _sample(first) == _sample(again)
    samples = {tuple(_sample(_draw(province_official, regions, seed=f"s{i}"))) for i in range(6)}
    assert len(samples) > 1  # 广州 has C(6,2)=15 draws, 深圳 3: six seeds cannot all agree
    assert first.seed == "abc" and first.created_by == province_official and first.candidate_count == 11


def test_a_batch_without_seed_gets_a_random_one_and_is_recorded(registry, regions, province_official):
    batch = _draw(province_official, regions)
    assert len(batch.seed) == 16 and batch.created_at is not None
    assert _draw(province_official, regions, seed=batch.seed).items.count() == batch.items.count()


def test_n_per_city_takes_at_most_n_from_each_city(registry, regions, province_official):
    batch = _draw(province_official, regions, amount=2)
    by_city = {c: batch.items.filter(city__name=c).count() for c in ("广州市", "深圳市", "东莞市")}
    assert by_city == {"广州市": 2, "深圳市": 2, "东莞市": 2}
    assert batch.items.count() == len(set(_sample(batch)))  # no registration twice
    batch = _draw(province_official, regions, amount=5)
    assert batch.items.filter(city__name="东莞市").count() == 2  # never more than there are


def test_percentage_per_city_rounds_up_and_takes_at_least_one(registry, regions, province_official):
    batch = _draw(province_official, regions, mode=SampleMode.PERCENT, amount=20)
    # 广州 6 × 20 % = 1.2 → 2; 深圳 3 × 20 % = 0.6 → 1; 东莞 2 × 20 % = 0.4 → 1.
    assert {c: batch.items.filter(city__name=c).count() for c in ("广州市", "深圳市", "东莞市")} == {
        "广州市": 2, "深圳市": 1, "东莞市": 1}
    assert services.sample_size(0, SampleMode.PERCENT, 50) == 0
    assert services.sample_size(7, SampleMode.PERCENT, 100) == 7


def test_only_registrations_approved_in_the_range_of_the_chosen_cities_are_drawn(registry, regions,
                                                                                  province_official):
    batch = _draw(province_official, regions, amount=100)
    drawn = set(_sample(batch))
    assert drawn == {r.pk for c in ("广州市", "深圳市", "东莞市") for r in registry[c]}
    assert not drawn & {registry["late"].pk, registry["pending"].pk, registry["beijing"].pk}
    narrow = _draw(province_official, regions, amount=100, approved_from=DAY, approved_to=DAY + datetime.timedelta(days=1),
                   cities=[regions["广州市"]])
    assert set(_sample(narrow)) == {registry["广州市"][0].pk, registry["广州市"][1].pk}
    assert list(narrow.cities.all()) == [regions["广州市"]]


def test_the_same_registration_is_not_drawn_twice_in_a_batch(registry, regions, province_official):
    from django.db import IntegrityError, transaction

    batch = _draw(province_official, regions)
    item = batch.items.first()
    with pytest.raises(IntegrityError), transaction.atomic():
        SpotCheckItem.objects.create(batch=batch, registration=item.registration, city=item.city)


def test_a_city_official_cannot_draw_nor_see_the_province_batch(client, registry, regions, province_official,
                                                               city_official):
    with pytest.raises(ReviewNotPermitted):
        _draw(city_official, regions, province=regions["广东省"])
    batch = _draw(province_official, regions)
    client.force_login(city_official)
    assert client.get(reverse("spotchecks:batch-new")).status_code == 403
    assert client.get(reverse("spotchecks:batch-detail", args=[batch.pk])).status_code == 404
    assert client.get(reverse("spotchecks:item-detail", args=[batch.items.first().pk])).status_code == 404
    beijing = make_user("bj_province", "official", regions["北京市"])
    client.force_login(beijing)
    assert client.get(reverse("spotchecks:batch-detail", args=[batch.pk])).status_code == 404
    assert client.get(reverse("spotchecks:batch-report", args=[batch.pk])).status_code == 404
    with pytest.raises(ReviewNotPermitted):
        _draw(beijing, regions)  # not their province


def test_the_province_draws_through_the_form(client, registry, regions, province_official):
    client.force_login(province_official)
    response = client.post(reverse("spotchecks:batch-new"), {
        "title": "三月抽查", "approved_from": "2025-03-01", "approved_to": "2025-04-30",
        "cities": [regions["广州市"].pk, regions["深圳市"].pk], "mode": "count", "amount": "1", "seed": "form"})
    batch = SpotCheckBatch.objects.get(title="三月抽查")
    assert response.status_code == 302 and response["Location"] == reverse("spotchecks:batch-detail", args=[batch.pk])
    assert batch.items.count() == 2 and batch.seed == "form"
    page = client.get(response["Location"]).content.decode()
    assert "form" in page and province_official.display_name() in page


def test_results_are_recorded_and_a_problem_needs_a_description(registry, regions, province_official):
    batch = _draw(province_official, regions)
    item = batch.items.first()
    services.item_record(item=item, actor=province_official, result=SpotCheckResult.PASS)
    item.refresh_from_db()
    assert item.result == "pass" and item.checked_by == province_official and item.checked_at
    assert item.history.first().history_user == province_official
    other = batch.items.exclude(pk=item.pk).first()
    with pytest.raises(services.SpotCheckError):
        services.item_record(item=other, actor=province_official, result=SpotCheckResult.PROBLEM, description=" ")
    assert not Rectification.objects.exists()


def test_a_problem_goes_back_to_the_approving_office_and_closes_when_the_province_accepts(
        client, registry, regions, province_official, city_official, alice):
    batch = _draw(province_official, regions, cities=[regions["广州市"]], amount=6)
    item = batch.items.get(registration=registry["广州市"][0])
    services.item_record(item=item, actor=province_official, result=SpotCheckResult.PROBLEM,
                         description="继续教育证明与登记信息不符")
    rectification = Rectification.objects.get(item=item)
    assert rectification.office == regions["广州市"] and rectification.status == State.DRAFT
    assert rectification.get_status_display() == "Awaiting rectification"
    # The office's officials are told in their inbox, with a link to their task list; nobody else is.
    inbox = Message.objects.filter(link=reverse("spotchecks:rectification-list"))
    office_officials = set(User.objects.officials().filter(region=regions["广州市"], is_active=True))
    assert city_official in office_officials
    assert {m.user for m in inbox} == office_officials and len(inbox) == len(office_officials)
    assert "继续教育证明与登记信息不符" in inbox[0].body
    # The city's task list shows it with an answer form; the county below does not see it (404).
    client.force_login(city_official)
    page = client.get(reverse("spotchecks:rectification-list")).content.decode()
    assert "继续教育证明与登记信息不符" in page and 'data-testid="answer-form"' in page
    client.force_login(alice)
    assert client.get(reverse("spotchecks:rectification-review", args=[rectification.pk])).status_code == 404
    assert "继续教育证明与登记信息不符" not in client.get(reverse("spotchecks:rectification-list")).content.decode()
    # The province may not answer for the office; the office answers.
    with pytest.raises(ReviewNotPermitted):
        services.rectification_answer(rectification=rectification, actor=province_official, answer="x")
    client.force_login(city_official)
    response = client.post(reverse("spotchecks:rectification-answer", args=[rectification.pk]),
                           {f"r{rectification.pk}-answer": "已核实并更正学时记录"})
    assert response.status_code == 302
    rectification.refresh_from_db()
    assert rectification.status == State.SUBMITTED and rectification.answer == "已核实并更正学时记录"
    assert list(Rectification.objects.review_queue(province_official)) == [rectification]
    assert not Rectification.objects.review_queue(city_official).exists()
    # The province sends it back (a comment is required), the office answers again, the province accepts.
    with pytest.raises(CommentRequired):
        services.rectification_decide(rectification=rectification, actor=province_official, action="return")
    client.force_login(province_official)
    client.post(reverse("spotchecks:rectification-decide", args=[rectification.pk]),
                {"action": "return", "comment": "请附上更正后的学时证明"})
    rectification.refresh_from_db()
    assert rectification.status == State.RETURNED
    assert rectification.get_status_display() == "Sent back for more work"
    assert inbox.filter(body="请附上更正后的学时证明", user=city_official).exists()
    client.force_login(city_official)
    page = client.get(reverse("spotchecks:rectification-list")).content.decode()
    assert "请附上更正后的学时证明" in page
    services.rectification_answer(rectification=rectification, actor=city_official, answer="已补充证明")
    client.force_login(province_official)
    client.post(reverse("spotchecks:rectification-decide", args=[rectification.pk]), {"action": "approve"})
    rectification.refresh_from_db()
    assert rectification.status == State.APPROVED and rectification.decided_at
    assert rectification.get_status_display() == "Accepted" and inbox.all().count() == 3 * len(office_officials)
    assert [(r.action, r.actor_region.name) for r in rectification.review_log] == [
        ("submit", "广州市"), ("return", "广东省"), ("submit", "广州市"), ("approve", "广东省")]
    assert not Rectification.objects.open().exists()
    report = client.get(reverse("spotchecks:batch-report", args=[batch.pk])).content.decode()
    assert "No open rectifications." in report
    # Once a rectification exists the result no longer changes.
    with pytest.raises(services.SpotCheckError):
        services.item_record(item=item, actor=province_official, result=SpotCheckResult.PASS)


def test_the_checker_may_send_the_problem_to_the_county_that_did_the_initial_review(registry, regions,
                                                                                   province_official, alice):
    batch = _draw(province_official, regions, cities=[regions["广州市"]], amount=6)
    item = batch.items.get(registration=registry["广州市"][0])
    services.item_record(item=item, actor=province_official, result=SpotCheckResult.PROBLEM, description="照片不符",
                         office_step="initial")
    rectification = Rectification.objects.get(item=item)
    assert rectification.office == regions["越秀区"]
    assert rectification.is_applicant(alice) and not rectification.is_applicant(province_official)


def test_the_report_gives_the_pass_rate_per_city(client, registry, regions, province_official):
    batch = _draw(province_official, regions, amount=2)
    gz = list(batch.items.filter(city=regions["广州市"]))
    services.item_record(item=gz[0], actor=province_official, result=SpotCheckResult.PASS)
    services.item_record(item=gz[1], actor=province_official, result=SpotCheckResult.PROBLEM, description="问题")
    client.force_login(province_official)
    response = client.get(reverse("spotchecks:batch-report", args=[batch.pk]))
    rows = {r["city__name"]: r for r in response.context["report"]["rows"]}
    assert rows["广州市"]["rate"] == 50.0 and rows["广州市"]["open"] == 1
    assert rows["深圳市"]["rate"] is None and rows["深圳市"]["checked"] == 0
    # The report exports its own table, a total row last.
    response = client.get(reverse("spotchecks:batch-report", args=[batch.pk]), {"export": "xlsx"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    table = {r[0]: r[1:] for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert table["广州市"] == (2, 2, 1, 1, 50.0, 1)
    assert table["深圳市"][:2] == (2, 0) and table["深圳市"][4] in (None, "")
    assert list(table)[-1] == "Total" and table["Total"][0] == sum(v[0] for k, v in table.items() if k != "Total")


def test_the_export_holds_the_filtered_rows_with_masked_id_numbers(client, registry, regions, province_official):
    batch = _draw(province_official, regions, amount=2)
    gz = list(batch.items.filter(city=regions["广州市"]))
    services.item_record(item=gz[0], actor=province_official, result=SpotCheckResult.PROBLEM, description="资料缺失")
    client.force_login(province_official)
    url = reverse("spotchecks:batch-detail", args=[batch.pk])
    response = client.get(url, {"city": regions["广州市"].pk, "result": "problem", "export": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    worker = gz[0].registration.worker
    assert len(rows) == 2 and rows[1][1] == gz[0].registration.registration_no
    assert rows[1][3] == worker.id_number[:6] + "********" + worker.id_number[-4:]
    assert worker.id_number not in str(rows)
    assert rows[1][7] == "资料缺失"
    # Out of scope: another province's official gets nothing.
    client.force_login(make_user("bj_export", "official", regions["北京市"]))
    assert client.get(url, {"export": "xlsx"}).status_code == 404


def test_batch_page_and_item_page_keep_their_query_counts(client, registry, regions, province_official,
                                                          django_assert_max_num_queries):
    batch = _draw(province_official, regions, amount=100)
    for item in batch.items.all()[:3]:
        services.item_record(item=item, actor=province_official, result=SpotCheckResult.PROBLEM, description="问题")
    client.force_login(province_official)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("spotchecks:batch-detail", args=[batch.pk]))
    assert len(response.context["page"]) == 11
    with django_assert_max_num_queries(14):
        client.get(reverse("spotchecks:batch-report", args=[batch.pk]))
    item = batch.items.filter(result="problem").first()
    with django_assert_max_num_queries(22):
        response = client.get(reverse("spotchecks:item-detail", args=[item.pk]))
    page = response.content.decode()
    assert "越秀区审核通过" in page or "荔湾区审核通过" in page  # both review steps and their comments
    assert "广州市审核通过" in page
    assert item.registration.worker.id_number not in page


def matrix_objects(regions, province_official, registration) -> dict:
    """For the permission matrix: a 广东省 batch sampling the 洪桥街道 registration, and its rectification,
    open for 广州市 (the city above the matrix's county)."""
    batch = SpotCheckBatch.objects.create(region=regions["广东省"], approved_from=DAY, approved_to=DAY, amount=1,
                                          created_by=province_official)
    item = SpotCheckItem.objects.create(batch=batch, registration=registration, city=regions["广州市"],
                                        result=SpotCheckResult.PROBLEM, description="问题")
    rectification = Rectification.objects.create(item=item, office=regions["广州市"], problem="问题",
                                                 created_by=province_official)
    return {"spotcheck_batch": batch, "spotcheck_item": item, "rectification": rectification}
