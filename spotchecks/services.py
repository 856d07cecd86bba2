"""Spot-check writes: draw a batch, record a result, answer and decide a rectification."""

from __future__ import annotations

import datetime
import math
import random
from collections import defaultdict

from django.db import transaction
from django.db.models import Case, IntegerField, When
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Region, RegionLevel, User
from accounts.operator_roles import OPERATE_SYSTEM, can
from registration.models import Registration, RegistrationApplication
from swms.models import ReviewLog
from swms.workflow import (
    Action,
    ReviewNotPermitted,
    State,
    Step,
    WorkflowError,
    transition,
)

from .models import (
    Rectification,
    SampleMode,
    SpotCheckBatch,
    SpotCheckItem,
    SpotCheckResult,
    new_seed,
)


class SpotCheckError(WorkflowError):
    default_message = gettext_lazy("This action is not possible.")


def can_draw(user: User) -> bool:
    """Province officials draw spot checks (and operators, for any province)."""
    return bool(user.is_authenticated and user.is_active and (
        can(user, OPERATE_SYSTEM) or (user.is_official and user.region.level == RegionLevel.PROVINCE)))


def can_check(user: User, batch: SpotCheckBatch) -> bool:
    """The officials of the batch's province (and operators) record results."""
    return bool(user.is_active and (can(user, OPERATE_SYSTEM) or (user.is_official and user.region_id == batch.region_id)))


def sample_size(candidates: int, mode: str, amount: int) -> int:
    """N items, or a percentage rounded up (at least one where there are candidates), never more than exist."""
    if candidates <= 0:
        return 0
    if mode == SampleMode.PERCENT:
        return min(candidates, max(1, math.ceil(candidates * amount / 100)))
    return min(candidates, amount)


def province_cities(province: Region):
    """The province's direct subdivisions (cities; districts of a municipality; 仙桃-like county-level cities)."""
    return Region.objects.filter(parent=province).order_by("code")


