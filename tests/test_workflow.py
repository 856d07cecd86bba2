"""The shared review workflow: chain from the region tree, the declared transition table, who may act,
the review queues, the append-only log and history, on the test-only models Widget and Summary."""

import pytest

from accounts.models import Region, UserKind
from swms.models import AppendOnlyError, ReviewLog
from swms.workflow import (
    SINGLE_STEP,
    TWO_STEP,
    Action,
    CommentRequired,
    NoReviewAuthority,
    ReviewNotPermitted,
    SelfReviewRefused,
    State,
    Step,
    TransitionNotAllowed,
    Workflow,
    WorkflowError,
    city_only_chain,
    county_only_chain,
    review_approve,
    review_chain,
    review_log_for,
    review_reject,
    review_return,
    review_submit,
    review_withdraw,
    transition,
)
from tests.conftest import make_user
from tests.testapp.models import Summary, Widget


def make_item(regions, owner, region="洪桥街道", model=Widget, title="item"):
    return model.objects.create(title=title, region=regions[region], owner=owner)


def submitted_item(regions, owner, region="洪桥街道", model=Widget, title="item"):
    item = make_item(regions, owner, region, model, title)
    review_submit(item, actor=owner)
    return item


def force_status(item, state):
    # Test set-up only: put the item straight into a state without going through the workflow.
    type(item).objects.filter(pk=item.pk).update(status=state)
    item.status = state


def log_rows(item):
    return [
        (r.actor.username, r.action, r.step, r.from_state, r.to_state, r.comment)
        for r in review_log_for(item).select_related("actor")
    ]


# --- The review chain ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "initial", "final"),
    [
        ("越秀区", "越秀区", "广州市"),
        ("洪桥街道", "越秀区", "广州市"),  # a town under a county
        ("广州市", None, "广州市"),  # an item at city level: no initial step
        ("东城街道", None, "东莞市"),  # 东莞 towns: no county level
        ("东城区", "东城区", "北京市"),  # 北京 districts: no city level, the province decides
        ("东华门街道", "东城区", "北京市"),
        ("仙桃市", "仙桃市", "湖北省"),  # province-administered county-level city
        ("沙嘴街道", "仙桃市", "湖北省"),
        ("江岸区", "江岸区", "武汉市"),
        ("广东省", None, "广东省"),
    ],
)
def test_review_chain_follows_stored_levels(regions, region, initial, final):
    chain = review_chain(regions[region])
    assert (chain.initial and chain.initial.name, chain.final.name) == (initial, final)


@pytest.mark.parametrize(
    ("region", "county_only", "city_only"),
    [
        ("洪桥街道", "越秀区", "广州市"),
        ("东城街道", "东莞市", "东莞市"),
        ("沙嘴街道", "仙桃市", "湖北省"),
        ("广州市", "广州市", "广州市"),
    ],
)
def test_single_step_chains(regions, region, county_only, city_only):
    assert county_only_chain(regions[region]).initial is None
    assert county_only_chain(regions[region]).final.name == county_only
    assert city_only_chain(regions[region]).final.name == city_only


def test_chain_is_stored_at_submit(regions, social_worker):
    dongguan = submitted_item(regions, social_worker, "东城街道")
    xiantao = submitted_item(regions, social_worker, "沙嘴街道")
    dongguan.refresh_from_db()
    xiantao.refresh_from_db()
    assert dongguan.initial_region is None and dongguan.final_region == regions["东莞市"]
    assert xiantao.initial_region == regions["仙桃市"] and xiantao.final_region == regions["湖北省"]


def test_region_without_any_authority_cannot_be_submitted(db, social_worker):
    country = Region.objects.create(code="000000000000", name="中华人民共和国", level="country")
    item = Widget.objects.create(title="x", region=country, owner=social_worker)
    with pytest.raises(NoReviewAuthority):
        review_submit(item, actor=social_worker)
    item.refresh_from_db()
    assert item.status == State.DRAFT and not review_log_for(item).exists()


# --- The happy path -------------------------------------------------------------------------------------


