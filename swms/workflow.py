"""The one review workflow every reviewable thing declares (DESIGN.md, "Review workflows").

A reviewable model inherits `Reviewable`, names where its region and its applicant are, and uses
`ReviewableQuerySet`:

    class Application(Reviewable):
        region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+")
        owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

        review_region_field = "region"      # path to the Region deciding the review chain
        applicant_field = "owner"           # the user who may submit and withdraw
        workflow = TWO_STEP                 # or SINGLE_STEP, or Workflow(...) of its own

        objects = ReviewableQuerySet.as_manager()
        history = HistoricalRecords()

        class Meta(Reviewable.Meta):        # keeps the review-queue indexes
            verbose_name = _("application")

State changes go only through `transition()` (or the `review_*` wrappers). It opens its own
`transaction.atomic()`; a service that must change other rows together with the review step calls it
inside its own atomic block, and the whole lot commits or rolls back together. Side effects (mail,
Celery tasks) belong in `transaction.on_commit` so they never fire for a rolled-back review.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from swms.models import Action, ReviewLog, State, Step, review_log_for
from swms.scoping import ScopedQuerySet

if TYPE_CHECKING:
    from accounts.models import Region, User

__all__ = [
    "SINGLE_STEP",
    "TWO_STEP",
    "Action",
    "CommentRequired",
    "NoReviewAuthority",
    "ReviewChain",
    "ReviewNotPermitted",
    "Reviewable",
    "ReviewableQuerySet",
    "SelfReviewRefused",
    "State",
    "Step",
    "TransitionNotAllowed",
    "Workflow",
    "WorkflowError",
    "city_only_chain",
    "county_only_chain",
    "review_approve",
    "review_chain",
    "review_log_for",
    "review_reject",
    "review_reopen",
    "review_return",
    "review_submit",
    "review_withdraw",
    "transition",
]


# --- Errors -----------------------------------------------------------------------------------------


class WorkflowError(Exception):
    """A review action that cannot happen; `message` is fit to show the user."""

    default_message = _("This action is not possible.")

    def __init__(self, message=None):
        self.message = message or self.default_message
        super().__init__(str(self.message))


class TransitionNotAllowed(WorkflowError):
    default_message = _("This action is not possible in the item's current state.")


class ReviewNotPermitted(WorkflowError):
    default_message = _("You may not take this action on this item.")


class SelfReviewRefused(ReviewNotPermitted):
    default_message = _("Nobody may review their own submission.")


class CommentRequired(WorkflowError):
    default_message = _("Please give a reason.")


class NoReviewAuthority(WorkflowError):
    default_message = _("No review authority could be found for the item's region.")


# --- The review chain from the region tree --------------------------------------------------------


@dataclass(frozen=True)
class ReviewChain:
    """Who reviews: the initial step's region (None when skipped) and the final step's region."""

    initial: Region | None
    final: Region


def _authorities_above(region: Region) -> tuple[Region | None, Region]:
    """The nearest county at or above `region` (or None) and its final authority, in one query."""
    from accounts.models import Region, RegionLevel

    rows = Region.objects.filter(
        tree_id=region.tree_id,
        lft__lte=region.lft,
        rght__gte=region.rght,
        level__in=[RegionLevel.COUNTY, RegionLevel.CITY, RegionLevel.PROVINCE],
    ).order_by("-lft")  # deepest first, so the nearest of each level wins
    found: dict[str, Region] = {}
    for row in rows:
        found.setdefault(row.level, row)
    # Levels are stored, never read off the depth: 东莞 towns have no county above them, 北京
    # districts and 仙桃 no city, and then the province takes the final review.
    final = found.get(RegionLevel.CITY) or found.get(RegionLevel.PROVINCE)
    if final is None:
        raise NoReviewAuthority(
            gettext("No review authority could be found for %(region)s.") % {"region": region.name}
        )
    return found.get(RegionLevel.COUNTY), final


def review_chain(region: Region) -> ReviewChain:
    """County initial review (skipped where there is no county), city (else province) final review."""
    county, final = _authorities_above(region)
    return ReviewChain(initial=county, final=final)


def county_only_chain(region: Region) -> ReviewChain:
    """One step at the nearest county, else at the city (else province) at or above `region`."""
    county, final = _authorities_above(region)
    return ReviewChain(initial=None, final=county or final)


def city_only_chain(region: Region) -> ReviewChain:
    """One step at the city (else province) at or above `region`, with no county step."""
    _county, final = _authorities_above(region)
    return ReviewChain(initial=None, final=final)


# --- Workflows as data --------------------------------------------------------------------------------

# state -> {action -> target}; a reviewer action's target may depend on the step taking it.
TransitionTable = Mapping[str, Mapping[str, "str | Mapping[str, str]"]]

_REVIEW_STEPS = (Step.INITIAL, Step.FINAL)


class Workflow:
    """A declared review workflow: allowed moves, who reviews, and which states wait for whom."""

    def __init__(
        self,
        transitions: TransitionTable,
        *,
        waiting: Mapping[str, Iterable[str]],
        chain: Callable[[Region], ReviewChain] = review_chain,
        applicant_actions: Iterable[str] = (Action.SUBMIT, Action.WITHDRAW),
        comment_required: Iterable[str] = (Action.REJECT, Action.RETURN),
        editable_states: Iterable[str] = (State.DRAFT, State.RETURNED, State.REJECTED),
        authority_actions: Iterable[str] = (),
    ):
        # {state: {action: target_state | {step: target_state}}}; a move not listed is not allowed.
        self.transitions = {state: dict(moves) for state, moves in transitions.items()}
        # {state: steps}: in that state the item waits for the first of `steps` that its stored chain
        # has (SUBMITTED waits for the county, or for the city where there is no county step). This
        # one table decides both who may act and what the review queues contain.
        self.waiting = {state: tuple(steps) for state, steps in waiting.items()}
        # region -> ReviewChain, computed and stored on the item at submit.
        self.chain = chain
        self.applicant_actions = frozenset(applicant_actions)
        self.comment_required = frozenset(comment_required)
        self.editable_states = frozenset(editable_states)
        # Actions on a decided item, taken by the final authority of the item's region as it is now
        # (the chain is computed afresh, so a worker who moved is handled by the new county).
        self.authority_actions = frozenset(authority_actions)
        self._validate()

    def _validate(self):
        # A typo in a table must fail at import time, not on the first reviewer's click.
        for state, moves in self.transitions.items():
            for action, target in moves.items():
                if action not in Action.values:
                    raise ValueError(f"Unknown action {action!r} in state {state!r}")
                if isinstance(target, Mapping):
                    if action in self.applicant_actions or not set(target) <= set(_REVIEW_STEPS):
                        raise ValueError(f"Bad per-step target for {action!r} in state {state!r}")
                elif action in self.authority_actions:
                    if state in self.waiting:
                        raise ValueError(f"Authority action {action!r} from {state!r}, which waits for a reviewer")
                elif action not in self.applicant_actions and state not in self.waiting:
                    raise ValueError(f"Reviewer action {action!r} from {state!r}, which waits for nobody")
        for state, steps in self.waiting.items():
            if not steps or not set(steps) <= set(_REVIEW_STEPS):
                raise ValueError(f"Bad waiting steps for state {state!r}")

    def allowed(self, state: str, action: str) -> bool:
        """True if the table has a move for `action` out of `state`."""
        return action in self.transitions.get(state, {})

    def pending_step(self, obj: Reviewable) -> str | None:
        """The review step the item waits for, or None if it waits for no reviewer."""
        for step in self.waiting.get(obj.status, ()):
            if getattr(obj, f"{step}_region_id") is not None:
                return step
        return None

    def queue_q(self, region_id: int) -> Q:
        """Items waiting for the reviewers of `region_id`: one OR of indexed equality tests."""
        return self._waiting_q(lambda step: {f"{step}_region": region_id})

    def waiting_below_q(self, region: Region) -> Q:
        """Items waiting for the reviewers of any region strictly below `region` (escalation)."""
        return self._waiting_q(lambda step: {
            f"{step}_region__tree_id": region.tree_id, f"{step}_region__lft__gt": region.lft,
            f"{step}_region__rght__lt": region.rght,
        })

    def _waiting_q(self, where) -> Q:
        q = Q(pk__in=[])
        for state, steps in self.waiting.items():
            skipped: dict[str, bool] = {}
            for step in steps:
                q |= Q(status=state, **where(step), **skipped)
                # A later step is the pending one only when every earlier step is absent from the chain.
                skipped[f"{step}_region__isnull"] = True
        return q

    def target(self, obj: Reviewable, action: str) -> tuple[str, str]:
        """(step, target state) for `action` on `obj` now, or raise TransitionNotAllowed."""
        if not self.allowed(obj.status, action):
            raise TransitionNotAllowed(_not_allowed_message(obj, action))
        if action in self.applicant_actions:
            step = Step.APPLICANT
        elif action in self.authority_actions:
            step = Step.FINAL
        else:
            step = self.pending_step(obj)
        target = self.transitions[obj.status][action]
        if isinstance(target, Mapping):
            target = target.get(step)
        if step is None or target is None:
            raise TransitionNotAllowed(_not_allowed_message(obj, action))
        return step, target


# Initial review by the county, final by the city (DESIGN.md).
TWO_STEP = Workflow(
    {
        State.DRAFT: {Action.SUBMIT: State.SUBMITTED},
        State.SUBMITTED: {
            Action.WITHDRAW: State.DRAFT,
            Action.APPROVE: {Step.INITIAL: State.COUNTY_APPROVED, Step.FINAL: State.APPROVED},
            Action.REJECT: State.REJECTED,
            Action.RETURN: State.RETURNED,
        },
        State.COUNTY_APPROVED: {
            Action.APPROVE: State.APPROVED,
            Action.REJECT: State.REJECTED,
            Action.RETURN: State.RETURNED,
        },
        State.RETURNED: {Action.SUBMIT: State.SUBMITTED},
        State.REJECTED: {Action.SUBMIT: State.SUBMITTED},
    },
    waiting={State.SUBMITTED: (Step.INITIAL, Step.FINAL), State.COUNTY_APPROVED: (Step.FINAL,)},
)

# One review at the nearest county (or the city/province where there is none).
SINGLE_STEP = Workflow(
    {
        State.DRAFT: {Action.SUBMIT: State.SUBMITTED},
        State.SUBMITTED: {
            Action.WITHDRAW: State.DRAFT,
            Action.APPROVE: State.APPROVED,
            Action.REJECT: State.REJECTED,
            Action.RETURN: State.RETURNED,
        },
        State.RETURNED: {Action.SUBMIT: State.SUBMITTED},
        State.REJECTED: {Action.SUBMIT: State.SUBMITTED},
    },
    waiting={State.SUBMITTED: (Step.FINAL,)},
    chain=county_only_chain,
)


def _not_allowed_message(obj: Reviewable, action: str) -> str:
    return gettext("“%(action)s” is not possible while the item is “%(state)s”.") % {
        "action": Action(action).label if action in Action.values else action,
        "state": State(obj.status).label if obj.status in State.values else obj.status,
    }


# --- The model side -----------------------------------------------------------------------------------


class ReviewableQuerySet(ScopedQuerySet):
    """Scoped queryset of a reviewable model, with the review queues."""

    def review_queue(self, user: User):
        """Items waiting for this official's own action: an indexed filter on the stored chain."""
        if not user.is_authenticated or not user.is_active or not user.is_official:
            return self.none()
        return self.filter(self.model.workflow.queue_q(user.region_id))

    def waiting_below(self, region: Region):
        """Items whose pending review belongs to an office below `region` (for escalation)."""
        return self.filter(self.model.workflow.waiting_below_q(region))

    def in_review(self):
        """Items waiting for some reviewer."""
        return self.filter(status__in=list(self.model.workflow.waiting))

    def awaiting_others(self, user: User):
        """Items in this official's scope that are under review but wait for someone else."""
        if not user.is_authenticated or not user.is_active or not user.is_official:
            return self.none()
        return self.visible_to(user).in_review().exclude(self.model.workflow.queue_q(user.region_id))

    def owned_by(self, user: User):
        return self.filter(**{self.model.applicant_field: user})


