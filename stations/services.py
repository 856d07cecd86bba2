"""State changes of stations, operators, station accounts and station workers (views stay thin)."""

from __future__ import annotations

import datetime

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from accounts.models import Region, SecurityEvent, User, UserKind
from accounts.operator_roles import OPERATE_SYSTEM, can
from accounts.services import generate_initial_password, security_event_record, sessions_end_for
from registration.models import Organization, Registration, SocialWorker
from reports import aggregates
from swms.encrypted_fields import with_hashes
from swms.pii import mask_name
from swms.workflow import State

from .models import (
    TIER_LEVELS,
    Station,
    StationCodeSequence,
    StationFunding,
    StationOperator,
    StationWorker,
    Tier,
    WorkerLevel,
)

OPERATE = "stations.operate_station"


class StationError(Exception):
    """A station action refused for a reason fit to show the user."""

    def __init__(self, message):
        self.message = message
        super().__init__(str(message))


# --- Stations ------------------------------------------------------------------------------------


def _check_official_scope(actor: User, region: Region) -> None:
    if can(actor, OPERATE_SYSTEM):
        return
    if not (actor.is_official and actor.region.contains(region)):
        raise PermissionDenied(_("You can only manage stations in your own region."))


def _check_tier_region(tier: str, region: Region) -> None:
    if region.level not in TIER_LEVELS[tier]:
        raise StationError({
            Tier.HUB: _("A hub (总站) belongs to a county or a city."),
            Tier.STATION: _("A station (站) belongs to a town or street."),
            Tier.ROOM: _("A room (室) belongs to a village or community."),
        }[tier])


def next_station_code(region: Region) -> str:
    """The region's 12-digit code and a three-digit sequence that only grows. Takes a row lock on the
    region's counter, so two stations created at once get different numbers; call inside a transaction."""
    StationCodeSequence.objects.bulk_create([StationCodeSequence(region=region)], ignore_conflicts=True)
    sequence = StationCodeSequence.objects.select_for_update().get(region=region)
    sequence.last += 1
    sequence.save(update_fields=["last"])
    return f"{region.code}{sequence.last:03d}"


def station_create(*, actor: User, data: dict, funding: list[dict], operators: list[dict],
                   password: str = "") -> tuple[Station, str]:
    """Create a station with its code, funding rows, operators and station account. Returns the station
    and the account's initial password (the one given, or a generated one), to be shown once."""
    region = data["region"]
    _check_official_scope(actor, region)
    _check_tier_region(data["tier"], region)
    with transaction.atomic():
        station = Station(**data, created_by=actor)
        station.code = next_station_code(region)
        station._history_user = actor
        station.save()
        password = _account_create(station, password, actor)
        aggregates.station_changed(station)
        _funding_replace(station, funding)
        _operators_replace(station, operators, actor)
    return station, password


def station_update(*, actor: User, station: Station, data: dict, funding: list[dict], operators: list[dict]) -> Station:
    _check_official_scope(actor, station.region)
    if station.is_deleted:
        raise StationError(_("This station has been deleted."))
    region = data.get("region", station.region)
    _check_official_scope(actor, region)
    _check_tier_region(data.get("tier", station.tier), region)
    with transaction.atomic():
        old_region_id = station.region_id
        for field, value in data.items():
            setattr(station, field, value)
        station._history_user = actor
        station.save()
        aggregates.station_changed(station, old_region_id)
        if station.region_id != old_region_id:
            from services.models import Activity

            province = station.region.province_pk()
            Activity.objects.filter(station=station).exclude(province_id=province).update(province_id=province)
        if station.account_id and station.account.region_id != station.region_id:
            User.objects.filter(pk=station.account_id).update(region=station.region)
        _funding_replace(station, funding)
        _operators_replace(station, operators, actor)
    return station


def station_delete(*, actor: User, station: Station, reason: str) -> Station:
    """Take the station off every list; its row, workers, services and history stay for statistics.
    Its account is deactivated and the operators' access ends."""
    _check_official_scope(actor, station.region)
    reason = (reason or "").strip()
    if not reason:
        raise StationError(_("Please give the reason for deleting the station."))
    with transaction.atomic():
        station = Station.objects.select_for_update().get(pk=station.pk)
        if station.is_deleted:
            raise StationError(_("This station has already been deleted."))
        station.deleted_at, station.deleted_by, station.deleted_reason = timezone.now(), actor, reason[:200]
        station._history_user = actor
        station._change_reason = "deleted"
        station.save(update_fields=["deleted_at", "deleted_by", "deleted_reason", "updated_at"])
        aggregates.station_changed(station)
        if station.account_id:
            User.objects.filter(pk=station.account_id).update(is_active=False)
        for operator in station.operators.filter(status=StationOperator.Status.ACTIVE):
            operator.status = StationOperator.Status.ENDED
            operator.save(update_fields=["status"])
        sync_operator_permissions(station=station)
    if station.account_id:
        sessions_end_for(station.account)
    return station


