"""Reads of the officials' registry (社工登记库): registered workers with their current registration, set-based
(one query per page whatever its length), a worker's file, and the certificates issued."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Greatest

from accounts.models import Region, RegionLevel, User
from accounts.operator_roles import OPERATE_SYSTEM, can
from swms.workflow import review_log_for

from ..models import (
    CE_HOURS_REQUIRED,
    CERecord,
    Certificate,
    QualificationLevel,
    Registration,
    RegistrationApplication,
    SocialWorker,
)
from .worker import EXPIRY_WARNING_DAYS, ce_tally, registration_state

# The status filter's values, as other pages link to them (`?status=expiring`): registration_state's codes.
STATUS_CODES = ("valid", "expiring", "expired", "frozen", "revoked")

_HOURS = DecimalField(max_digits=8, decimal_places=1)


def registration_state_q(code: str, *, on_date: datetime.date, prefix: str = "") -> Q:
    """The rows `registration_state` gives `code` on `on_date`, as a filter (its set-based twin)."""
    status, valid_to = f"{prefix}status", f"{prefix}valid_to"
    warn_until = on_date + datetime.timedelta(days=EXPIRY_WARNING_DAYS)
    live = Q(**{status: Registration.Status.VALID})
    return {
        "revoked": Q(**{status: Registration.Status.REVOKED}),
        "frozen": Q(**{status: Registration.Status.FROZEN}),
        "expired": live & Q(**{f"{valid_to}__lt": on_date}),
        "expiring": live & Q(**{f"{valid_to}__gte": on_date, f"{valid_to}__lte": warn_until}),
        "valid": live & Q(**{f"{valid_to}__gt": warn_until}),
    }[code]


def current_registrations() -> QuerySet[Registration]:
    """Each worker's current registration: the one ending last (the worker's home shows the same one), as the
    worker row stores it (`SocialWorker.current_registration`, kept by registration/services/registry.py)."""
    return Registration.objects.filter(
        pk__in=SocialWorker.objects.filter(current_registration__isnull=False).values("current_registration")
    )


def with_ce_tally(qs: QuerySet[SocialWorker], *, on_date: datetime.date) -> QuerySet[SocialWorker]:
    """Annotate workers with ce_have / ce_need / ce_missing of their current registration, as `ce_tally`
    counts them: ce_have is the registration's stored `ce_hours` (kept equal to the tally by
    registration/services/registry.py), so a page costs no subquery per row. `on_date` is kept for the
    callers: the tally does not depend on the day (see ce_tally)."""
    reg = "current_registration__"
    need = Case(*[When(**{f"{reg}level": level}, then=Value(h)) for level, h in CE_HOURS_REQUIRED.items()],
                default=Value(Decimal(0)), output_field=_HOURS)
    return qs.annotate(ce_have=F(f"{reg}ce_hours"), ce_need=need).annotate(
        ce_missing=Greatest(F("ce_need") - F("ce_have"), Value(Decimal(0)), output_field=_HOURS))


def ce_short_q(short: bool = True) -> Q:
    """Workers whose current registration still misses CE hours (ce_missing > 0), or (`short=False`) has
    them all, as plain comparisons of the stored hours with each level's requirement: conditions on the
    registration's own columns, so the database joins it as an inner join and may start from either table."""
    reg = "current_registration__"
    q = Q()
    for level, hours in CE_HOURS_REQUIRED.items():
        q |= Q(**{f"{reg}level": level, f"{reg}ce_hours__lt" if short else f"{reg}ce_hours__gte": hours})
    unknown = [level for level in QualificationLevel.values if level not in CE_HOURS_REQUIRED]
    if not short and unknown:  # nothing required: never short
        q |= Q(**{f"{reg}level__in": unknown})
    return q


def registry_queryset(*, workers: QuerySet[SocialWorker], on_date: datetime.date) -> QuerySet[SocialWorker]:
    """The registered ones of `workers` (already scoped with visible_to and the region tree), each with its
    current registration (stored on the worker row) and the CE tally, in the registry's order (name, id):
    one query per page, walking the index of that order; ready for the registry filter."""
    qs = workers.filter(current_registration__isnull=False)
    return with_ce_tally(qs, on_date=on_date).select_related("current_registration", "work_region").order_by(
        "name", "pk"
    )


