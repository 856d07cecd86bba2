"""The four registration kinds (Beijing manual, rules section), table-tested with 2022 cases."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import translation

from registration.eligibility import (
    QualificationFact,
    RegistrationFact,
    ce_hours_between,
    current_window,
    decide_kinds,
    worker_eligibility,
)
from registration.models import CERecord, Registration, RegistrationWindow
from tests.factories import CERecordFactory, QualificationFactory, RegistrationFactory, SocialWorkerFactory

TODAY = date(2022, 6, 15)
A, MID, S = "assistant", "intermediate", "senior"


def q(year, level=A, id=1):
    return QualificationFact(id=id, level=level, exam_year=year)


def reg(start_year, level=A, qid=1, status=Registration.Status.VALID, id=10):
    return RegistrationFact(
        id=id, qualification_id=qid, level=level, valid_from=date(start_year, 6, 1),
        valid_to=date(start_year + 3, 5, 31), status=status,
    )


def hours(n):
    return lambda start, end: Decimal(n)


CASES = [
    # id, qualifications, registrations, CE hours, allowed kinds
    ("2021-exam-never-registered", [q(2021)], [], 0, {"first"}),
    ("2022-exam-same-year", [q(2022)], [], 0, {"first"}),
    ("2020-exam-never-registered", [q(2020)], [], 0, {"reissue"}),
    ("2019-registration-72h-assistant", [q(2018)], [reg(2019)], 72, {"renewal"}),
    ("2019-registration-60h-assistant", [q(2018)], [reg(2019)], 60, set()),
    ("2019-registration-72h-intermediate", [q(2018, MID)], [reg(2019, MID)], 72, set()),
    ("2019-registration-90h-senior", [q(2018, S)], [reg(2019, S)], 90, {"renewal"}),
    ("2017-registration-ce-done", [q(2016)], [reg(2017)], 72, {"late"}),
    ("2017-registration-no-ce", [q(2016)], [reg(2017)], 10, set()),
    ("valid-2021-registration", [q(2020)], [reg(2021)], 0, {"reissue"}),
    ("frozen-2019-registration", [q(2018)], [reg(2019, status="frozen")], 90, set()),
    ("no-exam-record", [], [], 0, set()),
]


@pytest.mark.parametrize(
    ("qualifications", "registrations", "ce", "allowed"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decide_kinds(qualifications, registrations, ce, allowed):
    decisions = decide_kinds(
        qualifications=qualifications, registrations=registrations, ce_hours_between=hours(ce), on_date=TODAY
    )
    assert [d.kind for d in decisions] == ["first", "renewal", "late", "reissue"]
    assert {d.kind for d in decisions if d.allowed} == allowed
    assert all(d.reason for d in decisions), "every decision explains itself"


def test_refused_renewal_names_the_missing_hours():
    with translation.override("en"):
        renewal = decide_kinds(
            qualifications=[q(2018)], registrations=[reg(2019)], ce_hours_between=hours(60), on_date=TODAY
        )[1]
    assert not renewal.allowed
    assert "60 of the 72" in renewal.reason and "12 are missing" in renewal.reason
    assert renewal.ce_hours == 60 and renewal.ce_required == 72


def test_no_exam_record_points_to_the_correction_request():
    with translation.override("en"):
        first = decide_kinds(qualifications=[], registrations=[], ce_hours_between=hours(0), on_date=TODAY)[0]
    assert "roster correction request" in first.reason


def test_renewal_counts_hours_from_the_start_of_the_registration_to_today():
    seen = []

    def tally(start, end):
        seen.append((start, end))
        return Decimal(72)

    decide_kinds(qualifications=[q(2018)], registrations=[reg(2019)], ce_hours_between=tally, on_date=TODAY)
    assert (date(2019, 6, 1), TODAY) in seen


def test_late_counts_hours_within_the_expired_registration_period():
    seen = []

    def tally(start, end):
        seen.append((start, end))
        return Decimal(72)

    decide_kinds(qualifications=[q(2016)], registrations=[reg(2017)], ce_hours_between=tally, on_date=TODAY)
    assert (date(2017, 6, 1), date(2020, 5, 31)) in seen


def test_first_uses_the_highest_current_qualification():
    decisions = decide_kinds(
        qualifications=[q(2021, A, id=1), q(2021, MID, id=2)], registrations=[], ce_hours_between=hours(0),
        on_date=TODAY,
    )
    assert decisions[0].allowed and decisions[0].qualification_id == 2


def test_new_higher_level_after_an_assistant_registration_is_a_first_registration():
    decisions = decide_kinds(
        qualifications=[q(2018, A, id=1), q(2021, MID, id=2)], registrations=[reg(2021, A, qid=1)],
        ce_hours_between=hours(0), on_date=TODAY,
    )
    assert decisions[0].allowed and decisions[0].qualification_id == 2


# --- Database side ---------------------------------------------------------------------------


def test_ce_hours_between_counts_only_accepted_records_in_the_period(db, django_assert_num_queries):
    worker = SocialWorkerFactory()
    CERecordFactory(worker=worker, hours=30, completed_on=date(2020, 1, 1))
    CERecordFactory(worker=worker, hours=12.5, completed_on=date(2021, 12, 31))
    CERecordFactory(worker=worker, hours=40, completed_on=date(2021, 3, 1), status=CERecord.Status.PENDING)
    CERecordFactory(worker=worker, hours=50, completed_on=date(2018, 1, 1))
    with django_assert_num_queries(1):
        total = ce_hours_between(worker, date(2019, 6, 1), date(2022, 6, 15))
    assert total == Decimal("42.5")


def test_worker_eligibility_reads_roster_and_registrations(regions, db):
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"])
    QualificationFactory(id_number=worker.id_number, exam_year=2021)
    allowed = {d.kind for d in worker_eligibility(worker, on_date=TODAY) if d.allowed}
    assert allowed == {"first"}


def test_worker_eligibility_for_a_renewal(regions, db):
    worker = SocialWorkerFactory(work_region=regions["洪桥街道"])
    RegistrationFactory(worker=worker, valid_from=date(2019, 6, 1))
    CERecordFactory(worker=worker, hours=72, completed_on=date(2021, 1, 1))
    allowed = {d.kind for d in worker_eligibility(worker, on_date=TODAY) if d.allowed}
    # A registration valid until 2022-05-31 has expired by June: renewal is due this year.
    assert allowed == {"renewal"}


def test_window_state(regions, province_official):
    yuexiu = regions["洪桥街道"]
    state = current_window(yuexiu, on_date=TODAY)
    assert state.is_open and state.window is None  # no windows defined: any time
    window = RegistrationWindow.objects.create(
        province=regions["广东省"], name="2022年度登记", opens_on=date(2022, 6, 1), closes_on=date(2022, 6, 30),
        created_by=province_official,
    )
    assert current_window(yuexiu, on_date=TODAY).window == window
    later = RegistrationWindow.objects.create(
        province=regions["广东省"], name="2023年度登记", opens_on=date(2023, 6, 1), closes_on=date(2023, 6, 30),
        created_by=province_official,
    )
    closed = current_window(yuexiu, on_date=date(2022, 8, 1))
    assert not closed.is_open and closed.next_window == later
    with translation.override("en"):
        assert "2023-06-01" in current_window(yuexiu, on_date=date(2022, 8, 1)).reason
    # Another province's windows do not apply.
    assert current_window(regions["东城区"], on_date=date(2022, 8, 1)).is_open
