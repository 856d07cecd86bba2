"""信息修改申请: an approved profile is locked; a granted change request opens it for one reviewed edit."""

import pytest
from django.urls import reverse

from registration import review, services
from registration.models import ProfileChangeRequest, SocialWorker
from swms.models import Action, ReviewLog, State
from swms.workflow import (
    CommentRequired,
    Step,
    TransitionNotAllowed,
    Workflow,
    review_approve,
    review_log_for,
    review_submit,
)
from tests.factories import RegistrationFactory


@pytest.fixture
def approved_worker(worker_in, alice):
    worker = worker_in()
    review_submit(worker, actor=worker.user)
    review_approve(worker, actor=alice)
    worker.refresh_from_db()
    assert worker.status == State.APPROVED
    return worker


def test_approved_profile_is_locked_but_contact_stays_editable(approved_worker):
    with pytest.raises(services.RegistrationError):
        services.profile_save(worker=approved_worker, data={"school": "华南师范大学"})
    services.profile_contact_update(worker=approved_worker, data={"mobile": "13900000001"})
    approved_worker.refresh_from_db()
    assert approved_worker.mobile == "13900000001"
    assert approved_worker.school == "中山大学"


def test_granted_change_opens_the_profile_for_one_reviewed_edit(approved_worker, alice, client):
    change = services.profile_change_submit(worker=approved_worker, reason="学历变更为硕士")
    assert change.status == State.SUBMITTED
    assert list(ProfileChangeRequest.objects.review_queue(alice)) == [change]

    before = approved_worker.user.messages.count()
    review.profile_change_decide(change=change, actor=alice, action="approve")
    worker = SocialWorker.objects.get(pk=approved_worker.pk)
    assert worker.status == State.RETURNED and worker.is_editable
    assert worker.user.messages.filter(link=reverse("registration:profile")).count() == before + 1
    reopen = review_log_for(worker).last()
    assert (reopen.action, reopen.step, reopen.actor, reopen.comment) == (
        Action.REOPEN, Step.FINAL, alice, "学历变更为硕士")

    services.profile_save(worker=worker, data={"education": "master", "school": "华南师范大学"})
    services.profile_submit(worker=worker, actor=worker.user)
    assert list(SocialWorker.objects.review_queue(alice)) == [worker]

    # The county sees what changed since the last approval.
    client.force_login(alice)
    page = client.get(reverse("registration:profile-review", args=[worker.pk])).content.decode()
    assert 'data-testid="profile-changes"' in page
    assert "华南师范大学" in page and "中山大学" in page

    review.profile_decide(worker=worker, actor=alice, action="approve")
    worker.refresh_from_db()
    assert worker.status == State.APPROVED and not worker.is_editable
    # One edit only: the profile is locked again.
    with pytest.raises(services.RegistrationError):
        services.profile_save(worker=worker, data={"school": "别的学校"})


def test_rejected_change_leaves_the_profile_locked(approved_worker, alice):
    change = services.profile_change_submit(worker=approved_worker, reason="想改名字")
    with pytest.raises(CommentRequired):
        review.profile_change_decide(change=change, actor=alice, action="reject", comment="")
    review.profile_change_decide(change=change, actor=alice, action="reject", comment="姓名以考试名册为准")
    approved_worker.refresh_from_db()
    assert approved_worker.status == State.APPROVED
    assert ProfileChangeRequest.objects.get(pk=change.pk).status == State.REJECTED
    # A rejected request does not block a new one.
    assert services.profile_change_submit(worker=approved_worker, reason="学历变更").status == State.SUBMITTED


def test_returned_change_is_corrected_and_resent(approved_worker, alice):
    change = services.profile_change_submit(worker=approved_worker, reason="改")
    review.profile_change_decide(change=change, actor=alice, action="return", comment="请写明修改哪些信息")
    again = services.profile_change_submit(worker=approved_worker, reason="学历由本科改为硕士")
    assert again.pk == change.pk and again.status == State.SUBMITTED
    assert ProfileChangeRequest.objects.filter(worker=approved_worker).count() == 1


