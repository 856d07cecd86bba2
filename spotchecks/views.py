"""Spot-check pages: the province draws and checks; the office answers its rectifications."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, IntegerField, OuterRef, Q, Subquery, Value, When
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.operator_roles import OPERATE_SYSTEM, can
from swms.decorators import official_required
from swms.exports import Table, export_requested, export_response
from swms.models import Action, ReviewLog
from swms.pagination import paginate
from swms.pii import mask_id_number
from swms.scoping import get_visible_or_404
from swms.workflow import State, WorkflowError

from . import services
from .forms import AnswerForm, BatchForm, ResultForm
from .models import Rectification, SampleMode, SpotCheckBatch, SpotCheckItem, SpotCheckResult
from .selectors import ItemFilter, batch_cities, batch_items, batch_report, item_file, open_rectifications

PAGE_SIZE = 50


@login_required
@official_required
def batch_list(request):
    """The batches of the user's scope (the province's, for its officials), newest first."""
    batches = (SpotCheckBatch.objects.visible_to(request.user).select_related("region", "created_by")
               .annotate(total=Count("items"),
                         checked=Count("items", filter=~Q(items__result=SpotCheckResult.PENDING)),
                         problems=Count("items", filter=Q(items__result=SpotCheckResult.PROBLEM)))
               .order_by("-created_at", "-pk"))
    page = paginate(request, batches, 25)
    return render(request, "spotchecks/batch_list.html", {"page": page, "can_draw": services.can_draw(request.user)})


@login_required
@official_required
@require_http_methods(["GET", "POST"])
def batch_new(request):
    user = request.user
    if not services.can_draw(user):
        raise PermissionDenied
    form = BatchForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            batch = services.batch_draw(
                actor=user, province=data.get("province") or user.region, approved_from=data["approved_from"],
                approved_to=data["approved_to"], cities=list(data["cities"]), mode=data["mode"],
                amount=data["amount"], seed=data["seed"], title=data["title"], notes=data["notes"])
        except WorkflowError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("%(count)s items were drawn.") % {"count": batch.items.count()})
            return redirect("spotchecks:batch-detail", pk=batch.pk)
    return render(request, "spotchecks/batch_form.html", {"form": form})


def _batch(request, pk):
    return get_visible_or_404(SpotCheckBatch.objects.select_related("region", "created_by"), request.user, pk=pk)


def _export(request, pk):
    # The builder reads the batch from the query string, so that a background job rebuilds the same table.
    return export_response(request, spotcheck_items_table, batch=pk)


@login_required
@official_required
def batch_detail(request, pk):
    """The batch's parameters and its items by city, filtered by city and result."""
    if export_requested(request):
        return _export(request, pk)
    batch = _batch(request, pk)
    cities = batch_cities(batch)
    filterset = ItemFilter(request.GET or None, queryset=batch_items(batch), cities=cities)
    page = paginate(request, filterset.qs, PAGE_SIZE)
    return render(request, "spotchecks/batch_detail.html", {
        "batch": batch, "filter": filterset, "page": page, "chosen_cities": list(batch.cities.order_by("code")),
        "percent": batch.mode == SampleMode.PERCENT, "report": batch_report(batch),
    })


@login_required
@official_required
def batch_report_view(request, pk):
    """Pass rate per city and the open rectifications of the batch; exports the per-city table."""
    if export_requested(request):
        return export_response(request, spotcheck_report_table, batch=pk)
    batch = _batch(request, pk)
    return render(request, "spotchecks/batch_report.html", {
        "batch": batch, "report": batch_report(batch), "open": list(open_rectifications(batch)),
        "chosen_cities": list(batch.cities.order_by("code")),
    })


def spotcheck_items_table(request) -> Table:
    """The batch's items as the batch page filters them (city, result); ID numbers masked."""
    pk = request.GET.get("batch", "")
    if not pk.isdigit():
        raise Http404
    batch = _batch(request, int(pk))
    filterset = ItemFilter(request.GET, queryset=batch_items(batch), cities=batch_cities(batch))
    qs = filterset.qs
    results = dict(SpotCheckResult.choices)
    states = {**dict(State.choices), **Rectification.STATUS_LABELS}
    levels = dict(SpotCheckItem._meta.get_field("registration").related_model._meta.get_field("level").choices)
    headers = [_("city"), _("registration number"), _("full name"), _("ID number"), _("qualification level"),
               _("approved at"), _("result"), _("problem description"), _("rectification"), _("checked by"),
               _("checked at")]

    def rows():
        for item in qs.iterator(chunk_size=2000):
            registration = item.registration
            application = registration.application
            rectification = getattr(item, "rectification", None)
            yield [item.city.name, registration.registration_no, registration.worker.name,
                   mask_id_number(registration.worker.id_number), str(levels.get(registration.level, "")),
                   application.decided_at if application else None, str(results[item.result]), item.description,
                   str(states[rectification.status]) if rectification else "",  # the task's own words
                   item.checked_by.display_name if item.checked_by else "", item.checked_at]

    return Table(f"spotcheck-{batch.pk}.xlsx", headers, rows(), _("Spot check"), qs.count())