class Reviewable(models.Model):
    """Abstract base of every reviewable thing: status, the stored review chain, submit/decide times."""

    workflow: Workflow = TWO_STEP
    # Path ("a__b" allowed) from the item to the Region that determines its review chain.
    review_region_field: str = "region"
    # The user who may submit and withdraw the item.
    applicant_field: str = "owner"

    # Not editable: only `transition` moves the status, never a form or the admin.
    status = models.CharField(
        _("status"), max_length=20, choices=State.choices, default=State.DRAFT, db_index=True, editable=False
    )
    # Stored at submit so that review queues are an indexed filter; the composite indexes below
    # serve the FK lookups too, hence no single-column FK indexes.
    initial_region = models.ForeignKey(
        "accounts.Region",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
        verbose_name=_("initial review by"),
    )
    final_region = models.ForeignKey(
        "accounts.Region",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
        verbose_name=_("final review by"),
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("submitted by"),
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True, editable=False)

    class Meta:
        abstract = True
        # Unnamed on purpose: Django names each concrete model's copy, keeping names unique and short.
        indexes = [
            models.Index(fields=["initial_region", "status"]),
            models.Index(fields=["final_region", "status"]),
            # The queue pages' order: the first page of a large scope walks this index instead of sorting.
            models.Index(fields=["submitted_at", "id"]),
        ]

    def get_review_region(self) -> Region | None:
        obj = self
        for part in self.review_region_field.split("__"):
            obj = getattr(obj, part)
            if obj is None:
                return None
        return obj

    # What a review queue row shows: override where the item has no `worker`.
    @property
    def queue_title(self) -> str:
        worker = getattr(self, "worker", None)
        return worker.name if worker is not None else str(self)

    @property
    def queue_details(self) -> str:
        from swms.pii import mask_id_number

        worker = getattr(self, "worker", None)
        return mask_id_number(worker.id_number) if worker is not None else ""

    def get_applicant(self) -> User | None:
        return getattr(self, self.applicant_field)

    def is_applicant(self, user: User) -> bool:
        return user.pk is not None and user.pk == getattr(self, f"{self.applicant_field}_id")

    @property
    def is_editable(self) -> bool:
        """Submitted data is frozen until a reviewer hands it back (or it was never submitted)."""
        return self.status in self.workflow.editable_states

    @property
    def pending_step(self) -> str | None:
        return self.workflow.pending_step(self)

    @property
    def awaiting_region(self) -> Region | None:
        """The region whose officials must act next, if any."""
        step = self.pending_step
        return getattr(self, f"{step}_region") if step else None

    @property
    def review_log(self) -> models.QuerySet[ReviewLog]:
        return review_log_for(self)

    def available_actions(self, user: User) -> list[str]:
        """Actions `user` could take now (for showing buttons; `transition` checks again under lock)."""
        actions = []
        for action in self.workflow.transitions.get(self.status, {}):
            if action in self.workflow.authority_actions:
                continue  # consequences of another decision, not buttons
            try:
                step, _target = self.workflow.target(self, action)
                _check_actor(self, step, user)
            except WorkflowError:
                continue
            actions.append(action)
        return actions


