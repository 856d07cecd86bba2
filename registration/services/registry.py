"""What the officials' registry (社工登记库) reads from the row instead of computing it per view, and the one
place that keeps it right.

- `SocialWorker.current_registration`: the worker's registration ending last (ties: the newest record), the
  one the worker's home and the registry show. Only a new registration changes it (freezing, unfreezing,
  cancelling or replacing a certificate changes a registration's status or certificate, never which one
  ends last), so `registration/review.py:_registration_create` refreshes it.
- `Registration.ce_hours`: the counted (accepted) CE hours completed on or after the registration's
  `valid_from`, which is what `ce_tally` (selectors/worker.py, the definition) counts. The tally used to
  stop at the day it was asked; no path books a completion date after today (a claim must be finished, an
  import row may not be dated in the future, a course is finished today), so for everything the
  application records that bound changed nothing, and without it the stored sum equals the tally on every
  day with no daily job. Every path that adds or removes counted hours refreshes it: an approved offline
  claim (`review.ce_claim_decide`), a finished course (`review.courseware_finish`), a provider import
  (`ce_import.ce_hours_import`), a voided record (`ce_record_void`), and a new registration (its own sum
  starts then). Whatever else changes a record (an admin, a script) calls `registry_refresh` for its worker.

`registry_refresh(worker_ids)` recomputes both for some workers (three queries whatever their number);
`registry_refresh_all()` recomputes every row (migration 0015 and the scale generator: two UPDATEs on
PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import DecimalField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from reports import aggregates

BATCH = 2000

_HOURS = DecimalField(max_digits=8, decimal_places=1)

# Both stored values for every row, set-based (PostgreSQL); only rows whose value changes are written.
REFRESH_ALL_SQL = (
    """
    UPDATE registration_socialworker w SET current_registration_id = c.id
    FROM (SELECT DISTINCT ON (worker_id) worker_id, id FROM registration_registration
          ORDER BY worker_id, valid_to DESC, id DESC) c
    WHERE c.worker_id = w.id AND w.current_registration_id IS DISTINCT FROM c.id
    """,
    """
    UPDATE registration_socialworker w SET current_registration_id = NULL
    WHERE w.current_registration_id IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM registration_registration r WHERE r.worker_id = w.id)
    """,
    """
    UPDATE registration_registration r SET ce_hours = s.total
    FROM (SELECT r2.id, coalesce(sum(c.hours), 0) AS total
          FROM registration_registration r2
          LEFT JOIN registration_cerecord c
            ON c.worker_id = r2.worker_id AND c.status = 'accepted' AND c.completed_on >= r2.valid_from
          GROUP BY r2.id) s
    WHERE s.id = r.id AND r.ce_hours <> s.total
    """,
)


def refresh_rows(*, Registration, SocialWorker, CERecord, worker_ids: Iterable[int]) -> None:  # noqa: N803
    """Both stored values of these workers, with the given model classes (the live ones, or a migration's
    historical ones): per batch one read of the registrations, one UPDATE of the workers, one of the
    registrations' hours."""
    ids = sorted(set(worker_ids))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start:start + BATCH]
        current: dict[int, int | None] = dict.fromkeys(chunk)
        for worker_id, pk in (Registration.objects.filter(worker_id__in=chunk)
                              .order_by("worker_id", "valid_to", "pk").values_list("worker_id", "pk")):
            current[worker_id] = pk  # ordered ascending: the last one seen ends last
        rows = [SocialWorker(pk=worker_id, current_registration_id=pk) for worker_id, pk in current.items()]
        SocialWorker.objects.bulk_update(rows, ["current_registration"], batch_size=500)
        hours = (
            CERecord.objects.filter(status="accepted", worker_id=OuterRef("worker_id"),
                                    completed_on__gte=OuterRef("valid_from"))
            .order_by().values("worker_id").annotate(total=Sum("hours")).values("total")
        )
        Registration.objects.filter(worker_id__in=chunk).update(
            ce_hours=Coalesce(Subquery(hours, output_field=_HOURS), Value(Decimal(0)), output_field=_HOURS)
        )


def registry_refresh(worker_ids: Iterable[int]) -> None:
    """Recompute the current registration and the CE hours of these workers' registrations."""
    from ..models import CERecord, Registration, SocialWorker

    refresh_rows(Registration=Registration, SocialWorker=SocialWorker, CERecord=CERecord, worker_ids=worker_ids)


def registry_refresh_all(using_connection=None) -> None:
    """Every worker's current registration and every registration's CE hours: two UPDATEs (and a clean-up)
    on PostgreSQL, batches of `registry_refresh` elsewhere."""
    conn = using_connection or connection
    if conn.vendor == "postgresql":
        with conn.cursor() as cursor:
            for statement in REFRESH_ALL_SQL:
                cursor.execute(statement)
        return
    from ..models import SocialWorker

    registry_refresh(SocialWorker.objects.order_by().values_list("pk", flat=True))


def ce_record_void(*, record, reason: str = "") -> None:
    """Take a CE record out of the count (it goes back to `returned`), keeping the stored hours right: the
    one way the application lets an accepted record stop counting."""
    from ..models import CERecord

    with transaction.atomic():
        record.status = CERecord.Status.RETURNED
        if reason:
            record._change_reason = reason[:100]
        record.save(update_fields=["status"])
        registry_refresh([record.worker_id])
        aggregates.ce_changed([record.worker_id])
