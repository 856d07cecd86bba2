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


def sent_by_office(user) -> QuerySet:
    """What the official's office sent, drafts included: notices belong to the office (the region), so
    colleagues of the same office share them."""
    if not (user.is_authenticated and user.is_official and user.region_id):
        return Notice.objects.none()
    return Notice.objects.filter(sender_region_id=user.region_id)


def recipient_region(user) -> Region | None:
    """Where the account sits for notices (see AUDIENCES): one query at most."""
    if not user.is_authenticated:
        return None
    if user.kind == UserKind.OFFICIAL:
        return user.region
    if user.kind == UserKind.STATION:
        from stations.models import Station

        station = Station.objects.select_related("region").filter(account=user, deleted_at__isnull=True).first()
        return station.region if station is not None else None
    if user.kind == UserKind.ORGANIZATION:
        from registration.models import Organization

        organization = Organization.objects.select_related("region").filter(account=user).first()
        return organization.region if organization is not None else None
    if user.kind == UserKind.SOCIAL_WORKER:
        from registration.models import SocialWorker

        worker = SocialWorker.objects.select_related("work_region").filter(user=user).first()
        return worker.work_region if worker is not None else None
    return None


def _contains(path: str, region: Region) -> Q:
    """`path` is `region` or one of its ancestors (a range test on the stored MPTT numbers)."""
    return Q(**{f"{path}__tree_id": region.tree_id, f"{path}__lft__lte": region.lft,
                f"{path}__rght__gte": region.rght})


def notices_for(user) -> QuerySet:
    """Published (and withdrawn) notices that reach `user`, newest first: one query, no tree walk."""
    flag = FLAG_OF_KIND.get(user.kind) if user.is_authenticated else None
    region = recipient_region(user) if flag else None
    if region is None:
        return Notice.objects.none()
    qs = Notice.objects.filter(_contains("sender_region", region),
                               status__in=[NoticeStatus.PUBLISHED, NoticeStatus.WITHDRAWN], **{flag: True})
    if user.kind == UserKind.OFFICIAL:
        qs = qs.exclude(sender_region_id=region.pk)
    # No chosen regions means the office's whole subtree; otherwise one of them must contain the user.
    return qs.filter(Q(target_regions__isnull=True) | _contains("target_regions", region)).distinct()
