"""The roster-correction form's county: province → city → county selects, defaulting to the work region's
county; the posted region must be a county-level office (东莞: the city itself)."""

import pytest
from django.urls import reverse

from registration.models import RosterCorrectionRequest
from tests.factories import SocialWorkerFactory
from tests.test_uploads import png_upload


@pytest.fixture
def worker(regions, media):
    return SocialWorkerFactory(work_region=regions["洪桥街道"])


def post(client, worker, region, action="save"):
    client.force_login(worker.user)
    return client.post(reverse("registration:correction-new"), {
        "region": region.pk, "level": "assistant", "certificate_no": "ZS2024000123", "exam_year": 2024,
        "issuing_province": "广东省", "scan": png_upload(800, 600, name="scan.png"), "action": action,
    })


def test_new_request_defaults_to_the_county_of_the_work_region(client, regions, worker):
    client.force_login(worker.user)
    response = client.get(reverse("registration:correction-new"))
    assert response.status_code == 200
    levels = response.context["cascade"]
    assert [level["selected"] for level in levels] == [regions["广东省"], regions["广州市"], regions["越秀区"]]
    body = response.content.decode()
    assert f'name="region" value="{regions["越秀区"].pk}"' in body
    assert body.count('class="form-select cascade"') == 3  # stops at the county


def test_cascade_lists_the_counties_of_the_chosen_city_only(client, regions, worker):
    client.force_login(worker.user)
    county_options = client.get(reverse("registration:correction-new")).context["cascade"][2]["options"]
    assert set(county_options) == {regions["越秀区"], regions["荔湾区"]}


def test_worker_without_work_region_starts_from_the_province(client, regions, media):
    worker = SocialWorkerFactory()
    client.force_login(worker.user)
    levels = client.get(reverse("registration:correction-new")).context["cascade"]
    assert [level["selected"] for level in levels] == [None, None, None]


@pytest.mark.parametrize(("chosen", "stored"), [
    ("越秀区", "越秀区"),
    ("洪桥街道", "越秀区"),  # a town stands for its county
    ("东莞市", "东莞市"),  # no counties: the city is the county-level office
    ("东城街道", "东莞市"),
    ("东城区", "东城区"),  # 北京: districts under the province
    ("仙桃市", "仙桃市"),
])
def test_posted_region_is_stored_as_its_county_level_office(client, regions, worker, chosen, stored):
    response = post(client, worker, regions[chosen])
    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    assert RosterCorrectionRequest.objects.get().region == regions[stored]


@pytest.mark.parametrize("chosen", ["广州市", "广东省", "北京市"])
def test_a_city_with_counties_or_a_province_is_refused(client, regions, worker, chosen):
    response = post(client, worker, regions[chosen])
    assert response.status_code == 200
    assert response.context["form"].errors["region"]
    assert not RosterCorrectionRequest.objects.exists()


def test_refused_post_keeps_the_choice_in_the_selects(client, regions, worker):
    response = post(client, worker, regions["广州市"])
    assert [level["selected"] for level in response.context["cascade"]][:2] == [regions["广东省"], regions["广州市"]]


def test_dongguan_request_goes_to_the_city_office(client, regions, worker):
    post(client, worker, regions["东莞市"], action="submit")
    correction = RosterCorrectionRequest.objects.get()
    assert correction.status == "submitted" and correction.awaiting_region == regions["东莞市"]