# --- Transitions --------------------------------------------------------------------------------------


def _check_actor(obj: Reviewable, step: str, actor: User) -> None:
    if not actor.is_authenticated or not actor.is_active:
        raise ReviewNotPermitted()
    if step == Step.APPLICANT:
        if not obj.is_applicant(actor):
            raise ReviewNotPermitted(gettext("Only the applicant may do this."))
        return
    if actor.pk == obj.submitted_by_id or obj.is_applicant(actor):
        raise SelfReviewRefused()
    region_id = getattr(obj, f"{step}_region_id")
    if not actor.is_official or actor.region_id != region_id:
        # The city sees the item while the county reviews it; say who has to act instead.
        raise ReviewNotPermitted(
            gettext("Only officials of %(region)s may take the current step (%(step)s).")
            % {"step": Step(step).label, "region": getattr(obj, f"{step}_region").name}
        )


def _store_chain(obj: Reviewable, workflow: Workflow) -> None:
    region = obj.get_review_region()
    if region is None:
        raise NoReviewAuthority(gettext("The item has no region, so nobody can review it."))
    chain = workflow.chain(region)
    obj.initial_region, obj.final_region = chain.initial, chain.final


def transition(obj: Reviewable, action: str, *, actor: User, comment: str = "") -> Reviewable:
    """Take one review action on `obj` under a row lock, log it, and return the updated row."""
    comment = (comment or "").strip()
    model = type(obj)
    workflow = model.workflow
    with transaction.atomic():
        locked = model._base_manager.select_for_update().get(pk=obj.pk)
        # `obj` holds the state the caller decided on; if another reviewer was faster, refuse rather
        # than apply the decision to a state the caller never saw.
        if locked.status != obj.status:
            raise TransitionNotAllowed(
                gettext("This item has been changed by someone else meanwhile; please reload it.")
            )
        from_state = locked.status
        fields = ["status"]
        if action in workflow.authority_actions:
            # Who holds authority now, not when the item was last submitted.
            _store_chain(locked, workflow)
            fields += ["initial_region", "final_region"]
        step, to_state = workflow.target(locked, action)
        _check_actor(locked, step, actor)
        if action in workflow.comment_required and not comment:
            raise CommentRequired()

        now = timezone.now()
        if action == Action.SUBMIT:
            _store_chain(locked, workflow)
            locked.submitted_by, locked.submitted_at, locked.decided_at = actor, now, None
            fields += ["initial_region", "final_region", "submitted_by", "submitted_at", "decided_at"]
        elif step != Step.APPLICANT and to_state not in workflow.waiting:
            locked.decided_at = now
            fields.append("decided_at")
        locked.status = to_state
        # Picked up by django-simple-history, which has no request to take the user from here.
        locked._history_user = actor
        locked._change_reason = action
        locked.save(update_fields=fields)
        ReviewLog.objects.create(
            item=locked,
            action=action,
            step=step,
            actor=actor,
            actor_region_id=actor.region_id,
            from_state=from_state,
            to_state=to_state,
            comment=comment,
            created_at=now,
            # A reviewer's row keeps the submission it decided on (None on the applicant's own rows).
            submitted_at=None if step == Step.APPLICANT else locked.submitted_at,
        )
        # Callers keep using their own instance; let it show the new state.
        for name in fields:
            setattr(obj, name, getattr(locked, name))
    return locked


