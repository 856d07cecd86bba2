"""Officials' review queues, shared by every app: declared once per reviewable, registered at start-up.

Each app lists its queues in a `queues.py` and registers them from `AppConfig.ready()`:

    register(Queue("profiles", SocialWorker, ProfileFilter, _("Social worker profiles"),
                   list_url="registration:profile-queue", detail_url="registration:profile-review",
                   decide_url="registration:profile-decide", template="registration/review/profile.html",
                   path="profiles/", decider=...))

and routes them with `review_urls(its queues)`. One queue view, one detail view and one decision view
serve them all; the navigation, the workbench counts and the weekly digest read the same registry, so
a new reviewable shows up everywhere by being declared once.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import django_filters
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.db.models import CharField, Count, Min, Value
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.operator_roles import OPERATE_SYSTEM, can
from swms.decorators import official_required
from swms.exports import Table, export_requested, export_response
from swms.forms import DecisionForm
from swms.id_search import id_hash, id_hash_filter, id_query_redirect, is_encrypted
from swms.ids import normalize_ric
from swms.models import Action, ReviewLog, Step
from swms.pagination import paginate
from swms.scoping import get_visible_or_404, within_requested_region
from swms.search import text_contains
from swms.workflow import State, WorkflowError, review_log_for

# Reviewer decisions, as the review dashboard counts them (a submit or withdraw is the applicant's).
DECISIONS = (Action.APPROVE, Action.REJECT, Action.RETURN)
REVIEW_STEPS = (Step.INITIAL, Step.FINAL)
PERIODS = ("week", "month")


def period_start(period: str, now: datetime.datetime | None = None) -> datetime.datetime:
    """Start of this week (Monday 00:00) or this month (the 1st, 00:00), local time."""
    now = timezone.localtime(now or timezone.now())
    day = now.date() - datetime.timedelta(days=now.weekday()) if period == "week" else now.date().replace(day=1)
    return datetime.datetime.combine(day, datetime.time(), tzinfo=now.tzinfo)


def _waiting_choices():
    # The escalation limit (SWMS_ESCALATE_AFTER_DAYS) is a choice too, so that "over the limit" on the
    # review dashboard opens the queue filtered to exactly those items.
    fixed = {7: gettext_lazy("more than 7 days"), 14: gettext_lazy("more than 14 days"),
             30: gettext_lazy("more than 30 days")}
    days = sorted({*fixed, settings.SWMS_ESCALATE_AFTER_DAYS})
    return [(str(d), fixed.get(d) or _("more than %(days)s days") % {"days": d}) for d in days]


class ReviewFilter(django_filters.FilterSet):
    """Filters shared by the review queues: status, days waiting, name or ID number."""

    status = django_filters.ChoiceFilter(label=gettext_lazy("Status"), choices=State.choices)
    waiting = django_filters.ChoiceFilter(label=gettext_lazy("Waiting"), choices=_waiting_choices,
                                          method="filter_waiting")
    q = django_filters.CharFilter(label=gettext_lazy("Name or ID number"), method="filter_q")

    name_field = "worker__name"
    id_field = "worker__id_number"

    def filter_waiting(self, queryset, name, value):
        since = timezone.now() - datetime.timedelta(days=int(value))
        return queryset.filter(submitted_at__lt=since)

    def filter_q(self, queryset, name, value):
        value = value.strip()
        # An ID number matches exactly (normalized); anything else searches names.
        ric = normalize_ric(value)
        if len(ric) == 18 and self.id_field:
            return queryset.filter(**{self.id_field: ric})
        return queryset.filter(text_contains(self.name_field, value, model=queryset.model))


@dataclass(frozen=True)
class Queue:
    """One reviewable's pages: queue, detail and decision."""

    key: str
    model: type
    filterset: type
    title: str
    list_url: str
    detail_url: str
    decide_url: str
    template: str
    path: str
    # (obj, actor, action, comment) -> obj: the service function that takes the decision.
    decider: Callable
    select_related: tuple = ()
    # obj -> extra context for the detail page.
    detail_context: Callable | None = None
    # URL names that count as "this queue" for the navigation (e.g. a create page).
    also_active: tuple = field(default_factory=tuple)
    # Shown on the queue page to officials who may add items (URL name, label, region levels).
    create: tuple | None = None

    @property
    def active_urls(self) -> tuple:
        return (self.list_url, self.detail_url, *self.also_active)


_REGISTRY: dict[str, Queue] = {}


def register(*queues: Queue) -> None:
    for queue in queues:
        existing = _REGISTRY.get(queue.key)
        if existing is not None and existing is not queue:
            raise ValueError(f"Review queue {queue.key!r} registered twice")
        _REGISTRY[queue.key] = queue


def all_queues() -> list[Queue]:
    return list(_REGISTRY.values())


def get_queue(key: str) -> Queue:
    return _REGISTRY[key]


