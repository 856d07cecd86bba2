from django import template

register = template.Library()


@register.inclusion_tag("notices/_latest.html", takes_context=True)
def latest_notices(context, limit=5):
    """The latest notices that reached the signed-in user, unread marked (every role's workbench)."""
    from django.db.models import Exists, OuterRef

    from notices.audience import notices_for
    from notices.models import NoticeRead, NoticeStatus

    user = context["request"].user
    rows = (notices_for(user).filter(status=NoticeStatus.PUBLISHED).select_related("sender_region")
            .annotate(is_read=Exists(NoticeRead.objects.filter(notice=OuterRef("pk"), user=user)))
            .order_by("-published_at")[:limit])
    return {"rows": list(rows)}