def test_full_review_is_logged_step_by_step(regions, social_worker, alice, city_official):
    item = make_item(regions, social_worker)
    assert item.is_editable

    returned = review_submit(item, actor=social_worker, comment="  please  ")
    assert returned.status == item.status == State.SUBMITTED
    assert item.submitted_by == social_worker and item.submitted_at is not None
    assert item.initial_region == regions["越秀区"] and item.final_region == regions["广州市"]
    assert not item.is_editable
    assert item.pending_step == Step.INITIAL and item.awaiting_region == regions["越秀区"]

    review_approve(item, actor=alice, comment="ok")
    assert item.status == State.COUNTY_APPROVED and item.decided_at is None
    assert item.awaiting_region == regions["广州市"]

    review_approve(item, actor=city_official)
    item.refresh_from_db()
    assert item.status == State.APPROVED and item.decided_at is not None
    assert item.pending_step is None and not item.is_editable

    assert log_rows(item) == [
        ("sw_zhang", "submit", "applicant", "draft", "submitted", "please"),
        ("alice", "approve", "initial", "submitted", "county_approved", "ok"),
        ("gz_city", "approve", "final", "county_approved", "approved", ""),
    ]
    regions_of_actors = [r.actor_region_id for r in review_log_for(item)]
    assert regions_of_actors == [None, regions["越秀区"].pk, regions["广州市"].pk]


def test_item_without_county_goes_straight_to_the_city(regions, social_worker):
    dongguan = make_user("dg_city", UserKind.OFFICIAL, regions["东莞市"])
    item = submitted_item(regions, social_worker, "东城街道")
    assert item.pending_step == Step.FINAL
    review_approve(item, actor=dongguan)
    assert item.status == State.APPROVED
    assert [r[1:5] for r in log_rows(item)][-1] == ("approve", "final", "submitted", "approved")


def test_province_takes_the_final_review_where_there_is_no_city(regions, social_worker):
    xiantao = make_user("xt_county", UserKind.OFFICIAL, regions["仙桃市"])
    hubei = make_user("hb_province", UserKind.OFFICIAL, regions["湖北省"])
    item = submitted_item(regions, social_worker, "沙嘴街道")
    with pytest.raises(ReviewNotPermitted):
        review_approve(item, actor=hubei)
    review_approve(item, actor=xiantao)
    review_approve(item, actor=hubei)
    assert item.status == State.APPROVED


# --- The declared table is the only source of allowed moves ---------------------------------------------

WORKFLOW_MODELS = [Widget, Summary]


def _pairs(allowed):
    return [
        pytest.param(model, state, action, id=f"{model.__name__}-{state}-{action}")
        for model in WORKFLOW_MODELS
        for state in State.values
        for action in Action.values
        if (action in model.workflow.transitions.get(state, {})) == allowed
    ]


def _actor_for(item, action, applicant, officials):
    """Someone who would be entitled to `action` if the state allowed it."""
    if action in item.workflow.applicant_actions:
        return applicant
    step = item.workflow.pending_step(item) or Step.FINAL
    return officials[getattr(item, f"{step}_region_id")]


@pytest.fixture
def officials(alice, city_official):
    return {alice.region_id: alice, city_official.region_id: city_official}


@pytest.mark.parametrize(("model", "state", "action"), _pairs(allowed=False))
def test_moves_missing_from_the_table_are_refused(model, state, action, regions, social_worker, officials):
    item = submitted_item(regions, social_worker, model=model)
    force_status(item, state)
    before = review_log_for(item).count()
    with pytest.raises(TransitionNotAllowed):
        transition(item, action, actor=_actor_for(item, action, social_worker, officials), comment="why")
    item.refresh_from_db()
    assert item.status == state
    assert review_log_for(item).count() == before


@pytest.mark.parametrize(("model", "state", "action"), _pairs(allowed=True))
def test_moves_in_the_table_lead_where_the_table_says(
    model, state, action, regions, social_worker, officials
):
    item = submitted_item(regions, social_worker, model=model)
    force_status(item, state)
    target = model.workflow.transitions[state][action]
    if isinstance(target, dict):
        step = Step.INITIAL if state == State.SUBMITTED and item.initial_region_id else Step.FINAL
        target = target[step]
    transition(item, action, actor=_actor_for(item, action, social_worker, officials), comment="why")
    item.refresh_from_db()
    assert item.status == target
    assert review_log_for(item).last().to_state == target


