"""Workflow declarations shared by the registration subdomains."""



from swms.workflow import (
    Action,
    State,
    Step,
    Workflow,
    county_only_chain,
)


def county_check_workflow(*, can_reject: bool = False, reopenable: bool = False) -> Workflow:
    """One check by the nearest county: approve or return (and, if asked for, reject); once submitted the
    item cannot be withdrawn, and only a returned item is edited again. A reopenable item can be handed
    back by the county after approval (REOPEN), for one more edit and review."""
    decisions = {Action.APPROVE: State.APPROVED, Action.RETURN: State.RETURNED}
    if can_reject:
        decisions[Action.REJECT] = State.REJECTED
    transitions = {
        State.DRAFT: {Action.SUBMIT: State.SUBMITTED},
        State.SUBMITTED: decisions,
        State.RETURNED: {Action.SUBMIT: State.SUBMITTED},
    }
    if reopenable:
        transitions[State.APPROVED] = {Action.REOPEN: State.RETURNED}
    return Workflow(
        transitions,
        waiting={State.SUBMITTED: (Step.FINAL,)},
        chain=county_only_chain,
        applicant_actions=(Action.SUBMIT,),
        editable_states=(State.DRAFT, State.RETURNED),
        authority_actions=(Action.REOPEN,) if reopenable else (),
    )


def keep_derived(instance, derived: tuple[str, ...], kwargs: dict) -> dict:
    """Save() keyword arguments that leave the `derived` columns alone when the row already exists: they are
    kept by set-based updates (registration/services/registry.py), so an instance loaded before such an
    update and saved whole afterwards must not write back its stale copy. Explicit update_fields, a forced
    insert and a new row are left as they are."""
    if (kwargs.get("update_fields") is None and not kwargs.get("force_insert") and not instance._state.adding
            and instance.pk is not None):
        deferred = instance.get_deferred_fields()
        kwargs["update_fields"] = [f.name for f in instance._meta.concrete_fields
                                   if not f.primary_key and f.name not in derived and f.attname not in deferred]
    return kwargs
