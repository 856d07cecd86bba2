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