def test_one_open_request_and_only_for_approved_profiles(approved_worker, worker_in):
    services.profile_change_submit(worker=approved_worker, reason="学历变更")
    with pytest.raises(services.RegistrationError):
        services.profile_change_submit(worker=approved_worker, reason="再来一次")
    draft = worker_in()
    with pytest.raises(services.RegistrationError):
        services.profile_change_submit(worker=draft, reason="x")
    with pytest.raises(services.RegistrationError):
        services.profile_change_submit(worker=approved_worker, reason="   ")


def test_sibling_county_cannot_see_or_decide(approved_worker, charlie, client):
    change = services.profile_change_submit(worker=approved_worker, reason="学历变更")
    client.force_login(charlie)
    assert client.get(reverse("registration:profile-change-review", args=[change.pk])).status_code == 404
    response = client.post(reverse("registration:profile-change-decide", args=[change.pk]), {"action": "approve"})
    assert response.status_code == 404
    assert ProfileChangeRequest.objects.get(pk=change.pk).status == State.SUBMITTED


def test_after_a_move_the_new_county_reopens_the_profile(approved_worker, alice, charlie, regions):
    """The profile was approved by 越秀区; the worker then moved to 荔湾区. The chain is computed afresh
    when the profile is reopened, so 荔湾区 both grants the request and reviews the edit."""
    SocialWorker.objects.filter(pk=approved_worker.pk).update(work_region=regions["沙面街道"])
    approved_worker.refresh_from_db()
    change = services.profile_change_submit(worker=approved_worker, reason="学历变更")
    assert list(ProfileChangeRequest.objects.review_queue(charlie)) == [change]
    review.profile_change_decide(change=change, actor=charlie, action="approve")
    worker = SocialWorker.objects.get(pk=approved_worker.pk)
    assert worker.status == State.RETURNED
    assert worker.final_region == regions["荔湾区"]
    assert ReviewLog.objects.filter(action=Action.REOPEN, actor=charlie).count() == 1


def test_reopen_is_no_button_and_only_the_authority_may_take_it(approved_worker, alice, charlie):
    assert Action.REOPEN not in approved_worker.available_actions(alice)
    from swms.workflow import ReviewNotPermitted, review_reopen

    with pytest.raises(ReviewNotPermitted):
        review_reopen(approved_worker, actor=charlie)
    with pytest.raises(ReviewNotPermitted):
        review_reopen(approved_worker, actor=approved_worker.user)
    approved_worker.refresh_from_db()
    assert approved_worker.status == State.APPROVED


def test_reopen_only_from_a_decided_state(worker_in, alice):
    worker = worker_in()
    review_submit(worker, actor=worker.user)
    from swms.workflow import review_reopen

    with pytest.raises(TransitionNotAllowed):
        review_reopen(worker, actor=alice)


def test_an_authority_action_from_a_waiting_state_is_refused_at_declaration():
    with pytest.raises(ValueError):
        Workflow(
            {State.SUBMITTED: {Action.REOPEN: State.RETURNED, Action.APPROVE: State.APPROVED}},
            waiting={State.SUBMITTED: (Step.FINAL,)},
            authority_actions=(Action.REOPEN,),
        )


def test_registered_worker_changes_region_only_by_request(approved_worker, alice, regions):
    RegistrationFactory(worker=approved_worker)
    change = services.profile_change_submit(worker=approved_worker, reason="学历变更")
    review.profile_change_decide(change=change, actor=alice, action="approve")
    worker = SocialWorker.objects.get(pk=approved_worker.pk)
    services.profile_save(worker=worker, data={"work_region": regions["沙面街道"], "employer": "别处", "school": "新"})
    worker.refresh_from_db()
    assert worker.work_region == regions["洪桥街道"] and worker.employer == "阳光社工中心"
    assert worker.school == "新"


def test_worker_files_the_request_from_the_profile_page(approved_worker, client):
    client.force_login(approved_worker.user)
    page = client.get(reverse("registration:profile")).content.decode()
    assert 'data-testid="profile-change"' in page
    response = client.post(reverse("registration:profile-change-new"), {"reason": "学历变更为硕士"})
    assert response.status_code == 302
    assert ProfileChangeRequest.objects.get(worker=approved_worker).status == State.SUBMITTED
    page = client.get(reverse("registration:profile")).content.decode()
    assert "学历变更为硕士" in page  # listed under "my change requests"
