"""The weekly review digest (Guangdong notice: each level reviews at least weekly).

Every official with items waiting in any registered review queue gets one inbox message (and email) a
week: the count per queue and the oldest item. Items that have waited longer than
SWMS_ESCALATE_AFTER_DAYS for an office below are listed in the digest of the office above.
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Min
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from swms.review_queues import all_queues

from .models import DigestSent
from .services import message_send


def week_of(day: datetime.date) -> datetime.date:
    """The Monday of `day`'s week."""
    return day - datetime.timedelta(days=day.weekday())


def digest_rows(user, *, now: datetime.datetime | None = None) -> dict:
    """{"own": [...], "escalated": [...]}: per queue, items waiting for this official and items
    overdue below. Each row: label, count, oldest submission, queue URL."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.SWMS_ESCALATE_AFTER_DAYS)
    own, escalated = [], []
    for queue in all_queues():
        manager = queue.model.objects
        mine = manager.review_queue(user).aggregate(n=_count(), oldest=Min("submitted_at"))
        if mine["n"]:
            own.append({"label": str(queue.title), "count": mine["n"], "oldest": mine["oldest"],
                        "url": reverse(queue.list_url)})
        late = manager.waiting_below(user.region).filter(submitted_at__lt=cutoff).aggregate(
            n=_count(), oldest=Min("submitted_at"))
        if late["n"]:
            escalated.append({"label": str(queue.title), "count": late["n"], "oldest": late["oldest"],
                              "url": reverse(queue.list_url) + "?scope=all&waiting=14"})
    return {"own": own, "escalated": escalated}


def _count():
    from django.db.models import Count

    return Count("pk")


def digest_send(user, week: datetime.date, *, now: datetime.datetime | None = None) -> bool:
    """Send this week's digest to one official, once. Returns True if a digest went out."""
    if DigestSent.objects.filter(user=user, week=week).exists():
        return False
    rows = digest_rows(user, now=now)
    if not rows["own"] and not rows["escalated"]:
        return False
    with override(settings.LANGUAGE_CODE):
        lines = [_("Waiting for your review:")] if rows["own"] else []
        for r in rows["own"]:
            lines.append(_("%(label)s: %(count)d, the oldest submitted on %(date)s")
                         % {"label": r["label"], "count": r["count"], "date": f"{r['oldest']:%Y-%m-%d}"})
        if rows["escalated"]:
            lines.append(_("Waiting longer than %(days)d days at the offices below you:")
                         % {"days": settings.SWMS_ESCALATE_AFTER_DAYS})
            for r in rows["escalated"]:
                lines.append(_("%(label)s: %(count)d, the oldest submitted on %(date)s")
                             % {"label": r["label"], "count": r["count"], "date": f"{r['oldest']:%Y-%m-%d}"})
        total = sum(r["count"] for r in rows["own"])
        title = _("Weekly review digest: %(count)d items waiting for you") % {"count": total}
    try:
        with transaction.atomic():
            sent = DigestSent.objects.create(user=user, week=week)
            message = message_send(user=user, title=title, body="\n".join(lines), link=reverse("reports:workbench"),
                                   email=True)
            sent.message = message
            sent.save(update_fields=["message"])
    except IntegrityError:  # another worker sent it meanwhile
        return False
    return True
