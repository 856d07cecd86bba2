"""Notices: audience from scope, drafts, withdrawal, read receipts, reminders, public portal;
the weekly review digest with escalation."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from notices import notice_services as services
from notices.audience import audience_count, audience_users, notices_for
from notices.digest import digest_rows, digest_send, week_of
from notices.models import DigestSent, Message, NoticeRead, NoticeReminder, NoticeStatus
from registration.models import SocialWorker
from swms.uploads import check_document_upload
from swms.workflow import review_submit
from tests.conftest import make_user
from tests.factories import SocialWorkerFactory
from tests.test_document_checks import pdf_bytes  # a real PDF: documents are parsed (issue #16)
from tests.test_stations import create_station, make_org


@pytest.fixture
def audience(regions, alice, charlie):
    """Stations, workers, an organization and a town official in 越秀区, and the same in 荔湾区."""
    ours, _pw = create_station(alice, regions)
    theirs, _pw = create_station(charlie, regions, name="沙面街道社工站", region=regions["沙面街道"])
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"])
    other_worker = SocialWorkerFactory(work_region=regions["沙面街道"])
    org = make_org(regions)
    town = make_user("hq_town", "official", regions["洪桥街道"])
    return {"ours": ours, "theirs": theirs, "worker": worker, "other_worker": other_worker, "org": org,
            "town": town}


def publish(actor, regions=(), **data):
    base = dict(title="关于开展社会工作宣传周活动的通知", category="notice", content="各街道：\n\n请按时报送。",
                to_stations=True, to_workers=True)
    base.update(data)
    notice = services.notice_save(actor=actor, notice=None, data=base, regions=list(regions))
    return services.notice_publish(actor=actor, notice=notice)


def test_county_notice_reaches_its_stations_and_workers_not_the_sibling_county(alice, audience):
    notice = publish(alice)
    users = set(audience_users(notice))
    assert audience["ours"].account in users and audience["worker"].user in users
    assert audience["theirs"].account not in users and audience["other_worker"].user not in users
    assert audience["org"].account not in users and audience["town"] not in users  # not chosen audiences
    assert notice.audience_count == audience_count(notice) == 2
    assert notice in notices_for(audience["ours"].account)
    assert notice not in notices_for(audience["theirs"].account)
    assert notice not in notices_for(audience["other_worker"].user)


def test_chosen_child_regions_and_lower_officials(city_official, alice, charlie, regions, audience):
    notice = publish(city_official, regions=[regions["荔湾区"]], to_officials=True, to_stations=True,
                     to_workers=False)
    users = set(audience_users(notice))
    assert charlie in users and audience["theirs"].account in users
    assert alice not in users and audience["ours"].account not in users
    # A county notice to officials reaches the town below, never colleagues of the same county.
    bob_notice = publish(alice, to_officials=True, to_stations=False, to_workers=False)
    assert set(audience_users(bob_notice)) == {audience["town"]}
    assert bob_notice not in notices_for(alice)


def test_regions_must_be_below_the_sender(alice, regions):
    with pytest.raises(services.NoticeError):
        services.notice_save(actor=alice, notice=None, data={"title": "t", "category": "notice", "content": "c"},
                             regions=[regions["荔湾区"]])


def test_draft_is_invisible_and_editable_published_is_not(alice, audience):
    draft = services.notice_save(actor=alice, notice=None, regions=[], data=dict(
        title="草稿", category="notice", content="内容", to_stations=True))
    assert draft not in notices_for(audience["ours"].account)
    services.notice_save(actor=alice, notice=draft, regions=[], data={"title": "草稿改", "content": "内容"})
    services.notice_publish(actor=alice, notice=draft)
    draft.refresh_from_db()
    assert draft.title == "草稿改" and draft in notices_for(audience["ours"].account)
    with pytest.raises(services.NoticeError):
        services.notice_save(actor=alice, notice=draft, regions=[], data={"title": "偷偷改"})
    with pytest.raises(services.NoticeError):
        services.notice_publish(actor=alice, notice=draft)


def test_needs_an_audience_to_publish(alice):
    notice = services.notice_save(actor=alice, notice=None, regions=[], data=dict(
        title="无对象", category="notice", content="c"))
    with pytest.raises(services.NoticeError):
        services.notice_publish(actor=alice, notice=notice)


def test_withdrawal_with_reason(alice, audience, client):
    notice = publish(alice)
    with pytest.raises(services.NoticeError):
        services.notice_withdraw(actor=alice, notice=notice, reason=" ")
    services.notice_withdraw(actor=alice, notice=notice, reason="时间调整，另行通知")
    notice.refresh_from_db()
    assert notice.status == NoticeStatus.WITHDRAWN
    client.force_login(audience["worker"].user)
    page = client.get(reverse("notices:notice-detail", args=[notice.pk])).content.decode()
    assert "时间调整，另行通知" in page
    assert not NoticeRead.objects.filter(notice=notice).exists()  # a withdrawn notice is not "read"


def test_only_the_issuing_office_manages_a_notice(alice, bob, charlie, audience):
    notice = publish(alice)
    services.notice_withdraw(actor=bob, notice=notice, reason="同事代为撤回")  # same office
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.notice_remind(actor=charlie, notice=notice)


def test_content_is_sanitized():
    html = services.sanitize_content('<p onclick="x()">好</p><script>alert(1)</script><a href="javascript:x">l</a>'
                                     '<strong>重点</strong>')
    assert "script" not in html and "onclick" not in html and "javascript" not in html
    assert "<strong>重点</strong>" in html
    assert services.sanitize_content("第一段\n\n第二段 <b") .startswith("<p>第一段</p><p>第二段 &lt;b")


def test_read_receipts_unread_first_and_sender_view(alice, audience, client, django_assert_max_num_queries):
    first = publish(alice, title="第一条")
    publish(alice, title="第二条")
    station_user = audience["ours"].account
    type(station_user).objects.filter(pk=station_user.pk).update(must_change_password=False)
    client.force_login(station_user)
    assert services.unread_notice_count(station_user) == 2
    client.get(reverse("notices:notice-detail", args=[first.pk]))
    client.get(reverse("notices:notice-detail", args=[first.pk]))  # twice: one receipt
    assert NoticeRead.objects.filter(notice=first).count() == 1
    assert services.unread_notice_count(station_user) == 1
    with django_assert_max_num_queries(16) as measured:
        response = client.get(reverse("notices:received"))
    titles = [n.title for n in response.context["page"]]
    assert titles == ["第二条", "第一条"]  # unread first
    for i in range(5):
        publish(alice, title=f"更多{i}")
    with django_assert_max_num_queries(len(measured.captured_queries)):
        client.get(reverse("notices:received"))
    unread_only = client.get(reverse("notices:received"), {"read": "unread"}).context["page"]
    assert "第一条" not in [n.title for n in unread_only] and "第二条" in [n.title for n in unread_only]

    client.force_login(alice)
    detail = client.get(reverse("notices:sent-detail", args=[first.pk]))
    assert detail.context["read_count"] == 1 and detail.context["read_rate"] == 50
    unread = [u.pk for u in detail.context["page"]]
    assert unread == [audience["worker"].user.pk]
    read = client.get(reverse("notices:sent-detail", args=[first.pk]), {"show": "read"}).context["page"]
    assert [r.user for r in read] == [station_user]
    with django_assert_max_num_queries(14):
        sent = client.get(reverse("notices:sent"))
    rates = {n.title: n.read_rate for n in sent.context["page"]}
    assert rates["第一条"] == 50 and rates["第二条"] == 0


def test_outsider_cannot_open_or_manage(alice, charlie, audience, client):
    notice = publish(alice)
    client.force_login(audience["other_worker"].user)
    assert client.get(reverse("notices:notice-detail", args=[notice.pk])).status_code == 404
    client.force_login(charlie)
    assert client.get(reverse("notices:sent-detail", args=[notice.pk])).status_code == 404
    assert client.post(reverse("notices:notice-withdraw", args=[notice.pk]), {"reason": "x"}).status_code == 404


def test_reminder_reaches_only_the_unread_once(alice, audience, django_capture_on_commit_callbacks):
    notice = publish(alice)
    services.notice_mark_read(notice=notice, user=audience["ours"].account)
    with django_capture_on_commit_callbacks(execute=True):
        reminder = services.notice_remind(actor=alice, notice=notice)
    reminder.refresh_from_db()
    assert reminder.recipients == 1 and reminder.finished_at is not None
    reminded = Message.objects.filter(link=reverse("notices:notice-detail", args=[notice.pk]))
    assert [m.user for m in reminded] == [audience["worker"].user]
    assert reminded.get().want_sms
    # Running the same reminder again sends nothing more.
    from notices.tasks import send_notice_reminder

    assert send_notice_reminder(reminder.pk) == 0
    assert reminded.count() == 1


def test_reminder_resumes_where_it_stopped(alice, audience, regions, monkeypatch):
    from notices import tasks

    for _ in range(4):
        SocialWorkerFactory(work_region=regions["洪桥街道"])
    notice = publish(alice)
    reminder = NoticeReminder.objects.create(notice=notice, sent_by=alice)
    monkeypatch.setattr(tasks, "REMINDER_BATCH", 2)
    tasks.send_notice_reminder(reminder.pk)
    reminder.refresh_from_db()
    assert reminder.recipients == notice.audience_count == 6
    assert Message.objects.filter(link__endswith=f"/{notice.pk}/").values("user").distinct().count() == 6


def test_public_portal_shows_only_public_policies_and_notices(alice, client):
    policy = publish(alice, title="社会工作服务项目政府采购办法", category="policy", is_public=True)
    publish(alice, title="内部通知", category="notice")
    hidden = publish(alice, title="未公开的政策", category="policy")
    ordinary = publish(alice, title="关于社会工作宣传周的通知", category="notice", is_public=True)
    with pytest.raises(services.NoticeError):
        publish(alice, title="继续教育公开", category="ce", is_public=True)
    page = client.get(reverse("portal:notices")).content.decode()
    assert policy.title in page and "内部通知" not in page and hidden.title not in page
    assert ordinary.title in page
    notices_tab = client.get(reverse("portal:notices"), {"category": "notice"}).context["page"]
    assert [n.title for n in notices_tab] == [ordinary.title]
    assert client.get(reverse("portal:notice", args=[ordinary.pk])).status_code == 200
    assert "越秀区" in page
    assert client.get(reverse("portal:notice", args=[policy.pk])).status_code == 200
    assert client.get(reverse("portal:notice", args=[hidden.pk])).status_code == 404
    services.notice_withdraw(actor=alice, notice=policy, reason="已废止")
    assert client.get(reverse("portal:notice", args=[policy.pk])).status_code == 404


def test_attachments_checked_and_served_to_the_audience_only(alice, audience, client, media):
    pdf = check_document_upload(SimpleUploadedFile("活动方案.pdf", pdf_bytes()))
    notice = services.notice_save(actor=alice, notice=None, regions=[], attachments=[pdf], data=dict(
        title="附件通知", category="notice", content="见附件", to_workers=True))
    services.notice_publish(actor=alice, notice=notice)
    attachment = notice.attachments.get()
    assert attachment.original_name == "活动方案.pdf"
    url = reverse("notices:attachment", args=[attachment.pk])
    client.force_login(audience["worker"].user)
    assert client.get(url).status_code == 200
    client.force_login(audience["other_worker"].user)
    assert client.get(url).status_code == 404
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        check_document_upload(SimpleUploadedFile("病毒.pdf", b"MZ\x90\x00"))


def test_compose_through_the_page(alice, regions, client, media):
    client.force_login(alice)
    response = client.post(reverse("notices:notice-new"), {
        "title": "页面发布", "category": "notice", "content_source": "内容", "to_stations": "on",
        "target_regions": [regions["洪桥街道"].pk], "action": "publish",
        "new_attachments": [SimpleUploadedFile("a.pdf", pdf_bytes()), SimpleUploadedFile("b.pdf", pdf_bytes())],
    })
    assert response.status_code == 302
    from notices.models import Notice

    notice = Notice.objects.get(title="页面发布")
    assert notice.status == NoticeStatus.PUBLISHED and notice.attachments.count() == 2
    assert list(notice.target_regions.all()) == [regions["洪桥街道"]]


def test_database_allows_public_ordinary_notices_but_not_other_categories(alice):
    from django.db import IntegrityError, transaction

    from notices.models import Notice

    fields = dict(sender=alice, sender_region=alice.region, title="t", content="<p>c</p>", is_public=True)
    Notice.objects.create(category="notice", **fields)
    Notice.objects.create(category="announcement", **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.create(category="ce", **fields)


def test_form_offers_the_public_portal_for_ordinary_notices(alice, client):
    client.force_login(alice)
    page = client.get(reverse("notices:notice-new")).content.decode()
    assert 'name="is_public"' in page
    assert 'data-public-categories="policy notice announcement purchase"' in page
    response = client.post(reverse("notices:notice-new"), {
        "title": "公开的通知", "category": "notice", "content_source": "各有关单位：", "to_stations": "on",
        "is_public": "on", "action": "publish"})
    assert response.status_code == 302
    from notices.models import Notice

    notice = Notice.objects.get(title="公开的通知")
    assert notice.is_public and notice.status == NoticeStatus.PUBLISHED
    assert client.get(reverse("portal:notice", args=[notice.pk])).status_code == 200
    refused = client.post(reverse("notices:notice-new"), {
        "title": "继续教育", "category": "ce", "content_source": "c", "to_stations": "on", "is_public": "on",
        "action": "publish"})
    assert refused.status_code == 200 and refused.context["form"].errors["is_public"]
    assert not Notice.objects.filter(title="继续教育").exists()


# --- Markdown content ------------------------------------------------------------------------------


def test_markdown_renders_lists_bold_links_and_tables():
    html = services.render_markdown(
        "各街道：\n请于**12月10日前**报送。\n\n- 服务台账\n- 月度总结\n\n1. 第一步\n1. 第二步\n\n"
        "详见[省厅网站](https://example.gov.cn/a)。\n\n# 附表\n\n| 项目 | 数量 |\n| --- | --- |\n| 个案 | 3 |")
    assert "<strong>12月10日前</strong>" in html
    assert "各街道：<br>" in html  # a single line break is kept
    assert "<ul>\n<li>服务台账</li>\n<li>月度总结</li>\n</ul>" in html
    assert "<ol>\n<li>第一步</li>\n<li>第二步</li>\n</ol>" in html
    assert '<a href="https://example.gov.cn/a" rel="noopener noreferrer">省厅网站</a>' in html
    assert "<h3>附表</h3>" in html  # below the page's own title; the heading id is dropped
    assert "<td>个案</td>" in html


def test_markdown_drops_scripts_handlers_and_javascript_links():
    html = services.render_markdown(
        "正文<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n[点我](javascript:alert(1))\n\n"
        '<p onclick="x()" style="color:red">段落</p>')
    assert "<script" not in html and "alert(1)</" not in html
    assert "onerror" not in html and "<img" not in html
    assert "javascript:" not in html and "onclick" not in html and "style=" not in html
    assert "段落" in html and "点我" in html


def test_saved_notice_keeps_source_and_shows_rendered_html(alice, audience, client):
    notice = publish(alice, content="请报送：\n\n- **服务台账**\n- 月度总结")
    assert notice.content_source == "请报送：\n\n- **服务台账**\n- 月度总结"
    assert "<li><strong>服务台账</strong></li>" in notice.content
    client.force_login(audience["worker"].user)
    page = client.get(reverse("notices:notice-detail", args=[notice.pk])).content.decode()
    assert "<li><strong>服务台账</strong></li>" in page and "**" not in page


def test_notice_stored_as_html_before_markdown_still_displays_and_edits(alice, audience, client):
    from importlib import import_module

    from django.apps import apps

    from notices.models import Notice

    legacy = Notice.objects.create(sender=alice, sender_region=alice.region, title="旧通知", category="notice",
                                   content="<p>旧的<strong>HTML</strong>内容</p><ul><li>一</li></ul>", to_workers=True)
    import_module("notices.migrations.0003_public_notices_and_markdown_source").sources_from_stored_html(apps, None)
    legacy.refresh_from_db()
    assert legacy.content_source == legacy.content
    services.notice_publish(actor=alice, notice=legacy)
    client.force_login(audience["worker"].user)
    page = client.get(reverse("notices:notice-detail", args=[legacy.pk])).content.decode()
    assert "<p>旧的<strong>HTML</strong>内容</p><ul><li>一</li></ul>" in page
    # A draft from before Markdown, edited again: its HTML source renders to the same markup.
    import re

    assert re.sub(r">\s+<", "><", services.render_markdown(legacy.content_source)) == legacy.content


def test_preview_renders_sanitized_markdown_for_officials_only(alice, audience, client):
    url = reverse("notices:notice-preview")
    client.force_login(alice)
    response = client.post(url, {"content_source": "**重点**\n\n<script>alert(1)</script>"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<strong>重点</strong>" in body and "<script" not in body
    assert client.get(url).status_code == 405
    for user in (audience["worker"].user, audience["ours"].account, audience["org"].account):
        type(user).objects.filter(pk=user.pk).update(must_change_password=False)
        client.force_login(user)
        assert client.post(url, {"content_source": "x"}).status_code == 403


# --- Weekly digest -------------------------------------------------------------------------------


def _submitted_profile(regions, town="洪桥街道", days_ago=0):
    worker = SocialWorkerFactory(work_region=regions[town])
    review_submit(worker, actor=worker.user)
    if days_ago:
        SocialWorker.objects.filter(pk=worker.pk).update(submitted_at=timezone.now() - datetime.timedelta(days=days_ago))
    return worker


def test_digest_counts_equal_the_real_queues(alice, regions):
    _submitted_profile(regions)
    _submitted_profile(regions, days_ago=3)
    rows = digest_rows(alice)
    own = {r["label"]: r["count"] for r in rows["own"]}
    from swms.review_queues import get_queue

    assert own == {str(get_queue("profiles").title): SocialWorker.objects.review_queue(alice).count()}
    assert own[str(get_queue("profiles").title)] == 2
    assert rows["escalated"] == []


def test_digest_once_a_week_and_only_with_pending_items(alice, charlie, regions):
    _submitted_profile(regions)
    week = week_of(timezone.localdate())
    assert digest_send(alice, week) is True
    assert digest_send(alice, week) is False  # run twice → one digest
    assert DigestSent.objects.filter(user=alice).count() == 1
    message = Message.objects.get(user=alice)
    assert message.want_email and "1" in message.title
    assert digest_send(charlie, week) is False  # nothing waiting for 荔湾区
    assert not Message.objects.filter(user=charlie).exists()


def test_escalation_after_the_limit(alice, city_official, regions, settings):
    settings.SWMS_ESCALATE_AFTER_DAYS = 14
    _submitted_profile(regions, days_ago=3)
    assert digest_rows(city_official)["escalated"] == []
    _submitted_profile(regions, days_ago=20)
    escalated = digest_rows(city_official)["escalated"]
    assert [r["count"] for r in escalated] == [1]
    assert digest_rows(alice)["escalated"] == []  # nothing below the county's own queue


def test_weekly_task_batches_and_is_idempotent(alice, bob, regions, monkeypatch):
    from notices import tasks

    _submitted_profile(regions)
    monkeypatch.setattr(tasks, "DIGEST_BATCH", 1)
    week = week_of(timezone.localdate()).isoformat()
    tasks.send_weekly_digests.delay(week)
    tasks.send_weekly_digests.delay(week)
    assert DigestSent.objects.filter(week=week).count() == 2  # alice and bob, once each
    assert Message.objects.filter(user__in=[alice, bob]).count() == 2


def test_receipts_and_public_lists_query_counts_do_not_grow(alice, regions, audience, client,
                                                            django_assert_max_num_queries):
    notice = publish(alice)
    for i in range(2):
        publish(alice, title=f"公开政策{i}", category="policy", is_public=True)
    client.force_login(alice)
    url = reverse("notices:sent-detail", args=[notice.pk])
    with django_assert_max_num_queries(20) as receipts:
        client.get(url)
    with django_assert_max_num_queries(15) as portal:
        client.get(reverse("portal:notices"))
    for _ in range(6):
        SocialWorkerFactory(work_region=regions["洪桥街道"])
    for i in range(5):
        publish(alice, title=f"更多政策{i}", category="policy", is_public=True)
    with django_assert_max_num_queries(len(receipts.captured_queries)):
        response = client.get(url)
    assert len(response.context["page"]) == 8  # the unread: the station and the seven workers of 洪桥街道
    with django_assert_max_num_queries(len(portal.captured_queries)):
        assert len(client.get(reverse("portal:notices")).context["page"]) == 7
