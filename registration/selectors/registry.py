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
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Greatest

from accounts.models import Region, RegionLevel, User
from swms.workflow import review_log_for

from ..models import (
    CE_HOURS_REQUIRED,
    CERecord,
    Certificate,
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
    """Each worker's current registration: the one ending last (the worker's home shows the same one)."""
    newer = Registration.objects.filter(worker=OuterRef("worker")).filter(
        Q(valid_to__gt=OuterRef("valid_to")) | Q(valid_to=OuterRef("valid_to"), pk__gt=OuterRef("pk"))
    )
    return Registration.objects.exclude(Exists(newer))


def with_ce_tally(qs: QuerySet[Registration], *, on_date: datetime.date) -> QuerySet[Registration]:
    """Annotate ce_have / ce_need / ce_missing as `ce_tally` counts them (counted hours completed from the
    registration's start to `on_date`), with one correlated sum instead of a query per row."""
    hours = (
        CERecord.objects.counted()
        .filter(worker=OuterRef("worker_id"), completed_on__gte=OuterRef("valid_from"), completed_on__lte=on_date)
        .order_by().values("worker").annotate(total=Sum("hours")).values("total")
    )
    need = Case(*[When(level=level, then=Value(h)) for level, h in CE_HOURS_REQUIRED.items()],
                default=Value(Decimal(0)), output_field=_HOURS)
    return qs.annotate(
        ce_have=Coalesce(Subquery(hours, output_field=_HOURS), Value(Decimal(0)), output_field=_HOURS),
        ce_need=need,
    ).annotate(ce_missing=Greatest(F("ce_need") - F("ce_have"), Value(Decimal(0)), output_field=_HOURS))


def registry_queryset(*, workers: QuerySet[SocialWorker], on_date: datetime.date) -> QuerySet[Registration]:
    """The current registrations of `workers` (already scoped with visible_to and the region tree), with
    the CE tally, ready for the registry filter."""
    qs = current_registrations().filter(worker__in=workers)
    return with_ce_tally(qs, on_date=on_date).select_related("worker", "worker__work_region").order_by(
        "worker__name", "worker_id"
    )


def registry_row(registration: Registration, *, on_date: datetime.date) -> dict:
    """One registry line: the record, its state and label, and the CE tally from the annotations."""
    code, label = registration_state(registration, on_date=on_date)
    return {"registration": registration, "worker": registration.worker, "state": code, "state_label": label,
            "ce_have": registration.ce_have, "ce_need": registration.ce_need, "ce_missing": registration.ce_missing}


# --- Who may act --------------------------------------------------------------------------------------


def oversight_authority(user: User, region: Region | None) -> bool:
    """True if `user` may freeze, unfreeze or cancel a registration of a worker working in `region`, or
    re-issue a certificate there: an official of the city or province above it (a county sees, the city
    or province acts), or a superuser."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_superuser:
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
    """True if the certificate's PDF is stored and not empty."""
    if not certificate.file or not certificate.file.name:
        return False
    try:
        return certificate.file.storage.exists(certificate.file.name) and certificate.file.size > 0
    except OSError:
        return False


def certificates_not_issued(qs: QuerySet[Registration], *, on_date: datetime.date) -> QuerySet[Registration]:
    """Valid registrations whose certificate was due but never issued (its issue task failed or is late)."""
    return qs.filter(status=Registration.Status.VALID, certificate_due_on__lte=on_date).exclude(
        Exists(Certificate.objects.current().filter(registration=OuterRef("pk")))
    )