def _funding_replace(station: Station, rows: list[dict]) -> None:
    station.funding.all().delete()
    StationFunding.objects.bulk_create(
        [StationFunding(station=station, year=r["year"], amount=r["amount"], source=r.get("source", "")) for r in rows]
    )


def _operators_replace(station: Station, rows: list[dict], actor: User) -> None:
    """Operator rows as the form sends them: `id` of an existing row (kept and updated) or none (new);
    rows not sent are ended. Only approved organizations of the station's province may operate it."""
    province = station.region.ancestor_at("province")
    keep = []
    for row in rows:
        organization: Organization = row["organization"]
        if organization.status != State.APPROVED:
            raise StationError(_("%(org)s is not an approved organization.") % {"org": organization.name})
        if province is not None and not province.contains(organization.region):
            raise StationError(_("%(org)s is not registered in this province.") % {"org": organization.name})
        if row["valid_to"] < row["valid_from"]:
            raise StationError(_("An operator's validity period ends before it starts."))
        operator = station.operators.filter(pk=row.get("id")).first() if row.get("id") else None
        operator = operator or StationOperator(station=station)
        operator.organization = organization
        operator.valid_from, operator.valid_to = row["valid_from"], row["valid_to"]
        operator.status = row.get("status") or StationOperator.Status.ACTIVE
        operator._history_user = actor
        operator.save()
        keep.append(operator.pk)
    for operator in station.operators.exclude(pk__in=keep).exclude(status=StationOperator.Status.ENDED):
        operator.status = StationOperator.Status.ENDED
        operator._history_user = actor
        operator.save(update_fields=["status"])
    sync_operator_permissions(station=station)


def sync_operator_permissions(*, station: Station | None = None, today: datetime.date | None = None) -> dict:
    """Give `operate_station` to every organization operating a station today and take it from the
    rest; past validity periods become "expired". For one station, or all (the daily beat job)."""
    today = today or timezone.localdate()
    operators = StationOperator.objects.select_related("organization__account", "station")
    if station is not None:
        operators = operators.filter(station=station)
    expired = operators.filter(status=StationOperator.Status.ACTIVE, valid_to__lt=today).update(
        status=StationOperator.Status.EXPIRED
    )
    should = set()
    for op in operators.current(today).filter(station__deleted_at__isnull=True):
        should.add((op.organization.account_id, op.station_id))
    from guardian.models import UserObjectPermission
    from guardian.shortcuts import get_perms_for_model

    perm = next(p for p in get_perms_for_model(Station) if p.codename == "operate_station")
    granted = UserObjectPermission.objects.filter(permission=perm)
    if station is not None:
        granted = granted.filter(object_pk=str(station.pk))
    have = {(g.user_id, int(g.object_pk)) for g in granted.only("user_id", "object_pk")}
    added = removed = 0
    for user_id, station_id in should - have:
        assign_perm(OPERATE, User(pk=user_id), Station(pk=station_id))
        added += 1
    for user_id, station_id in have - should:
        remove_perm(OPERATE, User(pk=user_id), Station(pk=station_id))
        removed += 1
    return {"granted": added, "revoked": removed, "expired": expired}


# --- Station accounts ----------------------------------------------------------------------------


def _account_create(station: Station, password: str, actor: User) -> str:
    password = password or generate_initial_password()
    user = User(username=station.code, kind=UserKind.STATION, region=station.region, full_name=station.name,
                must_change_password=True, created_by=actor)
    validate_password(password, user)
    user.set_password(password)
    user.save()
    station.account = user
    station.save(update_fields=["account"])
    return password


def station_password_set(*, actor: User, station: Station, password: str = "", request=None) -> str:
    """Officials set (or, left blank, generate) the station account's password; it must be changed at
    the next login (the manual: no self-service recovery for station accounts). Ends its sessions."""
    _check_official_scope(actor, station.region)
    if station.is_deleted:
        raise StationError(_("This station has been deleted."))
    with transaction.atomic():
        if station.account_id is None:
            password = _account_create(station, password, actor)
            target = station.account
        else:
            target = User.objects.select_for_update().get(pk=station.account_id)
            password = password or generate_initial_password()
            validate_password(password, target)
            target.set_password(password)
            target.must_change_password = True
            target.is_active = True
            target.password_changed_at = timezone.now()
            target.save(update_fields=["password", "must_change_password", "is_active", "password_changed_at"])
        security_event_record(kind=SecurityEvent.Kind.PASSWORD_RESET, request=request, actor=actor, target=target,
                              detail="station password set by official")
    sessions_end_for(target)
    return password