def test_unknown_action_is_refused(regions, social_worker, alice):
    item = submitted_item(regions, social_worker)
    with pytest.raises(TransitionNotAllowed):
        transition(item, "publish", actor=alice)


def test_workflow_table_typos_fail_at_declaration():
    with pytest.raises(ValueError):
        Workflow({State.DRAFT: {"sumbit": State.SUBMITTED}}, waiting={})
    with pytest.raises(ValueError):
        Workflow({State.SUBMITTED: {Action.APPROVE: State.APPROVED}}, waiting={})
    assert TWO_STEP.allowed(State.COUNTY_APPROVED, Action.APPROVE)
    assert not SINGLE_STEP.allowed(State.COUNTY_APPROVED, Action.APPROVE)


# --- Who may act ---------------------------------------------------------------------------------------


def test_city_cannot_approve_before_county(regions, social_worker, alice, city_official):
    item = submitted_item(regions, social_worker)
    assert Widget.objects.visible_to(city_official).filter(pk=item.pk).exists()
    with pytest.raises(ReviewNotPermitted) as excinfo:
        review_approve(item, actor=city_official)
    assert "越秀区" in str(excinfo.value.message)
    item.refresh_from_db()
    assert item.status == State.SUBMITTED
    assert [r[1] for r in log_rows(item)] == ["submit"]


def test_sibling_county_cannot_act(regions, social_worker, charlie, alice):
    item = submitted_item(regions, social_worker)
    for act in (review_approve, review_reject, review_return):
        with pytest.raises(ReviewNotPermitted):
            act(item, actor=charlie, comment="no")
    review_approve(item, actor=alice)
    with pytest.raises(ReviewNotPermitted):
        review_approve(item, actor=charlie)


def test_county_cannot_take_the_final_step(regions, social_worker, alice):
    item = submitted_item(regions, social_worker)
    review_approve(item, actor=alice)
    with pytest.raises(ReviewNotPermitted):
        review_approve(item, actor=alice)


def test_province_cannot_act_on_a_city_item(regions, social_worker, alice, province_official):
    item = submitted_item(regions, social_worker)
    with pytest.raises(ReviewNotPermitted):
        review_approve(item, actor=province_official)
    review_approve(item, actor=alice)
    with pytest.raises(ReviewNotPermitted):
        review_approve(item, actor=province_official)


def test_inactive_official_cannot_act(regions, social_worker, alice):
    item = submitted_item(regions, social_worker)
    alice.is_active = False
    with pytest.raises(ReviewNotPermitted):
        review_approve(item, actor=alice)


def test_self_review_is_refused(regions, alice, bob):
    item = make_item(regions, alice, region="越秀区")
    review_submit(item, actor=alice)
    with pytest.raises(SelfReviewRefused):
        review_approve(item, actor=alice)
    review_approve(item, actor=bob)  # a colleague at the same node may
    assert item.status == State.COUNTY_APPROVED


def test_applicant_cannot_review(regions, social_worker):
    item = submitted_item(regions, social_worker)
    with pytest.raises(SelfReviewRefused):
        review_approve(item, actor=social_worker)


def test_only_the_applicant_submits_and_withdraws(regions, social_worker, alice, organization_user):
    item = make_item(regions, social_worker)
    for someone in (alice, organization_user):
        with pytest.raises(ReviewNotPermitted):
            review_submit(item, actor=someone)
    review_submit(item, actor=social_worker)
    with pytest.raises(ReviewNotPermitted):
        review_withdraw(item, actor=alice)


@pytest.mark.parametrize("act", [review_reject, review_return])
@pytest.mark.parametrize("comment", ["", "   "])
def test_reject_and_return_need_a_reason(regions, social_worker, alice, act, comment):
    item = submitted_item(regions, social_worker)
    with pytest.raises(CommentRequired):
        act(item, actor=alice, comment=comment)
    item.refresh_from_db()
    assert item.status == State.SUBMITTED


def test_errors_are_workflow_errors_with_a_message():
    for error in (
        TransitionNotAllowed,
        ReviewNotPermitted,
        SelfReviewRefused,
        CommentRequired,
        NoReviewAuthority,
    ):
        assert issubclass(error, WorkflowError)
        assert str(error().message)


