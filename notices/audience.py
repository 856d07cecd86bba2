"""Who a notice reaches, computed from scope — never written out one row per recipient.

A notice of an office (the sender's region) reaches, for each audience it names, the accounts whose
place in the region tree lies inside the chosen regions (or the office's whole subtree):
lower-level officials by their region (strictly below the office), stations by the station's region,
organizations by their registered region, social workers by their work region.

A notice to stations also reaches the organizations operating them (承办机构): the Guangdong station
manual lets an operator work in the station with its own login, "两种登录方式结果相同", so what reaches
the station account reaches the organization whose operator row is current today (status active and
today within its validity period — the same rows the `operate_station` grants are synced from, read
directly so the audience is exact on the day a period ends, before the daily beat job runs).

Two directions share the rule: `audience_users(notice)` (the sender's view: counts, unread lists,
reminders) and `notices_for(user)` (the recipient's view: one query over the user's ancestors). They
agree: a user is in `audience_users(notice)` exactly when the notice is in `notices_for(user)`.
"""

from __future__ import annotations

import datetime

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


def operating_organizations(regions: list[Region], day: datetime.date | None = None) -> QuerySet:
    """Active organization accounts operating, on `day` (today), a station (not deleted) of the regions."""
    from stations.models import StationOperator

    accounts = (StationOperator.objects.current(day).filter(station__deleted_at__isnull=True)
                .filter(_in_regions("station__region", regions)).values("organization__account_id"))
    return User.objects.filter(is_active=True, kind=UserKind.ORGANIZATION, pk__in=accounts)


def audience_parts(notice: Notice) -> dict[str, QuerySet]:
    """One queryset per audience the notice names, plus "operators" (organizations operating the stations
    reached) when it names stations. The parts are disjoint (an organization reached both as an
    organization and as an operator is counted once, under "to_organizations"), so counts add up.

    Operating organizations count as recipients in the sender's figures (read rate, who has not read,
    reminders): they see the notice in their received list and unread badge and are the ones who act on
    it, so leaving them out would show the sender a station as "read" by nobody while its operator has
    read it, and would never remind the operator. A station and its operator are two recipients."""
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
    if notice.to_stations:
        operators = operating_organizations(regions)
        if "to_organizations" in parts:
            operators = operators.exclude(pk__in=parts["to_organizations"].values("pk"))
        parts["operators"] = operators
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
    """Where the account sits for notices (see AUDIENCES): one query at most, once per user object (a page
    asks for the unread count in its top bar and for the list or the workbench's notices)."""
    if not user.is_authenticated:
        return None
    if user.kind == UserKind.OFFICIAL:
        return user.region
    cached = getattr(user, "_swms_recipient_region", _UNSET)
    if cached is _UNSET:
        cached = user._swms_recipient_region = _lookup_recipient_region(user)
    return cached


_UNSET = object()


def _lookup_recipient_region(user) -> Region | None:
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


def operated_station_regions(user) -> list[Region]:
    """Regions of the stations (not deleted) the organization account operates today: one query."""
    from stations.models import StationOperator

    current = (StationOperator.objects.current().filter(organization__account=user, station__deleted_at__isnull=True)
               .values("station__region"))
    return list(Region.objects.filter(pk__in=current))


def notices_for(user) -> QuerySet:
    """Published (and withdrawn) notices that reach `user`, newest first: one query, no tree walk.

    An account is placed by its own region under its kind's audience flag; an organization is also
    placed at each station it operates today under "to_stations" (see the module docstring)."""
    if not user.is_authenticated:
        return Notice.objects.none()
    flag = FLAG_OF_KIND.get(user.kind)
    region = recipient_region(user) if flag else None
    places = [(flag, region)] if region is not None else []
    if user.kind == UserKind.ORGANIZATION:
        places += [("to_stations", r) for r in operated_station_regions(user)]
    if not places:
        return Notice.objects.none()
    reach = Q(pk__in=[])
    for flag, region in places:
        # No chosen regions means the office's whole subtree; otherwise one of them must contain the place.
        place = (Q(**{flag: True}) & _contains("sender_region", region)
                 & (Q(target_regions__isnull=True) | _contains("target_regions", region)))
        if user.kind == UserKind.OFFICIAL:
            place &= ~Q(sender_region_id=region.pk)  # lower levels only, not colleagues
        reach |= place
    # One filter() call, so every place shares the one join to the chosen regions.
    return Notice.objects.filter(reach, status__in=[NoticeStatus.PUBLISHED, NoticeStatus.WITHDRAWN]).distinct()