# --- Station workers -----------------------------------------------------------------------------


def registry_values(worker: SocialWorker) -> dict:
    """What a synced station worker shows, read from the registry: profile and the current registration."""
    registration = (
        Registration.objects.filter(worker=worker, status=Registration.Status.VALID)
        .select_related("qualification").order_by("-valid_to").first()
    )
    return {
        "name": worker.name,
        "gender": worker.gender or "male",
        "id_number": worker.id_number,
        "mobile": worker.mobile,
        "employer": worker.employer,
        "level": registration.level if registration else WorkerLevel.NONE,
        "certificate_no": registration.qualification.certificate_no if registration and registration.qualification else "",
        "practice_since": worker.work_start_date,
    }


def registered_worker_find(id_number: str) -> SocialWorker | None:
    """The registered social worker with this ID number (a valid registration), if any. Not for station
    accounts: they reach the registry only through `registered_worker_linked` (issue #16)."""
    return (
        SocialWorker.objects.filter(id_number=id_number, registrations__status=Registration.Status.VALID)
        .distinct().first()
    )


def station_link_region(station: Station) -> Region:
    """The region whose workers a station may look up: its own subtree; for a room (室, a village or
    community) the town or street above it, since a worker's work region goes down to the town only."""
    if station.region.level == "village":
        return station.region.ancestor_at("town") or station.region
    return station.region


def _linked_filter(station: Station, today: datetime.date | None = None) -> Q:
    """Registered workers linked to the station: their work region (profile) or a valid registration's
    region lies in the station's link region, or their employer is an organization operating it today."""
    region = station_link_region(station)
    within = {"tree_id": region.tree_id, "lft__gte": region.lft, "rght__lte": region.rght}
    linked = Q(**{f"work_region__{k}": v for k, v in within.items()})
    linked |= Q(pk__in=Registration.objects.filter(
        status=Registration.Status.VALID, **{f"region__{k}": v for k, v in within.items()}).values("worker_id"))
    employers = [name.strip() for name in StationOperator.objects.current(today).filter(station=station)
                 .values_list("organization__name", flat=True) if name.strip()]
    if employers:
        linked |= Q(employer__in=employers)
    return linked


def registered_worker_linked(station: Station, id_number: str) -> SocialWorker | None:
    """The registered social worker with this ID number if they are linked to the station (see
    `_linked_filter`); None both for an unknown number and for a worker not linked, so a station cannot
    tell the two apart (no oracle over the registry)."""
    return (
        SocialWorker.objects.filter(id_number=id_number, registrations__status=Registration.Status.VALID)
        .filter(_linked_filter(station)).distinct().first()
    )


def worker_linked_to_station(social_worker: SocialWorker, station: Station) -> bool:
    return SocialWorker.objects.filter(pk=social_worker.pk).filter(_linked_filter(station)).exists()


def lookup_summary(social_worker: SocialWorker) -> dict:
    """All a station sees of a looked-up worker before adding them: masked name, registration number and
    status (no ID number, phone, employer or full name)."""
    registration = (
        Registration.objects.filter(worker=social_worker, status=Registration.Status.VALID)
        .order_by("-valid_to").first()
    )
    return {
        "masked_name": mask_name(social_worker.name),
        "registration_no": registration.registration_no if registration else "",
        "status": registration.get_status_display() if registration else "",
        "valid_to": registration.valid_to if registration else None,
    }


class LookupThrottled(StationError):
    """Too many registry lookups: the page answers 429."""


def worker_lookup(*, request, station: Station, id_number: str) -> SocialWorker | None:
    """A station's registry lookup by ID number (the add-worker page): rate-limited per station account and
    per client address (SWMS_WORKER_LOOKUP_PER_HOUR), and written to the security event log with the ID
    number masked (WORKER_LOOKUP; success = found and linked). Returns the linked worker or None."""
    from django.conf import settings

    from swms import ratelimit
    from swms.http import client_ip

    limit = settings.SWMS_WORKER_LOOKUP_PER_HOUR
    account_ok = ratelimit.hit(f"worker-lookup:user:{request.user.pk}", limit, 3600)
    ip_ok = ratelimit.hit(ratelimit.key_for("worker-lookup:ip", client_ip(request) or "unknown"), limit, 3600)
    if not (account_ok and ip_ok):
        security_event_record(kind=SecurityEvent.Kind.RATE_LIMITED, request=request, username=id_number,
                              success=False,
                              detail=f"worker lookup of station {station.code}: over {limit} per hour "
                                     f"({'account' if not account_ok else 'address'})")
        raise LookupThrottled(_("Too many registry lookups. For the workers' privacy the number of lookups per "
                                "hour is limited; please try again later or enter the worker by hand."))
    found = registered_worker_linked(station, id_number)
    security_event_record(kind=SecurityEvent.Kind.WORKER_LOOKUP, request=request, username=id_number,
                          success=found is not None,
                          detail=f"station {station.code}: {'found and linked' if found else 'not found or not linked'}")
    return found