def test_available_actions_match_who_may_act(regions, social_worker, alice, city_official, charlie):
    item = submitted_item(regions, social_worker)
    assert item.available_actions(alice) == [Action.APPROVE, Action.REJECT, Action.RETURN]
    assert item.available_actions(city_official) == []
    assert item.available_actions(charlie) == []
    assert item.available_actions(social_worker) == [Action.WITHDRAW]


# --- Return, reject, resubmit, withdraw ---------------------------------------------------------------


def test_resubmit_after_return_is_logged_and_recomputes_the_chain(regions, social_worker, alice):
    item = submitted_item(regions, social_worker)
    review_return(item, actor=alice, comment="photo missing")
    assert item.status == State.RETURNED and item.is_editable and item.decided_at is not None

    item.region = regions["东城街道"]  # the applicant fixes the data while it is editable
    item.save(update_fields=["region"])
    review_submit(item, actor=social_worker, comment="fixed")
    item.refresh_from_db()
    assert item.status == State.SUBMITTED and item.decided_at is None
    assert item.initial_region is None and item.final_region == regions["东莞市"]
    assert [r[1:6] for r in log_rows(item)] == [
        ("submit", "applicant", "draft", "submitted", ""),
        ("return", "initial", "submitted", "returned", "photo missing"),
        ("submit", "applicant", "returned", "submitted", "fixed"),
    ]


def test_rejected_item_can_be_fixed_and_resubmitted(regions, social_worker, alice, city_official):
    item = submitted_item(regions, social_worker)
    review_approve(item, actor=alice)
    review_reject(item, actor=city_official, comment="not eligible")
    assert item.status == State.REJECTED and item.is_editable
    review_submit(item, actor=social_worker)
    assert item.status == State.SUBMITTED and item.pending_step == Step.INITIAL


def test_withdraw_only_before_review(regions, social_worker, alice):
    item = submitted_item(regions, social_worker)
    review_withdraw(item, actor=social_worker)
    assert item.status == State.DRAFT and item.is_editable

    review_submit(item, actor=social_worker)
    review_approve(item, actor=alice)
    with pytest.raises(TransitionNotAllowed):
        review_withdraw(item, actor=social_worker)


def test_stale_copy_cannot_act_on_a_changed_item(regions, social_worker, alice, bob):
    item = submitted_item(regions, social_worker)
    stale = Widget.objects.get(pk=item.pk)
    review_approve(item, actor=alice)
    with pytest.raises(TransitionNotAllowed):
        review_approve(stale, actor=bob)
    assert [r[1] for r in log_rows(item)] == ["submit", "approve"]


def test_caller_transaction_rolls_back_the_review_step(regions, social_worker, alice):
    from django.db import transaction

    item = submitted_item(regions, social_worker)
    with pytest.raises(RuntimeError), transaction.atomic():
        review_approve(item, actor=alice)
        raise RuntimeError("the caller's own work failed")
    item.refresh_from_db()
    assert item.status == State.SUBMITTED
    assert [r[1] for r in log_rows(item)] == ["submit"]


# --- Review queues -------------------------------------------------------------------------------------


@pytest.fixture
def queue_items(regions, social_worker, alice, charlie, city_official):
    dongguan = make_user("dg_city", UserKind.OFFICIAL, regions["东莞市"])
    beijing = make_user("bj_province", UserKind.OFFICIAL, regions["北京市"])
    dongcheng = make_user("bj_dongcheng", UserKind.OFFICIAL, regions["东城区"])

    def item(title, region, *steps):
        obj = submitted_item(regions, social_worker, region, title=title)
        for actor in steps:
            review_approve(obj, actor=actor)
        return obj

    item("yx-submitted", "洪桥街道")
    item("yx-county-approved", "越秀区", alice)
    item("yx-approved", "北京街道", alice, city_official)
    make_item(regions, social_worker, "越秀区", title="yx-draft")
    item("lw-submitted", "沙面街道")
    item("gz-city-level", "广州市")
    item("dg-submitted", "东城街道")
    item("bj-submitted", "东华门街道")
    item("bj-county-approved", "东城区", dongcheng)
    return {"dongguan": dongguan, "beijing": beijing, "dongcheng": dongcheng}


