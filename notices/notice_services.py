"""Notices (通知公告): drafts, publishing, withdrawal, read receipts and reminders."""

from __future__ import annotations

import re

import markdown
import nh3
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from accounts.models import Region, User
from swms.uploads import CheckedDocument

from .audience import audience_count, notices_for
from .models import PUBLIC_CATEGORIES, Notice, NoticeAttachment, NoticeRead, NoticeReminder, NoticeStatus

# Formatted text officials may use; everything else (scripts, styles, event handlers) is dropped.
ALLOWED_TAGS = {"p", "br", "strong", "b", "em", "i", "u", "ol", "ul", "li", "h3", "h4", "h5", "h6", "blockquote",
                "table", "thead", "tbody", "tr", "th", "td", "a", "hr", "pre", "code"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


class NoticeError(Exception):
    def __init__(self, message):
        self.message = message
        super().__init__(str(message))


def _clean(html: str) -> str:
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes={"http", "https"},
                     link_rel="noopener noreferrer")


def sanitize_content(text: str) -> str:
    """Keep the allowed formatting of HTML; plain text becomes paragraphs (content from before Markdown)."""
    text = (text or "").strip()
    if not re.search(r"<[a-zA-Z/][^>]*>", text):
        paragraphs = [p.strip() for p in re.split(r"\n\s*\n", text) if p.strip()]
        text = "".join(f"<p>{escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)
    return _clean(text)


def render_markdown(source: str) -> str:
    """The official's Markdown as the sanitized HTML recipients see (HTML typed into it is sanitized too).

    A single line break is kept (nl2br: officials type letters, not Markdown), "# " headings start at h3
    below the page's own title, and tables are allowed."""
    html = markdown.markdown((source or "").strip(), output_format="html",
                             extensions=["tables", "sane_lists", "nl2br", "toc"],
                             extension_configs={"toc": {"baselevel": 3}})
    return _clean(html)


def _check_sender(actor: User, notice: Notice | None = None) -> None:
    if not (actor.is_official and actor.region_id):
        raise PermissionDenied(_("Only officials send notices."))
    if notice is not None and notice.sender_region_id != actor.region_id:
        raise PermissionDenied(_("Only the issuing office may change this notice."))


def notice_save(*, actor: User, notice: Notice | None, data: dict, regions: list[Region],
                attachments: list[CheckedDocument] = (), remove_attachments: list[int] = ()) -> Notice:
    """Create or update a draft (`data["content"]` is the Markdown source). Published notices are never
    edited (withdraw and send a new one)."""
    _check_sender(actor, notice)
    if notice is not None and not notice.is_draft:
        raise NoticeError(_("A published notice cannot be edited; withdraw it and send a corrected one."))
    for region in regions:
        if not (actor.region.contains(region) and region.pk != actor.region_id):
            raise NoticeError(_("Choose regions below your own."))
    is_public = data.get("is_public", notice.is_public if notice else False)
    if is_public and data.get("category", notice.category if notice else "") not in PUBLIC_CATEGORIES:
        raise NoticeError(_("Only policies, notices, announcements and government-purchased service projects can "
                            "be made public."))
    with transaction.atomic():
        notice = notice or Notice(sender=actor, sender_region=actor.region)
        for field in ("title", "category", "to_officials", "to_stations", "to_organizations", "to_workers",
                      "is_public"):
            if field in data:
                setattr(notice, field, data[field])
        if "content" in data:  # the Markdown source; recipients get it rendered and sanitized
            notice.content_source = data["content"] or ""
            notice.content = render_markdown(notice.content_source)
        notice.save()
        notice.target_regions.set(regions)
        for pk in remove_attachments:
            for attachment in notice.attachments.filter(pk=pk):
                attachment.file.delete(save=False)
                attachment.delete()
        for document in attachments:
            attachment = NoticeAttachment(notice=notice, original_name=document.original_name,
                                          content_type=document.content_type, size=document.size)
            attachment.file.save(document.content.name, document.content, save=False)
            attachment.save()
    return notice


def notice_publish(*, actor: User, notice: Notice) -> Notice:
    _check_sender(actor, notice)
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice.pk)
        if not notice.is_draft:
            raise NoticeError(_("This notice has already been published."))
        if not (notice.to_officials or notice.to_stations or notice.to_organizations or notice.to_workers):
            raise NoticeError(_("Choose at least one audience."))
        if not notice.title.strip() or not notice.content.strip():
            raise NoticeError(_("A notice needs a title and content."))
        notice.status = NoticeStatus.PUBLISHED
        notice.published_at = timezone.now()
        notice.audience_count = audience_count(notice)
        notice.save(update_fields=["status", "published_at", "audience_count", "updated_at"])
    return notice


def notice_withdraw(*, actor: User, notice: Notice, reason: str) -> Notice:
    """Withdraw a published notice with the reason; recipients see it marked withdrawn."""
    _check_sender(actor, notice)
    reason = (reason or "").strip()
    if not reason:
        raise NoticeError(_("Please give the reason for withdrawing the notice."))
    with transaction.atomic():
        notice = Notice.objects.select_for_update().get(pk=notice.pk)
        if notice.status != NoticeStatus.PUBLISHED:
            raise NoticeError(_("Only a published notice can be withdrawn."))
        notice.status = NoticeStatus.WITHDRAWN
        notice.withdrawn_at = timezone.now()
        notice.withdrawn_reason = reason[:300]
        notice.save(update_fields=["status", "withdrawn_at", "withdrawn_reason", "updated_at"])
    return notice


def notice_mark_read(*, notice: Notice, user: User) -> bool:
    """Record that `user` opened the notice (once); True if this was the first time."""
    try:
        with transaction.atomic():
            _read, created = NoticeRead.objects.get_or_create(notice=notice, user=user)
    except IntegrityError:
        return False
    return created


def unread_notice_count(user: User) -> int:
    qs = notices_for(user).filter(status=NoticeStatus.PUBLISHED)
    return qs.exclude(pk__in=NoticeRead.objects.filter(user=user).values("notice_id")).count()


def notice_remind(*, actor: User, notice: Notice) -> NoticeReminder:
    """Queue a reminder (inbox + SMS) to everyone the notice reaches who has not opened it."""
    _check_sender(actor, notice)
    if notice.status != NoticeStatus.PUBLISHED:
        raise NoticeError(_("Only a published notice can be reminded of."))
    from swms.outbox import enqueue

    from .tasks import send_notice_reminder

    reminder = NoticeReminder.objects.create(notice=notice, sent_by=actor)
    enqueue(send_notice_reminder, reminder.pk)  # published at commit (swms/outbox.py)
    return reminder
