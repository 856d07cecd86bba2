"""Which of the four registration kinds a worker may use on a date (Beijing manual, rules section).

`decide_kinds` is a pure function over plain records and a date; `worker_eligibility` loads a
worker's records and calls it. Y is the year of the date; a registration is valid three years.

- first (首登记): passed the exam in the current cycle (exam year Y-1 or Y) and never registered;
- renewal (再登记): the latest registration expires in year Y and the continuing-education hours
  since it began reach 72 (assistant) or 90 (intermediate, senior);
- late (补登记): holds a registration that expired before year Y, with the hours done in its period;
- reissue (补证): passed the exam in Y-2 or earlier and never registered, or holds a valid
  registration whose certificate was lost or damaged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import Sum
from django.utils.translation import gettext as _

from .models import (
    CE_HOURS_REQUIRED,
    CERecord,
    Qualification,
    QualificationLevel,
    Registration,
    RegistrationKind,
    RegistrationWindow,
)

LEVEL_ORDER = {QualificationLevel.ASSISTANT: 1, QualificationLevel.INTERMEDIATE: 2, QualificationLevel.SENIOR: 3}


@dataclass(frozen=True)
class QualificationFact:
    id: int | None
    level: str
    exam_year: int
    certificate_no: str = ""


@dataclass(frozen=True)
class RegistrationFact:
    id: int | None
    qualification_id: int | None
    level: str
    valid_from: date
    valid_to: date
    status: str = Registration.Status.VALID


@dataclass(frozen=True)
class KindDecision:
    kind: str
    allowed: bool
    reason: str
    qualification_id: int | None = None
    last_registration_id: int | None = None
    ce_hours: Decimal | None = None
    ce_required: Decimal | None = None

    @property
    def label(self) -> str:
        return RegistrationKind(self.kind).label


def _best(quals: Iterable[QualificationFact]) -> QualificationFact | None:
    """Highest level first, then the newest exam."""
    return max(quals, key=lambda q: (LEVEL_ORDER.get(q.level, 0), q.exam_year), default=None)


def _hours_message(have: Decimal, need: Decimal) -> str:
    return _("You have %(have)s of the %(need)s continuing-education hours required; %(missing)s are missing.") % {
        "have": f"{have:g}",
        "need": f"{need:g}",
        "missing": f"{need - have:g}",
    }


def decide_kinds(
    *,
    qualifications: Iterable[QualificationFact],
    registrations: Iterable[RegistrationFact],
    ce_hours_between: Callable[[date, date], Decimal],
    on_date: date,
) -> list[KindDecision]:
    """The four decisions (first, renewal, late, reissue) for one person on `on_date`."""
    quals = list(qualifications)
    regs = sorted(registrations, key=lambda r: r.valid_to)
    year = on_date.year
    registered_quals = {r.qualification_id for r in regs}
    unregistered = [q for q in quals if q.id not in registered_quals]
    latest = regs[-1] if regs else None
    no_record = _(
        "No exam record was found for your ID number. If you passed the exam, file a roster correction request."
    )

    # 首登记: this cycle's exam, never registered.
    if not quals:
        first = KindDecision(RegistrationKind.FIRST, False, no_record)
    else:
        current = _best(q for q in unregistered if q.exam_year >= year - 1)
        if current is not None and not any(
            LEVEL_ORDER.get(r.level, 0) >= LEVEL_ORDER.get(current.level, 0) for r in regs
        ):
            first = KindDecision(
                RegistrationKind.FIRST,
                True,
                _("You passed the %(year)d exam and have not registered yet.") % {"year": current.exam_year},
                qualification_id=current.id,
            )
        elif current is not None:
            first = KindDecision(RegistrationKind.FIRST, False, _("You are already registered at this level or higher."))
        elif unregistered:
            first = KindDecision(
                RegistrationKind.FIRST,
                False,
                _("Your exam year %(year)d is not in the current cycle; use reissue instead.")
                % {"year": _best(unregistered).exam_year},
            )
        else:
            first = KindDecision(RegistrationKind.FIRST, False, _("You are already registered."))

    # 再登记 and 补登记 both start from the latest registration.
    def with_hours(kind, start, end, ok_reason):
        need = CE_HOURS_REQUIRED[latest.level]
        have = ce_hours_between(start, end)
        common = {"qualification_id": latest.qualification_id, "last_registration_id": latest.id,
                  "ce_hours": have, "ce_required": need}
        if have >= need:
            return KindDecision(kind, True, ok_reason, **common)
        return KindDecision(kind, False, _hours_message(have, need), **common)

    if latest is None:
        renewal = KindDecision(RegistrationKind.RENEWAL, False, _("You have no registration to renew."))
        late = KindDecision(RegistrationKind.LATE, False, _("You have no earlier registration."))
    elif latest.status == Registration.Status.FROZEN:
        frozen = _("Your registration is frozen; apply to restore it first.")
        renewal = KindDecision(RegistrationKind.RENEWAL, False, frozen, last_registration_id=latest.id)
        late = KindDecision(RegistrationKind.LATE, False, frozen, last_registration_id=latest.id)
    elif latest.status == Registration.Status.REVOKED:
        revoked = _("Your registration was revoked.")
        renewal = KindDecision(RegistrationKind.RENEWAL, False, revoked, last_registration_id=latest.id)
        late = KindDecision(RegistrationKind.LATE, False, revoked, last_registration_id=latest.id)
    else:
        expiry_year = latest.valid_to.year
        if expiry_year == year:
            renewal = with_hours(
                RegistrationKind.RENEWAL, latest.valid_from, on_date,
                _("Your registration expires this year (%(date)s).") % {"date": latest.valid_to.isoformat()},
            )
        elif expiry_year > year:
            renewal = KindDecision(
                RegistrationKind.RENEWAL, False,
                _("Your registration is valid until %(date)s; renew in %(year)d.")
                % {"date": latest.valid_to.isoformat(), "year": expiry_year},
                last_registration_id=latest.id,
            )
        else:
            renewal = KindDecision(
                RegistrationKind.RENEWAL, False,
                _("Your registration expired in %(year)d; use late registration.") % {"year": expiry_year},
                last_registration_id=latest.id,
            )
        if expiry_year < year:
            late = with_hours(
                RegistrationKind.LATE, latest.valid_from, latest.valid_to,
                _("Your registration expired on %(date)s and you missed its renewal.")
                % {"date": latest.valid_to.isoformat()},
            )
        else:
            late = KindDecision(
                RegistrationKind.LATE, False,
                _("Late registration is for registrations that expired before this year."),
                last_registration_id=latest.id,
            )

    # 补证: an older exam never registered, or a valid registration whose certificate was lost.
    old = _best(q for q in unregistered if q.exam_year <= year - 2)
    if old is not None and not regs:
        reissue = KindDecision(
            RegistrationKind.REISSUE, True,
            _("You passed the %(year)d exam but never registered.") % {"year": old.exam_year},
            qualification_id=old.id,
        )
    elif latest is not None and latest.status == Registration.Status.VALID and latest.valid_to >= on_date:
        reissue = KindDecision(
            RegistrationKind.REISSUE, True,
            _("For a lost or damaged certificate of your registration valid until %(date)s.")
            % {"date": latest.valid_to.isoformat()},
            qualification_id=latest.qualification_id, last_registration_id=latest.id,
        )
    elif not quals:
        reissue = KindDecision(RegistrationKind.REISSUE, False, no_record)
    else:
        reissue = KindDecision(
            RegistrationKind.REISSUE, False,
            _("Reissue is for exams passed two or more years ago and never registered, or for a lost certificate "
              "of a valid registration."),
        )
    return [first, renewal, late, reissue]


def ce_hours_between(worker, start: date, end: date) -> Decimal:
    """Counted continuing-education hours completed in [start, end] (one aggregate query)."""
    total = (
        CERecord.objects.counted()
        .filter(worker=worker, completed_on__gte=start, completed_on__lte=end)
        .aggregate(total=Sum("hours"))["total"]
    )
    return total or Decimal(0)


def worker_eligibility(worker, *, on_date: date) -> list[KindDecision]:
    """Load the worker's roster entries and registrations and decide the four kinds."""
    quals = [
        QualificationFact(q.pk, q.level, q.exam_year, q.certificate_no)
        for q in Qualification.objects.filter(id_number=worker.id_number)
    ]
    regs = [
        RegistrationFact(r.pk, r.qualification_id, r.level, r.valid_from, r.valid_to, r.status)
        for r in Registration.objects.filter(worker=worker)
    ]
    return decide_kinds(
        qualifications=quals,
        registrations=regs,
        ce_hours_between=lambda start, end: ce_hours_between(worker, start, end),
        on_date=on_date,
    )


@dataclass(frozen=True)
class WindowState:
    window: RegistrationWindow | None
    is_open: bool
    reason: str
    next_window: RegistrationWindow | None = None


def current_window(region, *, on_date: date) -> WindowState:
    """The registration window of the region's province on `on_date`.

    A province that never set a window accepts applications at any time (the certificate then
    follows right after approval); one that did accepts them only while a window is open.
    """
    province = region.ancestor_at("province") if region is not None else None
    if province is None:
        return WindowState(None, True, "")
    windows = RegistrationWindow.objects.filter(province=province)
    open_now = windows.open_on(on_date).first()
    if open_now is not None:
        return WindowState(
            open_now, True,
            _("Registration is open until %(date)s.") % {"date": open_now.closes_on.isoformat()},
        )
    if not windows.exists():
        return WindowState(None, True, "")
    upcoming = windows.filter(opens_on__gt=on_date).order_by("opens_on").first()
    if upcoming is not None:
        reason = _("Registration is closed; the next period opens on %(date)s.") % {
            "date": upcoming.opens_on.isoformat()
        }
    else:
        reason = _("Registration is closed; no new period has been announced yet.")
    return WindowState(None, False, reason, upcoming)