def station_worker_add_synced(*, station: Station, social_worker: SocialWorker, is_head: bool = False,
                              joined_on: datetime.date | None = None, actor: User) -> StationWorker:
    if not Registration.objects.filter(worker=social_worker, status=Registration.Status.VALID).exists():
        raise StationError(_("This person has no valid registration; enter them by hand instead."))
    if actor.kind in (UserKind.STATION, UserKind.ORGANIZATION) and not worker_linked_to_station(social_worker, station):
        raise StationError(_("This person is not linked to your station in the registry (work region or employer); "
                             "enter them by hand instead."))
    return _worker_create(station, {
        **registry_values(social_worker), "is_head": is_head, "joined_on": joined_on or timezone.localdate(),
    }, StationWorker.Source.SYNCED, social_worker, actor)


def station_worker_add_manual(*, station: Station, data: dict, actor: User) -> StationWorker:
    return _worker_create(station, data, StationWorker.Source.MANUAL, None, actor)


def _worker_create(station, data, source, social_worker, actor) -> StationWorker:
    if station.is_deleted:
        raise StationError(_("This station has been deleted."))
    worker = StationWorker(station=station, source=source, social_worker=social_worker, **data)
    worker._history_user = actor
    try:
        with transaction.atomic():
            worker.save()
    except IntegrityError:
        raise StationError(_("This person already works at this station.")) from None
    aggregates.station_workers_changed(worker.station)
    return worker


def station_worker_update(*, worker: StationWorker, data: dict, actor: User) -> StationWorker:
    """Edit a current worker; a synced worker's registry fields stay as the registry has them."""
    if worker.left_on is not None:
        raise StationError(_("This worker has left; the record is archived."))
    for field, value in data.items():
        if worker.source == StationWorker.Source.SYNCED and field in StationWorker.SYNCED_FIELDS:
            continue
        setattr(worker, field, value)
    worker._history_user = actor
    try:
        with transaction.atomic():
            worker.save()
    except IntegrityError:
        raise StationError(_("This person already works at this station.")) from None
    aggregates.station_workers_changed(worker.station)
    return worker


def station_worker_leave(*, worker: StationWorker, left_on: datetime.date, reason: str, actor: User) -> StationWorker:
    """Archive a worker who left (离职): kept with the date, off the current list."""
    if worker.left_on is not None:
        raise StationError(_("This worker has already left."))
    if left_on < worker.joined_on:
        raise StationError(_("The leaving date is before the joining date."))
    worker.left_on, worker.left_reason, worker.is_head = left_on, (reason or "").strip()[:200], False
    worker._history_user = actor
    worker._change_reason = "left"
    worker.save(update_fields=["left_on", "left_reason", "is_head"])
    aggregates.station_workers_changed(worker.station)
    return worker


def station_workers_sync_from_registry(social_worker: SocialWorker) -> int:
    """Refresh every current synced post of this social worker (called when the registry changes)."""
    values = registry_values(social_worker)
    posts = StationWorker.objects.filter(
        social_worker=social_worker, source=StationWorker.Source.SYNCED, left_on__isnull=True
    )
    for station in Station.objects.filter(pk__in=posts.values("station_id")):
        aggregates.station_workers_changed(station)  # a level or practice start may change the staffing
    return posts.update(**with_hashes(StationWorker, values))  # the ID/mobile hashes too (P2)


# --- Staffing rules (Shenmu measures) ------------------------------------------------------------


def staffing_warnings(station: Station, workers=None, today: datetime.date | None = None) -> list[str]:
    """Where the station fails the staffing rules: a hub or station needs a head with at least two
    years of practice and at least the intermediate qualification; a room at least one certified worker."""
    workers = list(workers if workers is not None else station.workers.current())
    warnings = []
    if station.tier in (Tier.HUB, Tier.STATION):
        heads = [w for w in workers if w.is_head]
        if not heads:
            warnings.append(_("No station head is recorded."))
        elif not any(
            w.level in (WorkerLevel.INTERMEDIATE, WorkerLevel.SENIOR) and (w.years_of_practice(today) or 0) >= 2
            for w in heads
        ):
            warnings.append(_("The station head must hold at least the intermediate qualification (社会工作师) "
                              "and have at least two years of social-work practice."))
    elif not any(w.is_certified for w in workers):
        warnings.append(_("A room needs at least one worker with a social-work qualification."))
    return warnings
