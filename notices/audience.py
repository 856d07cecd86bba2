"""Who a notice reaches, computed from scope — never written out one row per recipient.

A notice of an office (the sender's region) reaches, for each audience it names, the accounts whose
place in the region tree lies inside the chosen regions (or the office's whole subtree):
lower-level officials by their region (strictly below the office), stations by the station's region,
organizations by their registered region, social workers by their work region.

Two directions share the rule: `audience_users(notice)` (the sender's view: counts, unread lists,
reminders) and `notices_for(user)` (the recipient's view: one query over the user's ancestors).
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from accounts.models import Region, User, UserKind

from .models import Notice, NoticeStatus

# Audience flag -> (account kind, path from User to the Region that places the account).
AUDIENCES = {
    "to_officials": (UserKind.OFFICIAL, "region"),
    "to_stations": (UserKind.STATION, "station__region"),
    "to_organizations": (UserKind.ORGANIZATION, "organization__region"),
    "to_workers": (UserKind.SOCIAL_WORKER, "social_worker__work_region"),
}
FLAG_OF_KIND = {kind: flag for flag, (kind, _path) in AUDIENCES.items()}


def _regions_of(notice: Notice) -> list[Region]:
    return list(notice.target_regions.all()) or [notice.sender_region]


def _in_regions(path: str, regions: list[Region]) -> Q:
    q = Q(pk__in=[])
    for r in regions:
        q |= Q(**{f"{path}__tree_id": r.tree_id, f"{path}__lft__gte": r.lft, f"{path}__rght__lte": r.rght})
    return q


def audience_parts(notice: Notice) -> dict[str, QuerySet]:
    """One queryset per audience the notice names (the kinds are disjoint, so counts add up)."""
    regions = _regions_of(notice)
    parts = {}
    for flag, (kind, path) in AUDIENCES.items():
        if not getattr(notice, flag):
            continue
        qs = User.objects.filter(is_active=True, kind=kind).filter(_in_regions(path, regions))
        if kind == UserKind.OFFICIAL:
            qs = qs.exclude(region_id=notice.sender_region_id)  # lower levels only, not colleagues
        elif kind == UserKind.STATION:
            qs = qs.filter(station__deleted_at__isnull=True)
        parts[flag] = qs
    return parts


def audience_users(notice: Notice) -> QuerySet:
    """Every account the notice reaches, as one queryset (for unread lists and reminders)."""
    q = Q(pk__in=[])
    for qs in audience_parts(notice).values():
        q |= Q(pk__in=qs.values("pk"))
    return User.objects.filter(q)


def audience_count(notice: Notice) -> int:
    return sum(qs.count() for qs in audience_parts(notice).values())


def recipient_region(user) -> Region | None:
    """Where the account sits for notices (see AUDIENCES)."""
    if not user.is_authenticated:
        return None
    if user.kind == UserKind.OFFICIAL:
        return user.region
    if user.kind == UserKind.STATION:
        station = getattr(user, "station", None)
        return station.region if station is not None and station.deleted_at is None else None
    if user.kind == UserKind.ORGANIZATION:
        organization = getattr(user, "organization", None)
        return organization.region if organization is not None else None
    if user.kind == UserKind.SOCIAL_WORKER:
        worker = getattr(user, "social_worker", None)
        return worker.work_region if worker is not None else None
    return None


def notices_for(user) -> QuerySet:
    """Published (and withdrawn) notices that reach `user`, newest first."""
    flag = FLAG_OF_KIND.get(user.kind) if user.is_authenticated else None
    region = recipient_region(user) if flag else None
    if region is None:
        return Notice.objects.none()
    ancestors = list(region.get_ancestors(include_self=True).values_list("pk", flat=True))
    qs = Notice.objects.filter(status__in=[NoticeStatus.PUBLISHED, NoticeStatus.WITHDRAWN], sender_region__in=ancestors,
                               **{flag: True})
    if user.kind == UserKind.OFFICIAL:
        qs = qs.exclude(sender_region_id=region.pk)
    # No chosen regions means the office's whole subtree; otherwise one of them must contain the user.
    return qs.filter(Q(target_regions__isnull=True) | Q(target_regions__in=ancestors)).distinct()
