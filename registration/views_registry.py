"""Officials' registry (社工登记库): registered workers of the subtree, a worker's file, the oversight actions of
the city or province above (registration/services/oversight.py), and the certificates issued."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.views import region_tree_root_for
from swms.decorators import official_required
from swms.exports import Table, export_requested, export_response
from swms.id_search import PARAM as ID_HASH_PARAM
from swms.id_search import id_hash, id_hash_filter, id_query_redirect
from swms.models import Action
from swms.pagination import bounded_count, paginate
from swms.pii import mask_id_number
from swms.scoping import get_visible_or_404, within_requested_region
from swms.throttle import rate_limited
from swms.workflow import WorkflowError

from .filters import CertificateIssuedFilter, RegistryFilter
from .models import Certificate, QualificationLevel, Registration, RegistrationKind, SocialWorker
from .selectors.registry import (
    certificate_file_ok,
    certificates_not_issued,
    oversight_authority,
    registry_queryset,
    registry_row,
    worker_file,
)
from .services import oversight

PAGE_SIZE = 25


def _registry(request):
    """The scoped, filtered registry of the page and of its export: (filterset, region, on_date). An ID number
    never comes from the address: only its keyed hash `idh` (swms.id_search)."""
    today = timezone.localdate()
    workers, region = within_requested_region(SocialWorker.objects.visible_to(request.user), request)
    workers = id_hash_filter(workers, "id_number", id_hash(request))
    data = request.GET.copy()
    data.pop("id_number", None)
    filterset = RegistryFilter(data, queryset=registry_queryset(workers=workers, on_date=today), on_date=today)
    return filterset, region, today


def _is_lookup(request) -> bool:
    """A search of the registry (name, ID number or certificate number typed), not paging a list."""
    return bool(request.POST.get("id_number", "").strip() or request.GET.get("q", "").strip()
                or request.GET.get(ID_HASH_PARAM))


@login_required
@official_required
@require_http_methods(["GET", "POST"])
@rate_limited("registry", when=_is_lookup)
def registry_list(request):
    """Registered workers with their current registration. An exact ID number is POSTed (or typed into the
    name box) and answered by a redirect to the page with its keyed hash `idh` instead (swms.id_search)."""
    moved = id_query_redirect(request, post_field="id_number" if request.method == "POST" else None)
    if moved is not None:
        return moved
    if export_requested(request):
        return export_response(request, registry_table)
    filterset, region, today = _registry(request)
    page = paginate(request, filterset.qs, PAGE_SIZE)
    rows = [registry_row(r, on_date=today) for r in page]
    q = request.GET.get("q", "").strip()
    id_search = id_hash(request) is not None
    query = request.GET.copy()
    for name in ("page", "id_number", ID_HASH_PARAM):
        query.pop(name, None)
    return render(request, "registration/registry/list.html", {
        "filterset": filterset, "page": page, "rows": rows, "region": region, "today": today,
        "q": "" if id_search else q, "id_search": id_search, "query": query.urlencode(),
        "tree_roots": region_tree_root_for(request.user), "list_url": "registration:registry",
    })


def registry_table(request) -> Table:
    """The filtered registry as an export table (also rebuilt by a background export job); ID numbers masked."""
    filterset, _region, today = _registry(request)
    qs = filterset.qs
    headers = [_("full name"), _("ID number"), _("registration number"), _("qualification level"),
               _("registration kind"), _("valid from"), _("valid to"), _("Status"), _("current employer"),
               _("work region"), _("CE hours counted"), _("CE hours needed"), _("CE hours missing")]

    def rows():
        for worker in qs.iterator(chunk_size=500):
            row = registry_row(worker, on_date=today)
            registration = row["registration"]
            yield [worker.name, mask_id_number(worker.id_number), registration.registration_no,
                   registration.get_level_display(), registration.get_kind_display(), registration.valid_from,
                   registration.valid_to, str(row["state_label"]), worker.employer,
                   worker.work_region.name if worker.work_region else "", float(row["ce_have"]),
                   float(row["ce_need"]), float(row["ce_missing"])]

    return Table(f"registry-{today:%Y%m%d}.xlsx", headers, rows(), _("Registry"), qs.count())


@login_required
@official_required
@rate_limited("registry")
def registry_worker(request, pk):
    """A worker's file: profile, registrations and certificates, CE, applications, history; the actions."""
    worker = get_visible_or_404(SocialWorker.objects.select_related("work_region", "user"), request.user, pk=pk)
    context = worker_file(worker=worker, user=request.user, on_date=timezone.localdate())
    return render(request, "registration/registry/worker.html", {**context, "obj": worker})


_SERVICES = {
    Action.FREEZE: (oversight.registration_freeze, _("The registration was frozen; the worker was told.")),
    Action.UNFREEZE: (oversight.registration_unfreeze, _("The registration was unfrozen; the worker was told.")),
    Action.CANCEL: (oversight.registration_cancel,
                    _("The registration was cancelled and its certificate revoked; the worker was told.")),
}


