"""Officials' pages of the registration app besides the review queues (registration/queues.py):
courseware collection and registration windows."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.operator_roles import OPERATE_SYSTEM, can
from swms.decorators import official_required
from swms.exports import Table, export_requested, export_response
from swms.scoping import get_visible_or_404
from swms.workflow import WorkflowError

from . import review
from .forms import CoursewareForm, WindowForm
from .models import Courseware, RegistrationWindow


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


def _windows(request):
    """The registration windows of the official's province (all for a superuser), newest first."""
    windows = RegistrationWindow.objects.visible_to(request.user).select_related("province").order_by("-opens_on", "-pk")
    if request.user.is_official:
        province = request.user.region.ancestor_at("province")
        windows = windows.filter(province=province) if province else windows.none()
    return windows


@login_required
@official_required
def window_list(request):
    if export_requested(request):
        return export_response(request, window_table)
    today = timezone.localdate()
    windows = _windows(request)
    can_edit = can(request.user, OPERATE_SYSTEM) or (request.user.is_official and request.user.region.level == "province")
    return render(request, "registration/review/windows.html", {"windows": windows, "today": today, "can_edit": can_edit})


def window_table(request) -> Table:
    """The registration windows as an export table, with their state today."""
    windows = _windows(request)
    today = timezone.localdate()
    headers = [_("name"), _("province"), _("opens on"), _("closes on"), _("Certificates issued on"), _("Status")]
    upcoming, closed, open_ = _("Upcoming"), _("Closed"), _("Open")

    def rows():
        for w in windows.iterator(chunk_size=2000):
            state = upcoming if w.opens_on > today else closed if w.closes_on < today else open_
            yield [w.name, w.province.name, w.opens_on, w.closes_on, w.certificate_issue_on, state]

    return Table(f"registration-windows-{today:%Y%m%d}.xlsx", headers, rows(), _("Registration windows"),
                 windows.count())


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
        can(request.user, OPERATE_SYSTEM) or request.user.region.level == "province"
    ):
        messages.error(request, _("Only officials of the province set registration windows."))
        return redirect("registration:window-list")
    return render(request, "registration/review/window_form.html", {"form": form, "window": window})
