"""Officials' review pages: one queue view and one decision view serve the three reviewables."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounts.models import Region
from accounts.views import region_tree_root_for
from swms.decorators import official_required
from swms.scoping import get_visible_or_404
from swms.workflow import State, WorkflowError, review_log_for

from . import review
from .eligibility import ce_hours_between
from .filters import (
    ApplicationFilter,
    CEClaimFilter,
    CorrectionFilter,
    CoursewareFilter,
    ProfileFilter,
    RegionChangeFilter,
    ReplacementFilter,
    RestoreFilter,
)
from .forms import CoursewareForm, DecisionForm, WindowForm
from .models import (
    CE_HOURS_REQUIRED,
    CEClaim,
    Courseware,
    RegionChangeRequest,
    RegistrationApplication,
    RegistrationKind,
    RegistrationWindow,
    ReplacementRequest,
    RestoreApplication,
    RosterCorrectionRequest,
    SocialWorker,
)


@dataclass(frozen=True)
class Queue:
    """One reviewable's pages: queue, detail and decision, declared once and routed by `review_urls()`."""

    model: type
    filterset: type
    title: str
    list_url: str
    detail_url: str
    template: str
    select_related: tuple
    path: str = ""
    decide_url: str = ""
    decider: object = None  # (obj, actor, action, comment) -> obj, a service of registration.review
    extra: object = None  # obj -> extra template context


QUEUES = {
    "applications": Queue(
        RegistrationApplication, ApplicationFilter, gettext_lazy("Registration applications"),
        "registration:review-queue", "registration:review-detail", "registration/review/application.html",
        ("worker", "region", "qualification", "initial_region", "final_region"),
        path="", decide_url="registration:review-decide",
        decider=lambda o, a, act, c: {"approve": review.application_approve, "reject": review.application_reject, "return": review.application_return}[act](application=o, actor=a, comment=c),
        extra=lambda obj: _application_extra(obj),
    ),
    "profiles": Queue(
        SocialWorker, ProfileFilter, gettext_lazy("Social worker profiles"),
        "registration:profile-queue", "registration:profile-review", "registration/review/profile.html",
        ("work_region", "initial_region", "final_region"),
        path="profiles/", decide_url="registration:profile-decide",
        decider=lambda o, a, act, c: review.profile_decide(worker=o, actor=a, action=act, comment=c),
    ),
    "corrections": Queue(
        RosterCorrectionRequest, CorrectionFilter, gettext_lazy("Roster correction requests"),
        "registration:correction-queue", "registration:correction-review", "registration/review/correction.html",
        ("worker", "region", "initial_region", "final_region"),
        path="corrections/", decide_url="registration:correction-decide",
        decider=lambda o, a, act, c: review.correction_decide(correction=o, actor=a, action=act, comment=c),
    ),
    "ce": Queue(
        CEClaim, CEClaimFilter, gettext_lazy("Offline CE hours"),
        "registration:ce-queue", "registration:ce-review", "registration/review/ce_claim.html",
        ("worker", "region", "initial_region", "final_region"),
        path="ce/", decide_url="registration:ce-decide",
        decider=lambda o, a, act, c: review.ce_claim_decide(claim=o, actor=a, action=act, comment=c),
    ),
    "restores": Queue(
        RestoreApplication, RestoreFilter, gettext_lazy("Restore applications"),
        "registration:restore-queue", "registration:restore-review", "registration/review/restore.html",
        ("worker", "region", "registration", "initial_region", "final_region"),
        path="restores/", decide_url="registration:restore-decide",
        decider=lambda o, a, act, c: review.restore_decide(restore=o, actor=a, action=act, comment=c),
    ),
    "replacements": Queue(
        ReplacementRequest, ReplacementFilter, gettext_lazy("Certificate replacements"),
        "registration:replacement-queue", "registration:replacement-review", "registration/review/replacement.html",
        ("worker", "region", "registration", "initial_region", "final_region"),
        path="replacements/", decide_url="registration:replacement-decide",
        decider=lambda o, a, act, c: review.replacement_decide(replacement=o, actor=a, action=act, comment=c),
    ),
    "region_changes": Queue(
        RegionChangeRequest, RegionChangeFilter, gettext_lazy("Region or employer changes"),
        "registration:region-change-queue", "registration:region-change-review", "registration/review/region_change.html",
        ("worker", "old_region", "new_region", "initial_region", "final_region"),
        path="region-changes/", decide_url="registration:region-change-decide",
        decider=lambda o, a, act, c: review.region_change_decide(change=o, actor=a, action=act, comment=c),
    ),
    "courseware": Queue(
        Courseware, CoursewareFilter, gettext_lazy("Courseware"),
        "registration:courseware-queue", "registration:courseware-review", "registration/review/courseware.html",
        ("region", "initial_region", "final_region", "applicant"),
        path="courseware/", decide_url="registration:courseware-decide",
        decider=lambda o, a, act, c: review.courseware_decide(courseware=o, actor=a, action=act, comment=c),
    ),
}


def _why(obj, user) -> str:
    """Why the item is in (or out of) this official's queue."""
    step = obj.pending_step
    region = obj.awaiting_region
    if step is None or region is None:
        return ""
    if region.pk == user.region_id:
        return _("Waiting for your initial review") if step == "initial" else _("Waiting for your final review")
    return _("Waiting for %(region)s") % {"region": region.name}


