"""The registration guide and FAQ: built-in text until the province writes its own, sanitized, province-only."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from registration.models import GuidePage
from registration.services.guides import default_guide_content, guide_save
from tests.conftest import make_user
from tests.factories import SocialWorkerFactory


@pytest.fixture
def gd_worker(regions):
    return SocialWorkerFactory(work_region=regions["洪桥街道"])


@pytest.mark.parametrize("kind", ["guide", "faq"])
def test_worker_sees_the_built_in_text_while_the_province_wrote_none(client, gd_worker, kind):
    client.force_login(gd_worker.user)
    response = client.get(reverse(f"registration:{kind}"))
    assert response.status_code == 200
    assert default_guide_content(kind) in response.content.decode()


def test_worker_sees_the_guide_of_the_work_regions_province(client, regions, province_official, gd_worker):
    guide_save(actor=province_official, kind="guide", content="<p>广东省登记须知：请于每年三月登记。</p>")
    client.force_login(gd_worker.user)
    body = client.get(reverse("registration:guide")).content.decode()
    assert "广东省登记须知：请于每年三月登记。" in body
    assert default_guide_content("guide") not in body
    # The FAQ of the same province is still the built-in one.
    assert default_guide_content("faq") in client.get(reverse("registration:faq")).content.decode()


def test_worker_of_another_province_does_not_see_it(client, regions, province_official):
    guide_save(actor=province_official, kind="guide", content="广东省登记须知")
    beijing_worker = SocialWorkerFactory(work_region=regions["东华门街道"])
    client.force_login(beijing_worker.user)
    body = client.get(reverse("registration:guide")).content.decode()
    assert "广东省登记须知" not in body
    assert default_guide_content("guide") in body


def test_content_is_sanitized(province_official):
    page = guide_save(actor=province_official, kind="faq", content=(
        '<h4>问题</h4><p onclick="steal()">答案<script>alert(1)</script></p><a href="javascript:x()">链接</a>'))
    assert "<h4>问题</h4>" in page.content
    assert "script" not in page.content and "onclick" not in page.content and "javascript" not in page.content


def test_plain_text_becomes_paragraphs(province_official):
    page = guide_save(actor=province_official, kind="guide", content="第一段\n\n第二段 a<b")
    assert page.content == "<p>第一段</p><p>第二段 a&lt;b</p>"


@pytest.mark.parametrize("who", ["alice", "city_official", "town_official", "superuser"])
def test_only_province_officials_write_the_guide(request, client, who):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        guide_save(actor=user, kind="guide", content="x")
    client.force_login(user)
    assert client.post(reverse("registration:guide-edit"), {"content": "x"}).status_code == 403
    assert not GuidePage.objects.exists()


def test_a_municipality_writes_its_own_guide(client, regions):
    beijing = make_user("bj_city", "official", regions["北京市"])
    client.force_login(beijing)
    response = client.post(reverse("registration:faq-edit"), {"content": "北京常见问题", "action": "save"})
    assert response.status_code == 302
    assert GuidePage.objects.get(kind="faq").province == regions["北京市"]


def test_province_official_edits_starting_from_the_built_in_text(client, province_official):
    client.force_login(province_official)
    response = client.get(reverse("registration:guide-edit"))
    assert response.status_code == 200
    assert response.context["form"]["content"].value() == default_guide_content("guide")


def test_edit_saves_and_shows_the_page(client, province_official):
    client.force_login(province_official)
    response = client.post(reverse("registration:guide-edit"), {"content": "<p>新指南</p>", "action": "save"})
    assert response.status_code == 302 and response["Location"] == reverse("registration:guide")
    page = GuidePage.objects.get(kind="guide")
    assert page.content == "<p>新指南</p>" and page.updated_by == province_official
    body = client.get(reverse("registration:guide")).content.decode()
    assert "新指南" in body and 'data-testid="guide-edit-link"' in body


def test_preview_shows_the_sanitized_text_without_saving(client, province_official):
    client.force_login(province_official)
    response = client.post(reverse("registration:guide-edit"),
                           {"content": "<p>草稿<script>x</script></p>", "action": "preview"})
    assert response.status_code == 200
    assert response.context["preview"] == "<p>草稿</p>"
    assert not GuidePage.objects.exists()


def test_emptying_the_page_brings_back_the_built_in_text(client, province_official, gd_worker):
    guide_save(actor=province_official, kind="guide", content="广东指南")
    assert guide_save(actor=province_official, kind="guide", content="  <p> </p> ") is None
    assert not GuidePage.objects.exists()
    client.force_login(gd_worker.user)
    assert default_guide_content("guide") in client.get(reverse("registration:guide")).content.decode()


def test_readers_not_logged_in_choose_the_province(client, regions, province_official):
    guide_save(actor=province_official, kind="guide", content="广东指南正文")
    body = client.get(reverse("registration:guide")).content.decode()
    assert "广东指南正文" not in body and 'data-testid="guide-province"' in body
    body = client.get(reverse("registration:guide"), {"province": regions["广东省"].pk}).content.decode()
    assert "广东指南正文" in body
    # A region that is not a province is not a choice.
    body = client.get(reverse("registration:guide"), {"province": regions["广州市"].pk}).content.decode()
    assert "广东指南正文" not in body


def test_sign_up_page_and_worker_nav_link_the_guide(client, gd_worker):
    assert reverse("registration:guide") in client.get(reverse("registration:signup")).content.decode()
    client.force_login(gd_worker.user)
    body = client.get(reverse("registration:ce")).content.decode()
    assert reverse("registration:guide") in body and reverse("registration:faq") in body


def test_province_nav_links_the_guide_editor(client, province_official, alice):
    client.force_login(province_official)
    assert reverse("registration:guide-edit") in client.get(reverse("registration:window-list")).content.decode()
    client.force_login(alice)
    assert reverse("registration:guide-edit") not in client.get(reverse("registration:window-list")).content.decode()