def spotcheck_report_table(request) -> Table:
    """The batch report's table: per city the items, checked, passed, problems, pass rate and open rectifications."""
    pk = request.GET.get("batch", "")
    if not pk.isdigit():
        raise Http404
    batch = _batch(request, int(pk))
    report = batch_report(batch)
    headers = [_("city"), _("Items"), _("Checked"), _("Passed"), _("Problems"), _("Pass rate (%)"),
               _("Open rectifications")]
    keys = ("total", "checked", "passed", "problems", "rate", "open")
    rows = [[row["city__name"], *(row[k] for k in keys)] for row in report["rows"]]
    if rows:
        rows.append([_("Total"), *(report["totals"][k] for k in keys)])
    return Table(f"spotcheck-{batch.pk}-report.xlsx", headers, rows, _("Report"), len(rows))


@login_required
@official_required
def item_detail(request, pk):
    """A sampled registration's full file and the result form."""
    item = get_visible_or_404(
        SpotCheckItem.objects.select_related("batch__region", "city", "checked_by", "registration__worker__work_region",
                                             "registration__application__qualification",
                                             "registration__region"), request.user, pk=pk)
    return render(request, "spotchecks/item.html", {
        "item": item, "batch": item.batch, **item_file(item),
        "form": ResultForm(initial={"result": item.result if item.result != SpotCheckResult.PENDING else None,
                                    "description": item.description}),
        "can_check": services.can_check(request.user, item.batch),
    })


@login_required
@official_required
@require_POST
def item_result(request, pk):
    item = get_visible_or_404(SpotCheckItem.objects.select_related("batch"), request.user, pk=pk)
    if not services.can_check(request.user, item.batch):
        raise PermissionDenied
    form = ResultForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("spotchecks:item-detail", pk=pk)
    data = form.cleaned_data
    try:
        services.item_record(item=item, actor=request.user, result=data["result"], description=data["description"],
                             office_step=data["office_step"])
    except WorkflowError as error:
        messages.error(request, error.message)
    else:
        if item.result == SpotCheckResult.PROBLEM:
            messages.success(request, _("The problem was recorded and sent to the responsible office for rectification."))
        else:
            messages.success(request, _("The result was recorded."))
    return redirect("spotchecks:item-detail", pk=pk)


@login_required
@official_required
def rectification_list(request):
    """整改任务: the rectifications assigned to my office, the ones waiting for our answer first."""
    qs = Rectification.objects.visible_to(request.user)
    if not can(request.user, OPERATE_SYSTEM):
        qs = qs.for_office(request.user)
    show = request.GET.get("show", "open")
    if show == "open":
        qs = qs.open()
    order = Q(status__in=[State.DRAFT, State.RETURNED])
    returns = ReviewLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Rectification), object_id=OuterRef("pk"), action=Action.RETURN,
    ).order_by("-created_at", "-id").values("comment")[:1]
    qs = qs.select_related("office", "item__registration__worker", "item__batch__region").annotate(
        todo=Case(When(order, then=Value(0)), default=Value(1), output_field=IntegerField()),
        return_comment=Subquery(returns),
    ).order_by("todo", "created_at", "pk")
    page = paginate(request, qs, 25)
    rows = [{"obj": r, "can_answer": r.is_editable and r.is_applicant(request.user),
             "form": AnswerForm(prefix=f"r{r.pk}", initial={"answer": r.answer})} for r in page]
    return render(request, "spotchecks/rectifications.html", {"page": page, "rows": rows, "show": show})


@login_required
@official_required
@require_POST
def rectification_answer(request, pk):
    rectification = get_visible_or_404(Rectification, request.user, pk=pk)
    answer = request.POST.get(f"r{pk}-answer", request.POST.get("answer", ""))
    try:
        services.rectification_answer(rectification=rectification, actor=request.user, answer=answer)
    except WorkflowError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your answer was sent to the province."))
    if request.POST.get("next") == "review":
        return redirect("spotchecks:rectification-review", pk=pk)
    return redirect("spotchecks:rectification-list")