def registry_row(worker: SocialWorker, *, on_date: datetime.date) -> dict:
    """One registry line: the worker, the current registration, its state and label, and the CE tally from
    the annotations."""
    registration = worker.current_registration
    registration.worker = worker  # the same row: no query when a template follows registration.worker
    code, label = registration_state(registration, on_date=on_date)
    return {"registration": registration, "worker": worker, "state": code, "state_label": label,
            "ce_have": worker.ce_have, "ce_need": worker.ce_need, "ce_missing": worker.ce_missing}


# --- Who may act --------------------------------------------------------------------------------------


def oversight_authority(user: User, region: Region | None) -> bool:
    """True if `user` may freeze, unfreeze or cancel a registration of a worker working in `region`, or
    re-issue a certificate there: an official of the city or province above it (a county sees, the city
    or province acts), or a superuser."""
    if not user.is_authenticated or not user.is_active:
        return False
    if can(user, OPERATE_SYSTEM):
        return True
    return bool(
        user.is_official and user.region is not None
        and user.region.level in (RegionLevel.CITY, RegionLevel.PROVINCE)
        and user.region.contains(region)
    )


# --- A worker's file ----------------------------------------------------------------------------------


def worker_file(*, worker: SocialWorker, user: User, on_date: datetime.date) -> dict:
    """Everything the worker's file page shows: profile, registrations with certificates, CE ledger and
    tally, applications with their review logs, the oversight log and the history of changes."""
    from .profiles import profile_review_context

    registrations = list(
        Registration.objects.filter(worker=worker).order_by("-valid_to", "-pk").prefetch_related(
            Prefetch("certificates", queryset=Certificate.objects.order_by("-issued_at"))
        )
    )
    rows = []
    for registration in registrations:
        code, label = registration_state(registration, on_date=on_date)
        rows.append({"record": registration, "state": code, "state_label": label,
                     "certificates": list(registration.certificates.all())})
    current = registrations[0] if registrations else None
    applications = list(
        RegistrationApplication.objects.filter(worker=worker).select_related("qualification").order_by("-created_at")
    )
    for application in applications:
        application.log = list(review_log_for(application).select_related("actor", "actor_region"))
    history = _history_rows(worker.history.select_related("history_user").order_by("-history_date")[:50], worker.name)
    for registration in registrations:
        history += _history_rows(
            registration.history.select_related("history_user").order_by("-history_date")[:20],
            registration.registration_no,
        )
    history.sort(key=lambda row: row["record"].history_date, reverse=True)
    return {
        "worker": worker,
        **profile_review_context(worker),
        "registrations": rows,
        "current": current,
        "tally": ce_tally(worker=worker, registration=current, on_date=on_date),
        "ce_records": list(CERecord.objects.filter(worker=worker).order_by("-completed_on", "-pk")),
        "applications": applications,
        # The profile's review log: its own reviews and the oversight actions on the worker's registrations.
        "log": list(review_log_for(worker).select_related("actor", "actor_region")),
        "history": history,
        "can_act": oversight_authority(user, worker.work_region),
    }


def _history_rows(records, subject: str) -> list[dict]:
    """Each historical version (newest first) with the fields it changed against the one before it."""
    records = list(records)
    rows = []
    # Each version against the next older one (the oldest against nothing); no versions at all is
    # normal for workers brought in by a bulk import.
    for record, older in zip(records, [*records[1:], None][:len(records)], strict=True):
        changed = []
        if older is not None:
            model = record.instance_type
            changed = [str(model._meta.get_field(c.field).verbose_name)
                       for c in record.diff_against(older).changes if c.field != "updated_at"]
        rows.append({"record": record, "subject": subject, "changed": changed})
    return rows


# --- Certificates issued ------------------------------------------------------------------------------


def certificate_file_ok(certificate: Certificate) -> bool:
    """True if the certificate's PDF is stored and not empty. One look at the storage (a HEAD request in an
    object store); only "not there" counts as missing: a store that does not answer raises, so that a passing
    outage never looks like a lost file (which the oversight action would reissue)."""
    if not certificate.file or not certificate.file.name:
        return False
    try:
        return certificate.file.size > 0
    except FileNotFoundError:
        return False


def certificates_not_issued(qs: QuerySet[Registration], *, on_date: datetime.date) -> QuerySet[Registration]:
    """Valid registrations whose certificate was due but never issued (its issue task failed or is late)."""
    return qs.filter(status=Registration.Status.VALID, certificate_due_on__lte=on_date).exclude(
        Exists(Certificate.objects.current().filter(registration=OuterRef("pk")))
    )