def review_submit(obj: Reviewable, *, actor: User, comment: str = "") -> Reviewable:
    """Submit (or resubmit) an item for review; computes and stores its review chain."""
    return transition(obj, Action.SUBMIT, actor=actor, comment=comment)


def review_withdraw(obj: Reviewable, *, actor: User, comment: str = "") -> Reviewable:
    """Take a submitted item back to draft before any reviewer acted."""
    return transition(obj, Action.WITHDRAW, actor=actor, comment=comment)


def review_approve(obj: Reviewable, *, actor: User, comment: str = "") -> Reviewable:
    """Pass the current review step."""
    return transition(obj, Action.APPROVE, actor=actor, comment=comment)


def review_reject(obj: Reviewable, *, actor: User, comment: str) -> Reviewable:
    """Reject the item at the current step; a reason is required."""
    return transition(obj, Action.REJECT, actor=actor, comment=comment)


def review_return(obj: Reviewable, *, actor: User, comment: str) -> Reviewable:
    """Hand the item back to the applicant for changes; a reason is required."""
    return transition(obj, Action.RETURN, actor=actor, comment=comment)


def review_reopen(obj: Reviewable, *, actor: User, comment: str = "") -> Reviewable:
    """Hand a decided item back to its applicant for one more round (an authority action)."""
    return transition(obj, Action.REOPEN, actor=actor, comment=comment)
