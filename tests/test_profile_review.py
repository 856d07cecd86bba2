"""The officials' profile review page: every profile field in the sections of the worker's form, and
what changed since the last approval marked."""

import re

import pytest
from django.urls import reverse

from registration import review, services
from registration.models import SocialWorker
from registration.selectors.profiles import PROFILE_FIELDS, PROFILE_SECTIONS
from swms.workflow import review_approve, review_submit

pytestmark = pytest.mark.usefixtures("english")  # messages asserted in their English source


def _field_cells(page: str) -> dict[str, str]:
    """{field name: the text of its <dd>} of the review page."""
    cells = re.findall(r'<dd class="[^"]*" data-field="(\w+)"( data-changed)?>(.*?)</dd>', page, re.S)
    return {name: (bool(changed), re.sub(r"\s+", " ", text).strip()) for name, changed, text in cells}


def test_the_sections_hold_every_field_of_the_worker_form():
    from registration.forms import ProfileForm

    form_fields = set(ProfileForm.Meta.fields) | {"id_number", "photo"}
    assert set(PROFILE_FIELDS) == form_fields
    assert [str(title) for title, _names in PROFILE_SECTIONS] == [
        "Basic information", "Contact information", "Practice information"]


def test_every_profile_field_value_appears(client, worker_in, alice):
    worker = worker_in()
    review_submit(worker, actor=worker.user)
    client.force_login(alice)
    page = client.get(reverse("registration:profile-review", args=[worker.pk])).content.decode()
    cells = _field_cells(page)
    assert set(cells) == set(PROFILE_FIELDS)
    expected = {
        "id_number": worker.id_number, "name": worker.name, "gender": "Female", "birth_date": "1990-01-01",
        "ethnicity": "汉族", "hukou": "广州", "native_place": "广东广州", "marital_status": "Single",
        "political_status": "The masses", "education": "Bachelor", "school": "中山大学", "major": "社会工作",
        "graduation_date": "2012-07-01", "work_start_date": "2012-08-01", "address": "广州市越秀区",
        "postcode": "510000", "mobile": worker.mobile, "office_phone": "—", "email": "w@example.com", "qq": "—",
        "full_time": "Yes", "years_in_social_work": "5", "position": "Frontline social worker",
        "employer": "阳光社工中心", "work_region": "广东省广州市越秀区洪桥街道", "practice_domains": "Community",
        "experience": "社区服务五年",
    }
    for name, value in expected.items():
        assert cells[name] == (False, value), name
    assert reverse("registration:profile-photo", args=[worker.pk]) in cells["photo"][1]
    for title in ("Basic information", "Contact information", "Practice information"):
        assert f'<div class="card-header">{title}</div>' in page
    assert 'data-testid="profile-changes"' not in page


def test_fields_changed_since_the_last_approval_are_marked(client, worker_in, alice):
    worker = worker_in()
    review_submit(worker, actor=worker.user)
    review_approve(worker, actor=alice)
    change = services.profile_change_submit(worker=SocialWorker.objects.get(pk=worker.pk), reason="学历变更为硕士")
    review.profile_change_decide(change=change, actor=alice, action="approve")
    worker = SocialWorker.objects.get(pk=worker.pk)
    services.profile_save(worker=worker, data={"education": "master", "school": "华南师范大学"})
    services.profile_submit(worker=worker, actor=worker.user)

    client.force_login(alice)
    page = client.get(reverse("registration:profile-review", args=[worker.pk])).content.decode()
    cells = _field_cells(page)
    changed = {name for name, (mark, _text) in cells.items() if mark}
    assert changed == {"education", "school"}
    assert cells["education"][1].startswith("Master") and "changed" in cells["education"][1]
    assert cells["major"] == (False, "社会工作")
    # The table of changes reads labels, not stored codes.
    table = page[page.index('data-testid="profile-changes"'):]
    assert "Bachelor" in table and "Master" in table and "中山大学" in table and "华南师范大学" in table


def test_profile_review_page_has_bounded_queries(client, worker_in, alice, django_assert_max_num_queries):
    worker = worker_in()
    review_submit(worker, actor=worker.user)
    client.force_login(alice)
    with django_assert_max_num_queries(25):
        assert client.get(reverse("registration:profile-review", args=[worker.pk])).status_code == 200