def _queue(user):
    return {w.title for w in Widget.objects.review_queue(user)}


def test_review_queue_holds_exactly_the_items_awaiting_that_official(
    queue_items, alice, charlie, city_official, province_official, social_worker
):
    assert _queue(alice) == {"yx-submitted"}
    assert _queue(charlie) == {"lw-submitted"}
    assert _queue(city_official) == {"yx-county-approved", "gz-city-level"}
    assert _queue(queue_items["dongguan"]) == {"dg-submitted"}
    assert _queue(queue_items["beijing"]) == {"bj-county-approved"}
    assert _queue(queue_items["dongcheng"]) == {"bj-submitted"}
    assert _queue(province_official) == set()
    assert _queue(social_worker) == set()


def test_review_queue_is_one_query(queue_items, alice, city_official, django_assert_num_queries):
    for user in (alice, city_official, queue_items["dongguan"], queue_items["beijing"]):
        with django_assert_num_queries(1):
            items = list(Widget.objects.review_queue(user))
        assert items


def test_awaiting_others_shows_what_the_city_waits_for(queue_items, city_official, alice):
    waiting = {w.title for w in Widget.objects.awaiting_others(city_official)}
    assert waiting == {"yx-submitted", "lw-submitted"}
    # alice passed it on: it now waits for the city
    assert {w.title for w in Widget.objects.awaiting_others(alice)} == {"yx-county-approved"}


def test_applicant_sees_own_items_only(queue_items, social_worker, organization_user):
    assert Widget.objects.visible_to(social_worker).count() == Widget.objects.count()
    assert not Widget.objects.visible_to(organization_user).exists()


# --- Log and history -----------------------------------------------------------------------------------


def test_review_log_is_append_only(regions, social_worker):
    item = submitted_item(regions, social_worker)
    row = review_log_for(item).get()
    row.comment = "rewritten"
    with pytest.raises(AppendOnlyError):
        row.save()
    with pytest.raises(AppendOnlyError):
        row.delete()
    with pytest.raises(AppendOnlyError):
        ReviewLog.objects.filter(pk=row.pk).update(comment="rewritten")
    with pytest.raises(AppendOnlyError):
        ReviewLog.objects.filter(pk=row.pk).delete()
    assert ReviewLog.objects.get(pk=row.pk).comment == ""


def test_history_records_every_transition_with_its_actor(regions, social_worker, alice, city_official):
    item = submitted_item(regions, social_worker)
    review_approve(item, actor=alice)
    review_approve(item, actor=city_official)
    history = list(item.history.order_by("history_date", "history_id"))
    assert [h.status for h in history] == ["draft", "submitted", "county_approved", "approved"]
    assert [h.history_user for h in history[1:]] == [social_worker, alice, city_official]
    assert [h.history_change_reason for h in history[1:]] == ["submit", "approve", "approve"]


# --- A single-step workflow of its own -----------------------------------------------------------------


def test_single_step_summary_is_decided_by_the_county_alone(regions, social_worker, alice, city_official):
    summary = submitted_item(regions, social_worker, model=Summary)
    assert summary.initial_region is None and summary.final_region == regions["越秀区"]
    assert {s.title for s in Summary.objects.review_queue(alice)} == {"item"}
    assert not Summary.objects.review_queue(city_official).exists()
    with pytest.raises(ReviewNotPermitted):
        review_approve(summary, actor=city_official)
    review_approve(summary, actor=alice)
    assert summary.status == State.APPROVED and summary.decided_at is not None
    assert [r[1:5] for r in log_rows(summary)][-1] == ("approve", "final", "submitted", "approved")


def test_single_step_summary_cannot_be_rejected_only_returned(regions, social_worker, alice):
    summary = submitted_item(regions, social_worker, model=Summary)
    with pytest.raises(TransitionNotAllowed):
        review_reject(summary, actor=alice, comment="no")
    review_return(summary, actor=alice, comment="numbers do not add up")
    assert summary.status == State.RETURNED and summary.is_editable
    assert summary.available_actions(social_worker) == [Action.SUBMIT]


def test_single_step_summary_without_county_goes_to_the_city(regions, social_worker):
    summary = submitted_item(regions, social_worker, "东城街道", model=Summary)
    assert summary.final_region == regions["东莞市"]
