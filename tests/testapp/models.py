"""Test-only reviewable models: how a real app declares the shared review workflow."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from swms.workflow import Action, Reviewable, ReviewableQuerySet, State, Step, Workflow, county_only_chain


class Widget(Reviewable):
    """The default two-step review: county initial, city (or province) final."""

    title = models.CharField(max_length=100)
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    review_region_field = "region"
    applicant_field = "owner"

    objects = ReviewableQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        pass

    def __str__(self):
        return self.title


# Like the monthly summary: one review at the county, which can hand it back but never reject it.
ONE_STEP_NO_REJECT = Workflow(
    {
        State.DRAFT: {Action.SUBMIT: State.SUBMITTED},
        State.SUBMITTED: {
            Action.WITHDRAW: State.DRAFT,
            Action.APPROVE: State.APPROVED,
            Action.RETURN: State.RETURNED,
        },
        State.RETURNED: {Action.SUBMIT: State.SUBMITTED},
    },
    waiting={State.SUBMITTED: (Step.FINAL,)},
    chain=county_only_chain,
    editable_states=(State.DRAFT, State.RETURNED),
)


class Summary(Reviewable):
    """A single-step reviewable with a workflow table of its own."""

    title = models.CharField(max_length=100)
    region = models.ForeignKey("accounts.Region", on_delete=models.PROTECT, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    workflow = ONE_STEP_NO_REJECT

    objects = ReviewableQuerySet.as_manager()
    history = HistoricalRecords()

    class Meta(Reviewable.Meta):
        pass

    def __str__(self):
        return self.title