def waiting_counts(user) -> list[dict]:
    """Items waiting for this official's own action, per queue: count and oldest submission."""
    queues = list(all_queues())
    # One aggregate per queue (count and oldest together) over the queue's indexed filter, all of them in one
    # UNION ALL: one round trip whatever the number of queues.
    parts = [
        queue.model.objects.review_queue(user).order_by()
        .annotate(queue_key=Value(queue.key, output_field=CharField())).values("queue_key")
        .annotate(count=Count("pk"), oldest=Min("submitted_at"))
        for queue in queues
    ]
    figures = {row["queue_key"]: row for row in parts[0].union(*parts[1:], all=True)} if parts else {}
    return [{"key": queue.key, "label": queue.title, "count": figures.get(queue.key, {}).get("count", 0),
             "oldest": figures.get(queue.key, {}).get("oldest"), "url_name": queue.list_url} for queue in queues]


# --- The views ----------------------------------------------------------------------------------------


def _why_texts() -> dict:
    """The "why here" sentences, translated once (an export resolves them once, not per row)."""
    return {Step.INITIAL: _("Waiting for your initial review"), Step.FINAL: _("Waiting for your final review"),
            "other": _("Waiting for %(region)s")}


def why_here(obj, user, texts: dict | None = None) -> str:
    """Why the item is in (or out of) this official's queue."""
    step = obj.pending_step
    region = obj.awaiting_region
    if step is None or region is None:
        return ""
    texts = texts or _why_texts()
    if region.pk == user.region_id:
        return texts[Step.INITIAL] if step == "initial" else texts[Step.FINAL]
    return texts["other"] % {"region": region.name}


def _requested_region(request, param: str):
    """A region named in the query string that the user may see (else 404), or None."""
    from accounts.models import Region

    value = request.GET.get(param, "")
    if not value:
        return None
    if not str(value).isdigit():
        raise Http404
    return get_visible_or_404(Region, request.user, pk=value)


def decisions_in(period: str, *, model=None, returned: bool = False):
    """Reviewers' decisions (approve, reject, return at the initial or final step) since the start of `period`."""
    log = ReviewLog.objects.filter(step__in=REVIEW_STEPS, created_at__gte=period_start(period))
    if model is not None:
        log = log.filter(content_type=ContentType.objects.get_for_model(model))
    return log.filter(action=Action.RETURN) if returned else log.filter(action__in=DECISIONS)


def _drill_down(qs, queue: Queue, request, period: str):
    """The review dashboard's figures as filters of the queue page, and a sentence for each.

    `office=<pk>` / `offices=<pk>`: the item waits for that office / for an office at or below that region;
    with `decided=week|month`, instead: the item was decided in the period by that office / by offices at or
    below it (`returned=1`: returned to the applicant).
    """
    office = _requested_region(request, "office")
    offices = _requested_region(request, "offices")
    notes = []
    workflow = queue.model.workflow
    if period:
        returned = request.GET.get("returned") == "1"
        log = decisions_in(period, model=queue.model, returned=returned)
        if office is not None:
            log = log.filter(actor_region=office)
        if offices is not None:
            log = log.filter(actor_region__tree_id=offices.tree_id, actor_region__lft__gte=offices.lft,
                             actor_region__rght__lte=offices.rght)
        qs = qs.filter(pk__in=log.values("object_id"))
        when = _("this week") if period == "week" else _("this month")
        by = office or offices
        if by is None:
            note = _("Returned %(when)s") if returned else _("Decided %(when)s")
        elif office is not None:
            note = _("Returned %(when)s by %(office)s") if returned else _("Decided %(when)s by %(office)s")
        else:
            note = (_("Returned %(when)s by offices in %(office)s") if returned
                    else _("Decided %(when)s by offices in %(office)s"))
        notes.append(note % {"when": when, "office": by.name if by else ""})
    else:
        if office is not None:
            qs = qs.filter(workflow.queue_q(office.pk))
            notes.append(_("Waiting for %(region)s") % {"region": office.name})
        if offices is not None:
            qs = qs.filter(workflow.queue_q(offices.pk) | workflow.waiting_below_q(offices))
            notes.append(_("Waiting for offices in %(region)s") % {"region": offices.name})
    return qs, notes


@dataclass
class QueueListing:
    """What a queue page lists, and what its export writes: the same rows, filtered and ordered alike."""

    queue: Queue
    scope: str
    region: object
    filterset: django_filters.FilterSet
    rows: object
    drill_down: list


def queue_listing(request, queue: Queue) -> QueueListing:
    """The scoped, filtered, ordered items of a queue page (from request.user and request.GET only)."""
    user = request.user
    scope = request.GET.get("scope", "mine")
    period = request.GET.get("decided", "")
    period = period if period in PERIODS else ""
    base = queue.model.objects.visible_to(user)
    if scope == "mine":
        qs = base.review_queue(user)
    else:
        # An item decided in the period may have been withdrawn to draft since; the figure still counts it.
        qs = base if period else base.exclude(status=State.DRAFT)
    qs, region = within_requested_region(qs, request)
    qs, notes = _drill_down(qs, queue, request, period)
    id_field = getattr(queue.filterset, "id_field", "")
    if is_encrypted(queue.model, id_field):  # an exact ID-number search arrives as its keyed hash (swms.id_search)
        qs = id_hash_filter(qs, id_field, id_hash(request))
    filterset = queue.filterset(request.GET or None, queryset=qs.select_related(*queue.select_related))
    rows = filterset.qs.order_by("submitted_at", "pk")
    return QueueListing(queue, scope, region, filterset, rows, notes)