def _queue(request, key):
    queue = QUEUES[key]
    user = request.user
    scope = request.GET.get("scope", "mine")
    base = queue.model.objects.visible_to(user)
    qs = base.review_queue(user) if scope == "mine" else base.exclude(status=State.DRAFT)
    region = None
    if request.GET.get("region"):
        region = get_visible_or_404(Region, user, pk=request.GET["region"])
        qs = qs.within(region)
    filterset = queue.filterset(request.GET or None, queryset=qs.select_related(*queue.select_related))
    rows = filterset.qs.order_by("submitted_at", "pk")
    page = Paginator(rows, 25).get_page(request.GET.get("page"))
    now = timezone.now()
    for obj in page:
        obj.why = _why(obj, user)
        obj.days_waiting = (now - obj.submitted_at).days if obj.submitted_at else None
    return render(request, "registration/review/queue.html", {
        "queue": queue, "key": key, "page": page, "filter": filterset, "scope": scope, "region": region,
        "tree_roots": region_tree_root_for(user), "list_url": queue.list_url,
    })





def _detail(request, key, pk):
    queue = QUEUES[key]
    extra = queue.extra
    obj = get_visible_or_404(queue.model.objects.select_related(*queue.select_related), request.user, pk=pk)
    context = {
        "obj": obj, "queue": queue, "key": key,
        "actions": obj.available_actions(request.user),
        "why": _why(obj, request.user),
        "log": review_log_for(obj).select_related("actor", "actor_region"),
        "form": DecisionForm(),
        **(extra(obj) if extra else {}),
    }
    return render(request, queue.template, context)


def _application_extra(application):
    ce = None
    if application.kind in (RegistrationKind.RENEWAL, RegistrationKind.LATE):
        previous = application.worker.registrations.order_by("-valid_to").first()
        if previous is not None:
            end = timezone.localdate() if application.kind == RegistrationKind.RENEWAL else previous.valid_to
            ce = {"have": ce_hours_between(application.worker, previous.valid_from, end),
                  "need": CE_HOURS_REQUIRED[previous.level]}
    return {
        "materials": application.materials.all(),
        "ce": ce,
        "changes": application.history.select_related("history_user").order_by("-history_date")[:20],
    }





def _decide(request, key, pk):
    queue = QUEUES[key]
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




















@login_required
@official_required
def courseware_edit(request, pk=None):
    """County officials collect courseware (new, or fix a returned one) and send it to the city."""
    courseware = get_visible_or_404(Courseware, request.user, pk=pk) if pk else None
    initial = {f: getattr(courseware, f) for f in ("title", "provider", "hours", "link", "description")} if courseware else {}
    form = CoursewareForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            courseware = review.courseware_submit(actor=request.user, courseware=courseware, data=form.cleaned_data)
        except WorkflowError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("Sent to the city for review."))
            return redirect("registration:courseware-review", pk=courseware.pk)
    return render(request, "registration/review/courseware_form.html", {"form": form, "courseware": courseware})


# --- Registration windows ------------------------------------------------------------------------


@login_required
@official_required
def window_list(request):
    today = timezone.localdate()
    windows = RegistrationWindow.objects.visible_to(request.user).select_related("province")
    if request.user.is_official:
        province = request.user.region.ancestor_at("province")
        windows = windows.filter(province=province) if province else windows.none()
    can_edit = request.user.is_superuser or (request.user.is_official and request.user.region.level == "province")
    return render(request, "registration/review/windows.html", {"windows": windows, "today": today, "can_edit": can_edit})


@login_required
@official_required
def window_edit(request, pk=None):
    window = get_visible_or_404(RegistrationWindow, request.user, pk=pk) if pk else None
    form = WindowForm(request.POST or None, instance=window)
    if request.method == "POST" and form.is_valid():
        try:
            review.window_save(actor=request.user, window=window, **form.cleaned_data)
        except WorkflowError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("registration:window-list")
    elif request.method == "GET" and not (
        request.user.is_superuser or request.user.region.level == "province"
    ):
        messages.error(request, _("Only officials of the province set registration windows."))
        return redirect("registration:window-list")
    return render(request, "registration/review/window_form.html", {"form": form, "window": window})


def review_urls():
    """The queue, detail and decision URLs of every reviewable in QUEUES (one set of views for all)."""
    from django.urls import path

    def views_for(key):
        @login_required
        @official_required
        def queue_view(request):
            return _queue(request, key)

        @login_required
        @official_required
        def detail_view(request, pk):
            return _detail(request, key, pk)

        @require_POST
        @login_required
        @official_required
        def decide_view(request, pk):
            return _decide(request, key, pk)

        return queue_view, detail_view, decide_view

    patterns = []
    for key, queue in QUEUES.items():
        queue_view, detail_view, decide_view = views_for(key)
        base = f"review/{queue.path}"
        patterns += [
            path(base, queue_view, name=queue.list_url.split(":")[1]),
            path(f"{base}<int:pk>/", detail_view, name=queue.detail_url.split(":")[1]),
            path(f"{base}<int:pk>/decide/", decide_view, name=queue.decide_url.split(":")[1]),
        ]
    return patterns