def _act(request, pk, action):
    # Scoped by the worker's work region, as the registry is: out of scope is 404; a county sees but does not act.
    registration = get_visible_or_404(
        Registration.objects.filter(worker__in=SocialWorker.objects.visible_to(request.user)).select_related(
            "worker__work_region"), request.user, pk=pk)
    if not oversight_authority(request.user, registration.worker.work_region):
        raise PermissionDenied
    service, done = _SERVICES[action]
    try:
        service(registration=registration, actor=request.user, reason=request.POST.get("reason", ""))
    except WorkflowError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, str(done))
    return redirect("registration:registry-worker", pk=registration.worker_id)


@login_required
@official_required
@require_POST
def registry_freeze(request, pk):
    return _act(request, pk, Action.FREEZE)


@login_required
@official_required
@require_POST
def registry_unfreeze(request, pk):
    return _act(request, pk, Action.UNFREEZE)


@login_required
@official_required
@require_POST
def registry_cancel(request, pk):
    return _act(request, pk, Action.CANCEL)


# --- Certificates issued ------------------------------------------------------------------------------


def _certificates(request):
    """The scoped, filtered certificates of the page and of its export, newest first: (filterset, region)."""
    qs, region = within_requested_region(Certificate.objects.visible_to(request.user), request)
    filterset = CertificateIssuedFilter(
        request.GET, queryset=qs.select_related("registration__worker", "registration__region").order_by(
            "-issued_at", "-pk"))
    return filterset, region


@login_required
@official_required
def certificate_list(request):
    """Certificates issued in the subtree by period, region and kind; failed ones can be re-issued."""
    if export_requested(request):
        return export_response(request, certificate_table)
    today = timezone.localdate()
    user = request.user
    filterset, region = _certificates(request)
    page = paginate(request, filterset.qs, PAGE_SIZE)
    rows = [{"certificate": c, "file_ok": certificate_file_ok(c),
             "state": c.verification_status(today)} for c in page]
    pending, _region = within_requested_region(Registration.objects.visible_to(user), request)
    kind = filterset.form.cleaned_data.get("kind") if filterset.form.is_valid() else ""
    if kind:
        pending = pending.filter(kind=kind)
    pending = certificates_not_issued(pending, on_date=today).select_related("worker").order_by(
        "certificate_due_on", "pk")
    # Counted up to the lists' floor, as the lists are (swms/pagination.py): "more than 10,000" is honest.
    not_issued_count, not_issued_capped = bounded_count(pending)
    return render(request, "registration/registry/certificates.html", {
        "filterset": filterset, "page": page, "rows": rows, "region": region,
        "not_issued": list(pending[:50]), "not_issued_count": not_issued_count,
        "not_issued_capped": not_issued_capped,
        "kinds": RegistrationKind.choices,
        "can_reissue": oversight_authority(user, user.region),
        "tree_roots": region_tree_root_for(user), "list_url": "registration:certificate-list",
    })


def certificate_table(request) -> Table:
    """The filtered certificates issued as an export table (also rebuilt by a background export job); ID numbers
    masked. The PDF check of the page (a storage call per row) is left out: the file lists what was issued."""
    filterset, _region = _certificates(request)
    qs = filterset.qs
    headers = [_("issued at"), _("registration number"), _("full name"), _("ID number"), _("registration kind"),
               _("qualification level"), _("region"), _("issuing authority"), _("valid to"), _("Status"),
               _("revoked at"), _("revocation reason")]
    kinds = {value: str(label) for value, label in RegistrationKind.choices}
    levels = {value: str(label) for value, label in QualificationLevel.choices}
    current, revoked = _("Current"), _("Revoked")

    def rows():
        for c in qs.iterator(chunk_size=2000):
            registration = c.registration
            yield [timezone.localtime(c.issued_at).date(), registration.registration_no, registration.worker.name,
                   mask_id_number(registration.worker.id_number), kinds.get(registration.kind, registration.kind),
                   levels.get(registration.level, registration.level), registration.region.name, c.issued_by,
                   registration.valid_to, revoked if c.revoked_at else current,
                   timezone.localtime(c.revoked_at).date() if c.revoked_at else None, c.revoked_reason]

    return Table(f"certificates-{timezone.localdate():%Y%m%d}.xlsx", headers, rows(), _("Certificates issued"),
                 qs.count())


@login_required
@official_required
@require_POST
def certificate_reissue(request, pk):
    registration = get_visible_or_404(Registration, request.user, pk=pk)
    if not oversight_authority(request.user, registration.region):
        raise PermissionDenied
    try:
        queued = oversight.certificate_reissue(registration=registration, actor=request.user)
    except WorkflowError as error:
        messages.error(request, error.message)
    else:
        if queued:
            messages.success(request, _("The certificate %(no)s is being issued again.")
                             % {"no": registration.registration_no})
        else:
            messages.info(request, _("The certificate %(no)s is in order; nothing to re-issue.")
                          % {"no": registration.registration_no})
    return redirect(request.POST.get("next") if _safe_next(request) else "registration:certificate-list")


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                            require_https=request.is_secure())