def queue_table(request) -> Table:
    """A queue page as an export table (rebuilt by a background job from the stored query string)."""
    try:
        queue = get_queue(request.GET.get("queue", ""))
    except KeyError:
        raise Http404 from None
    listing = queue_listing(request, queue)
    user = request.user
    now = timezone.now()
    statuses = {value: str(label) for value, label in State.choices}
    texts = _why_texts()
    headers = [_("Item"), _("Details"), _("Region"), _("Status"), _("submitted at"), _("Days waiting"),
               _("Awaiting office"), _("Why here")]

    def rows():
        for obj in listing.rows.iterator(chunk_size=2000):
            region = obj.get_review_region()
            awaiting = obj.awaiting_region
            yield [obj.queue_title, obj.queue_details, region.name if region else "",
                   statuses.get(obj.status, obj.status), timezone.localtime(obj.submitted_at) if obj.submitted_at
                   else None, (now - obj.submitted_at).days if obj.submitted_at else None,
                   awaiting.name if awaiting else "", why_here(obj, user, texts)]

    return Table(f"{queue.key}-{timezone.localdate():%Y%m%d}.xlsx", headers, rows(), str(queue.title),
                 listing.rows.count())


def queue_view(request, queue: Queue):
    from accounts.views import region_tree_root_for

    if is_encrypted(queue.model, getattr(queue.filterset, "id_field", "")):
        moved = id_query_redirect(request)  # no ID number in the address: its keyed hash instead
        if moved is not None:
            return moved
    if export_requested(request):
        # The builder (and a background job re-running it) finds the queue in the query string.
        return export_response(request, queue_table, queue=queue.key)
    user = request.user
    listing = queue_listing(request, queue)
    page = paginate(request, listing.rows, 25)
    now = timezone.now()
    texts = _why_texts()
    for obj in page:
        obj.why = why_here(obj, user, texts)
        obj.days_waiting = (now - obj.submitted_at).days if obj.submitted_at else None
    can_create = queue.create is not None and (
        can(user, OPERATE_SYSTEM) or (user.is_official and user.region.level in queue.create[2])
    )
    keep = {name: request.GET[name] for name in ("office", "offices", "decided", "returned") if request.GET.get(name)}
    return render(request, "review/queue.html", {
        "queue": queue, "key": queue.key, "page": page, "filter": listing.filterset, "scope": listing.scope,
        "region": listing.region, "drill_down": listing.drill_down, "drill_keep": keep,
        "tree_roots": region_tree_root_for(user), "list_url": queue.list_url, "can_create": can_create,
    })


def detail_view(request, queue: Queue, pk: int):
    obj = get_visible_or_404(queue.model.objects.select_related(*queue.select_related), request.user, pk=pk)
    context = {
        "obj": obj, "queue": queue, "key": queue.key,
        "actions": obj.available_actions(request.user),
        "why": why_here(obj, request.user),
        "log": review_log_for(obj).select_related("actor", "actor_region"),
        "form": DecisionForm(),
        "decide_url": queue.decide_url,
        **(queue.detail_context(obj) if queue.detail_context else {}),
    }
    return render(request, queue.template, context)


def decide_view(request, queue: Queue, pk: int):
    obj = get_visible_or_404(queue.model, request.user, pk=pk)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Unknown action."))
    else:
        action, comment = form.cleaned_data["action"], form.cleaned_data["comment"].strip()
        try:
            queue.decider(obj, request.user, action, comment)
        except WorkflowError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, _("Your decision was recorded."))
    return redirect(queue.detail_url, pk=pk)


def review_urls(queues: Iterable[Queue]):
    """The queue, detail and decision URLs of `queues` (one set of views for all)."""
    from django.urls import path

    def views_for(queue):
        @login_required
        @official_required
        def list_page(request):
            return queue_view(request, queue)

        @login_required
        @official_required
        def detail_page(request, pk):
            return detail_view(request, queue, pk)

        @require_POST
        @login_required
        @official_required
        def decide(request, pk):
            return decide_view(request, queue, pk)

        return list_page, detail_page, decide

    patterns = []
    for queue in queues:
        list_page, detail_page, decide = views_for(queue)
        base = f"review/{queue.path}"
        patterns += [
            path(base, list_page, name=queue.list_url.split(":")[1]),
            path(f"{base}<int:pk>/", detail_page, name=queue.detail_url.split(":")[1]),
            path(f"{base}<int:pk>/decide/", decide, name=queue.decide_url.split(":")[1]),
        ]
    return patterns
