"""The province's registration guide and FAQ pages: who may write them, and the one write."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _

from accounts.models import Region, RegionLevel, User
from notices.notice_services import sanitize_content

from ..models import GuideKind, GuidePage

DEFAULT_TEMPLATES = {
    GuideKind.GUIDE: "registration/guides/default_guide.html",
    GuideKind.FAQ: "registration/guides/default_faq.html",
}


def guide_editor_province(user: User) -> Region | None:
    """The province whose pages `user` writes: only officials of a province-level office (the
    province, or a municipality such as 北京市) write them."""
    if user.is_authenticated and user.is_active and user.is_official and user.region_id:
        if user.region.level == RegionLevel.PROVINCE:
            return user.region
    return None


def default_guide_content(kind: str) -> str:
    """The built-in text (from the Beijing manual's rules), shown while a province wrote none."""
    return render_to_string(DEFAULT_TEMPLATES[GuideKind(kind)]).strip()


def guide_save(*, actor: User, kind: str, content: str) -> GuidePage | None:
    """Write the actor's province's page of this kind, sanitized with the notices' rules; empty content
    removes the page, so the built-in text shows again (returns None then)."""
    province = guide_editor_province(actor)
    if province is None:
        raise PermissionDenied(_("Only officials of the province edit the registration guide."))
    kind = GuideKind(kind)
    content = sanitize_content(content)
    with transaction.atomic():
        if not strip_tags(content).strip():
            GuidePage.objects.filter(province=province, kind=kind).delete()
            return None
        page, created = GuidePage.objects.select_for_update().get_or_create(
            province=province, kind=kind, defaults={"content": content, "updated_by": actor},
        )
        if not created:
            page.content, page.updated_by, page.updated_at = content, actor, timezone.now()
            page.save(update_fields=["content", "updated_by", "updated_at"])
    return page
