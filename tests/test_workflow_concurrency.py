"""Two officials of the same node approving the same item at once: the row lock lets exactly one win."""

import threading

import pytest
from django.db import connection

from swms.models import ReviewLog
from swms.workflow import Action, State, TransitionNotAllowed, review_approve, review_log_for, review_submit
from tests.testapp.models import Summary, Widget


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("model", "expected"),
    [(Widget, State.COUNTY_APPROVED), (Summary, State.APPROVED)],  # initial step; single (final) step
)
def test_simultaneous_approvals_advance_the_item_once(regions, social_worker, alice, bob, model, expected):
    item = model.objects.create(title="race", region=regions["洪桥街道"], owner=social_worker)
    review_submit(item, actor=social_worker)
    barrier = threading.Barrier(2, timeout=10)
    outcomes = {}

    def approve(official):
        try:
            # Each thread loads its own copy, as two browser sessions would.
            copy = model.objects.get(pk=item.pk)
            barrier.wait()
            review_approve(copy, actor=official)
            outcomes[official.username] = "ok"
        except TransitionNotAllowed as exc:
            outcomes[official.username] = type(exc).__name__
        finally:
            connection.close()

    threads = [threading.Thread(target=approve, args=(u,)) for u in (alice, bob)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes.values()) == ["TransitionNotAllowed", "ok"]
    item.refresh_from_db()
    assert item.status == expected
    assert review_log_for(item).filter(action=Action.APPROVE).count() == 1
    assert ReviewLog.objects.count() == 2  # submit + the one approval
