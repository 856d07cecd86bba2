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
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from swms.decorators import official_required
from swms.forms import DecisionForm
from swms.ids import normalize_ric
from swms.scoping import get_visible_or_404, within_requested_region
from swms.workflow import State, WorkflowError, review_log_for


class ReviewFilter(django_filters.FilterSet):
    """Filters shared by the review queues: status, days waiting, name or ID number."""

    status = django_filters.ChoiceFilter(label=gettext_lazy("Status"), choices=State.choices)
    waiting = django_filters.ChoiceFilter(
        label=gettext_lazy("Waiting"),
        choices=[
            ("7", gettext_lazy("more than 7 days")),
            ("14", gettext_lazy("more than 14 days")),
            ("30", gettext_lazy("more than 30 days")),
        ],
        method="filter_waiting",
    )
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
        return queryset.filter(Q(**{f"{self.name_field}__icontains": value}))


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
    rows = []
    for queue in all_queues():
        waiting = queue.model.objects.review_queue(user)
        oldest = waiting.order_by("submitted_at").values_list("submitted_at", flat=True).first()
        rows.append({"key": queue.key, "label": queue.title, "count": waiting.count(), "oldest": oldest,
                     "url_name": queue.list_url})
    return rows


# --- The views ----------------------------------------------------------------------------------------


def why_here(obj, user) -> str:
    """Why the item is in (or out of) this official's queue."""
    step = obj.pending_step
    region = obj.awaiting_region
    if step is None or region is None:
        return ""
    if region.pk == user.region_id:
        return _("Waiting for your initial review") if step == "initial" else _("Waiting for your final review")
    return _("Waiting for %(region)s") % {"region": region.name}


def queue_view(request, queue: Queue):
    from accounts.views import region_tree_root_for

    user = request.user
    scope = request.GET.get("scope", "mine")
    base = queue.model.objects.visible_to(user)
    qs = base.review_queue(user) if scope == "mine" else base.exclude(status=State.DRAFT)
    qs, region = within_requested_region(qs, request)
    filterset = queue.filterset(request.GET or None, queryset=qs.select_related(*queue.select_related))
    rows = filterset.qs.order_by("submitted_at", "pk")
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    now = timezone.now()
    for obj in page:
        obj.why = why_here(obj, user)
        obj.days_waiting = (now - obj.submitted_at).days if obj.submitted_at else None
    can_create = queue.create is not None and (
        user.is_superuser or (user.is_official and user.region.level in queue.create[2])
    )
    return render(request, "review/queue.html", {
        "queue": queue, "key": queue.key, "page": page, "filter": filterset, "scope": scope, "region": region,
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