def _range(day_from: datetime.date, day_to: datetime.date):
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(day_from, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(day_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end


def candidates_by_city(*, province: Region, cities: list[Region], approved_from, approved_to) -> dict[int, list[int]]:
    """{city id: [registration ids ordered by pk]}: registrations whose application was finally approved in the
    range, in the given cities of the province. One query: the city is a CASE over the cities' MPTT ranges."""
    if not cities:
        return {}
    start, end = _range(approved_from, approved_to)
    city_of = Case(
        *[When(region__tree_id=c.tree_id, region__lft__gte=c.lft, region__lft__lte=c.rght, then=c.pk)
          for c in cities],
        output_field=IntegerField(),
    )
    rows = (
        Registration.objects.within(province)
        .filter(application__status=State.APPROVED, application__decided_at__gte=start,
                application__decided_at__lt=end)
        .annotate(city_key=city_of)
        .filter(city_key__isnull=False)
        .order_by("pk")
        .values_list("pk", "city_key")
    )
    found: dict[int, list[int]] = defaultdict(list)
    for pk, city in rows:
        found[city].append(pk)
    return found


def draw(*, seed: str, cities: list[Region], candidates: dict[int, list[int]], mode: str, amount: int):
    """[(city, registration id)]: per city a sample seeded by (seed, city code); no item twice."""
    chosen = []
    for city in cities:
        pool = candidates.get(city.pk, [])
        k = sample_size(len(pool), mode, amount)
        # Reproducible on purpose (the seed is stored and shown); not a secret.
        for pk in sorted(random.Random(f"{seed}:{city.code}").sample(pool, k)):  # noqa: S311
            chosen.append((city, pk))
    return chosen


def batch_draw(*, actor: User, province: Region, approved_from: datetime.date, approved_to: datetime.date,
               cities: list[Region] | None, mode: str, amount: int, seed: str = "", title: str = "",
               notes: str = "") -> SpotCheckBatch:
    """Draw a spot-check batch of approved registrations; records who, when, the parameters and the seed."""
    if not can_draw(actor) or province.level != RegionLevel.PROVINCE or (
            not can(actor, OPERATE_SYSTEM) and actor.region_id != province.pk):
        raise ReviewNotPermitted(_("Only officials of the province may draw spot checks."))
    if approved_to < approved_from:
        raise SpotCheckError(_("The end of the range is before its start."))
    if amount < 1 or (mode == SampleMode.PERCENT and amount > 100):
        raise SpotCheckError(_("Give a number of items, or a percentage between 1 and 100."))
    all_cities = list(province_cities(province))
    if cities:
        wanted = {c.pk for c in cities}
        if not wanted <= {c.pk for c in all_cities}:
            raise SpotCheckError(_("Choose cities of the province."))
        selected = [c for c in all_cities if c.pk in wanted]
    else:
        selected = all_cities
    seed = (seed or "").strip() or new_seed()
    candidates = candidates_by_city(province=province, cities=selected, approved_from=approved_from,
                                    approved_to=approved_to)
    with transaction.atomic():
        batch = SpotCheckBatch.objects.create(
            region=province, title=title.strip(), notes=notes.strip(), approved_from=approved_from,
            approved_to=approved_to, mode=mode, amount=amount, seed=seed, created_by=actor,
            candidate_count=sum(len(v) for v in candidates.values()),
        )
        if cities:
            batch.cities.set(selected)
        SpotCheckItem.objects.bulk_create(
            [SpotCheckItem(batch=batch, registration_id=pk, city=city)
             for city, pk in draw(seed=seed, cities=selected, candidates=candidates, mode=mode, amount=amount)],
            batch_size=2000,
        )
    return batch


def approving_offices(application: RegistrationApplication | None) -> dict[str, Region]:
    """{"initial": county office, "final": city (or province) office} that approved the application, read from
    its review log (the actor's region at the time), else from the chain stored on it."""
    if application is None:
        return {}
    offices: dict[str, Region] = {}
    rows = (ReviewLog.objects.filter(content_type__app_label="registration",
                                     content_type__model="registrationapplication", object_id=application.pk,
                                     action=Action.APPROVE, actor_region__isnull=False)
            .select_related("actor_region").order_by("created_at", "id"))
    for row in rows:
        offices[row.step] = row.actor_region  # the last approval of each step wins
    if Step.FINAL not in offices and application.final_region_id:
        offices[Step.FINAL] = application.final_region
    if Step.INITIAL not in offices and application.initial_region_id:
        offices[Step.INITIAL] = application.initial_region
    return offices


def responsible_office(item: SpotCheckItem, step: str = Step.FINAL) -> Region:
    """The office a problem goes back to: the final approver by default, or the initial (county) one. Where the
    final approver is the province itself (北京 districts, 仙桃), the county takes it: the province reviews the
    answer and may not answer to itself."""
    offices = approving_offices(item.registration.application)
    office = offices.get(step) or offices.get(Step.FINAL) or offices.get(Step.INITIAL)
    if office is not None and office.pk == item.batch.region_id and offices.get(Step.INITIAL) is not None:
        office = offices[Step.INITIAL]
    if office is None or office.pk == item.batch.region_id:
        raise SpotCheckError(_("No office below the province approved this registration."))
    return office


def item_record(*, item: SpotCheckItem, actor: User, result: str, description: str = "",
                office_step: str = Step.FINAL) -> SpotCheckItem:
    """Record a spot-check result; a problem needs a description and opens a rectification for the office."""
    description = (description or "").strip()
    if result not in (SpotCheckResult.PASS, SpotCheckResult.PROBLEM):
        raise SpotCheckError(_("Choose a result."))
    if result == SpotCheckResult.PROBLEM and not description:
        raise SpotCheckError(_("Describe the problem."))
    with transaction.atomic():
        locked = SpotCheckItem.objects.select_for_update(of=("self",)).select_related(
            "batch", "registration__application").get(pk=item.pk)
        if not can_check(actor, locked.batch):
            raise ReviewNotPermitted(_("Only officials of the province may record spot-check results."))
        if Rectification.objects.filter(item=locked).exists():
            raise SpotCheckError(_("A rectification is under way for this item; its result no longer changes."))
        locked.result = result
        locked.description = description if result == SpotCheckResult.PROBLEM else ""
        locked.checked_by, locked.checked_at = actor, timezone.now()
        locked._history_user = actor
        locked.save(update_fields=["result", "description", "checked_by", "checked_at"])
        if result == SpotCheckResult.PROBLEM:
            rectification = Rectification.objects.create(item=locked, office=responsible_office(locked, office_step),
                                                         problem=description, created_by=actor)
            _notify_office(rectification, _("Spot check: a problem for your office to rectify (%(name)s)"),
                           description)
    for name in ("result", "description", "checked_by", "checked_at"):
        setattr(item, name, getattr(locked, name))
    return item


def rectification_answer(*, rectification: Rectification, actor: User, answer: str) -> Rectification:
    """The office says what it did; the answer goes to the province for review (also when sent back)."""
    answer = (answer or "").strip()
    if not answer:
        raise SpotCheckError(_("Say what your office did."))
    with transaction.atomic():
        locked = transition(rectification, Action.SUBMIT, actor=actor, comment=answer)
        locked.answer = answer
        locked._history_user = actor
        locked.save(update_fields=["answer"])
    rectification.answer = answer
    return locked


def rectification_decide(*, rectification: Rectification, actor: User, action: str, comment: str = ""):
    """The province accepts the answer (closes the task) or sends it back with a comment."""
    if action not in (Action.APPROVE, Action.RETURN):
        raise SpotCheckError(_("Unknown action."))
    with transaction.atomic():
        decided = transition(rectification, action, actor=actor, comment=comment)
        titles = {Action.APPROVE: _("Spot check: your rectification was accepted (%(name)s)"),
                  Action.RETURN: _("Spot check: your rectification was sent back (%(name)s)")}
        _notify_office(decided, titles[action], comment)
    return decided


def _notify_office(rectification: Rectification, title: str, body: str) -> None:
    """An inbox message to every active official of the responsible office, linking to its task list."""
    from notices.services import message_send

    name = rectification.item.registration.worker.name
    link = reverse("spotchecks:rectification-list")
    for user in User.objects.officials().filter(region_id=rectification.office_id, is_active=True):
        message_send(user=user, title=title % {"name": name}, body=body, link=link)
