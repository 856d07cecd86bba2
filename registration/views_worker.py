"""Social workers' pages: sign-up, profile, roster corrections, applications, history, files."""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Region, RegionLevel
from accounts.views import region_cascade
from swms.decorators import kind_required
from swms.scoping import get_visible_or_404
from swms.throttle import rate_limited
from swms.uploads import serve_private_file
from swms.workflow import WorkflowError, review_log_for

from . import services
from .eligibility import ce_hours_between, current_window, worker_eligibility
from .forms import (
    ApplicationForm,
    CEClaimForm,
    ContactForm,
    CorrectionForm,
    MaterialsForm,
    ProfileForm,
    RegionChangeForm,
    SignupForm,
    SubmitForm,
)
from .models import (
    ApplicationMaterial,
    CEClaim,
    Certificate,
    Courseware,
    MaterialKind,
    ProfileChangeRequest,
    Qualification,
    RegionChangeRequest,
    Registration,
    RegistrationApplication,
    RegistrationKind,
    ReplacementRequest,
    RestoreApplication,
    RosterCorrectionRequest,
    SocialWorker,
)
from .selectors import ce_tally, county_office

# A worker's own pages act on their own records: not even operators work them on their behalf.
worker_required = kind_required("social_worker", allow_superuser=False)


def _worker(request) -> SocialWorker:
    worker = SocialWorker.objects.owned_by(request.user).select_related("work_region").first()
    if worker is None:
        raise Http404
    return worker


def signup(request):
    if request.user.is_authenticated:
        return redirect("reports:workbench")
    form = SignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user, in_roster = services.socialworker_signup(
                id_number=data["id_number"], name=data["name"], mobile=data["mobile"], email=data["email"],
                password=data["password1"],
            )
        except ValidationError as e:
            form.add_error("password1", e)
        except services.RegistrationError as e:
            form.add_error(None, str(e))
        else:
            login(request, user, backend="accounts.backends.IdentifierBackend")
            if in_roster:
                messages.success(request, _("Welcome. Your exam record was found; your name is taken from it."))
            else:
                messages.warning(
                    request,
                    _("Welcome. No exam record was found for your ID number: complete your profile, then file a "
                      "roster correction request with a scan of your certificate."),
                )
            return redirect("registration:profile")
    return render(request, "registration/worker/signup.html", {"form": form})


@login_required
@worker_required
def profile(request):
    worker = _worker(request)
    form = ProfileForm(request.POST or None, request.FILES or None, instance=worker)
    if request.method == "POST":
        if not worker.is_editable:
            messages.error(request, _("This has been submitted and cannot be changed until it is reviewed."))
            return redirect("registration:profile")
        if form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if k in ProfileForm.Meta.fields and k in form.changed_data}
            try:
                services.profile_save(worker=worker, data=data, photo=form.cleaned_data.get("new_photo"))
                if request.POST.get("action") == "submit":
                    services.profile_submit(worker=worker, actor=request.user)
                    messages.success(request, _("Your profile was submitted for review."))
                else:
                    messages.success(request, _("Saved."))
            except (services.RegistrationError, WorkflowError) as e:
                messages.error(request, getattr(e, "message", str(e)))
            return redirect("registration:profile")
    qualifications = Qualification.objects.filter(id_number=worker.id_number)
    changes = list(ProfileChangeRequest.objects.owned_by(request.user).filter(worker=worker).order_by("-created_at")[:10])
    return render(request, "registration/worker/profile.html", {
        "changes": changes,
        "open_change": next((c for c in changes if c.status in ("draft", "submitted", "returned")), None),
        "worker": worker, "form": form, "contact_form": ContactForm(instance=worker),
        "qualifications": qualifications, "log": review_log_for(worker),
        "cascade": region_cascade(worker.work_region),
        "missing": [SocialWorker._meta.get_field(f).verbose_name for f in worker.missing_fields()],
    })


@require_POST
@login_required
@worker_required
def profile_change_new(request):
    """信息修改申请: ask the county to unlock the approved profile for one edit."""
    worker = _worker(request)
    try:
        services.profile_change_submit(worker=worker, reason=request.POST.get("reason", ""))
    except (services.RegistrationError, WorkflowError) as e:
        messages.error(request, getattr(e, "message", str(e)))
    else:
        messages.success(request, _("Your change request was sent to the county."))
    return redirect("registration:profile")




@require_POST
@login_required
@worker_required
def contact(request):
    worker = _worker(request)
    form = ContactForm(request.POST, instance=worker)
    if form.is_valid():
        services.profile_contact_update(worker=worker, data=form.cleaned_data)
        messages.success(request, _("Your contact information was updated."))
    else:
        messages.error(request, _("Please correct the contact information."))
    return redirect("registration:profile")


@require_GET
def region_options(request):
    """The children of a region as <option>s, for every cascading region select (htmx). Public: the
    division names are published statistics, and the organization sign-up uses it before login."""
    parent = request.GET.get("parent") or request.GET.get(request.GET.get("field", ""), "")
    children = Region.objects.none()
    if parent.isdigit():
        children = Region.objects.filter(parent_id=int(parent)).order_by("code")
        if request.GET.get("villages") != "1":
            children = children.exclude(level=RegionLevel.VILLAGE)
    return render(request, "registration/worker/region_options.html", {"children": children})


@require_GET
@login_required
def profile_photo(request, pk):
    worker = get_visible_or_404(SocialWorker, request.user, pk=pk)
    return serve_private_file(worker.photo)


# --- Roster corrections --------------------------------------------------------------------------


@login_required
@worker_required
def corrections(request):
    worker = _worker(request)
    rows = RosterCorrectionRequest.objects.owned_by(request.user).select_related("region").order_by("-created_at")
    return render(request, "registration/worker/corrections.html", {"worker": worker, "rows": rows})


@login_required
@worker_required
def correction_edit(request, pk=None):
    worker = _worker(request)
    correction = get_visible_or_404(RosterCorrectionRequest, request.user, pk=pk) if pk else None
    # A new request goes to the county-level office of the profile's work region unless changed.
    initial = {"region": county_office(worker.work_region)}
    if correction:
        initial = {f: getattr(correction, f) for f in ("region", "level", "certificate_no", "exam_year",
                                                        "issuing_province", "note")}
    form = CorrectionForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            correction = services.roster_correction_save(
                worker=worker, request=correction, data=form.cleaned_data, scan=form.cleaned_data.get("scan")
            )
            if request.POST.get("action") == "submit":
                services.roster_correction_submit(request=correction, actor=request.user)
                messages.success(request, _("Your request was sent to the county for checking."))
            else:
                messages.success(request, _("Saved."))
            return redirect("registration:corrections")
        except (services.RegistrationError, WorkflowError) as e:
            form.add_error(None, getattr(e, "message", str(e)))
    return render(request, "registration/worker/correction_form.html", {
        "form": form, "correction": correction, "log": review_log_for(correction) if correction else [],
        "cascade": form.cascade() if correction is None or correction.is_editable else [],
    })


@require_GET
@login_required
def correction_scan(request, pk):
    correction = get_visible_or_404(RosterCorrectionRequest, request.user, pk=pk)
    return serve_private_file(correction.scan)


# --- Applications ----------------------------------------------------------------------------------


@login_required
@worker_required
def apply(request):
    worker = _worker(request)
    today = timezone.localdate()
    if request.method == "POST":
        try:
            application = services.application_start(worker=worker, kind=request.POST.get("kind", ""))
        except services.RegistrationError as e:
            messages.error(request, str(e))
            return redirect("registration:apply")
        return redirect("registration:application-detail", pk=application.pk)
    return render(request, "registration/worker/apply.html", {
        "worker": worker,
        "decisions": worker_eligibility(worker, on_date=today),
        "window": current_window(worker.work_region, on_date=today) if worker.work_region else None,
        "open_application": RegistrationApplication.objects.owned_by(request.user).open().first(),
        "missing": [SocialWorker._meta.get_field(f).verbose_name for f in worker.missing_fields()],
    })


@login_required
def application_detail(request, pk):
    application = get_visible_or_404(
        RegistrationApplication.objects.select_related("worker", "qualification", "region", "window"),
        request.user, pk=pk,
    )
    if not application.is_applicant(request.user):
        return redirect("registration:review-detail", pk=pk)
    if request.method == "POST":
        form = ApplicationForm(request.POST)
        if form.is_valid():
            try:
                services.application_save(application=application, **form.cleaned_data)
                messages.success(request, _("Saved."))
            except services.RegistrationError as e:
                messages.error(request, str(e))
        return redirect("registration:application-detail", pk=pk)
    slots = services.application_material_slots(application)
    materials_form = MaterialsForm(kinds=[slot.kind for slot in slots if slot.uploadable])
    ce = None
    if application.kind in (RegistrationKind.RENEWAL, RegistrationKind.LATE):
        ce = {d.kind: d for d in worker_eligibility(application.worker, on_date=timezone.localdate())}.get(
            application.kind
        )
    log = list(review_log_for(application).select_related("actor", "actor_region"))
    last_reason = next((row.comment for row in reversed(log) if row.action in ("reject", "return")), "")
    return render(request, "registration/worker/application.html", {
        "application": application,
        "form": ApplicationForm(initial={"pickup": application.pickup, "mailing_address": application.mailing_address}),
        "ce": ce, "log": log, "last_reason": last_reason, "submit_form": SubmitForm(),
        # Each material with its file input (None where nothing is uploaded by hand).
        "slots": [(slot, materials_form[slot.kind] if slot.uploadable else None) for slot in slots],
        "can_upload": application.is_editable and any(slot.uploadable for slot in slots),
        "can_withdraw": "withdraw" in application.available_actions(request.user),
    })


@require_POST
@login_required
@worker_required
def application_material(request, pk):
    """All materials in one post: the good files are kept, each bad one is named with its reason."""
    application = get_visible_or_404(RegistrationApplication, request.user, pk=pk)
    kinds = [s.kind for s in services.application_material_slots(application) if s.uploadable]
    form = MaterialsForm(request.POST, request.FILES, kinds=kinds)
    form.is_valid()
    images = form.checked_images()
    try:
        stored = services.application_materials_attach(application=application, images=images)
    except services.RegistrationError as e:
        messages.error(request, str(e))
        return redirect("registration:application-detail", pk=pk)
    if stored:
        messages.success(request, _("Uploaded: %(materials)s.") % {
            "materials": "、".join(str(MaterialKind(m.kind).label) for m in stored)})
    for name, errors in form.errors.items():
        label = form.fields[name].label if name in form.fields else ""
        for error in errors:
            messages.error(request, _("%(material)s: %(error)s") % {"material": label, "error": error})
    if not stored and not form.errors:
        messages.error(request, _("Please choose a file."))
    return redirect("registration:application-detail", pk=pk)


@require_POST
@login_required
@worker_required
def application_submit(request, pk):
    application = get_visible_or_404(RegistrationApplication, request.user, pk=pk)
    form = SubmitForm(request.POST)
    form.is_valid()
    try:
        services.application_submit(
            application=application, actor=request.user, pledge=form.cleaned_data.get("pledge", False)
        )
    except (services.RegistrationError, WorkflowError) as e:
        messages.error(request, getattr(e, "message", str(e)))
    else:
        messages.success(request, _("Your application was submitted. You will be told the result by SMS and in your inbox."))
    return redirect("registration:application-detail", pk=pk)


@require_POST
@login_required
@worker_required
def application_withdraw(request, pk):
    application = get_visible_or_404(RegistrationApplication, request.user, pk=pk)
    try:
        services.application_withdraw(application=application, actor=request.user)
    except (services.RegistrationError, WorkflowError) as e:
        messages.error(request, getattr(e, "message", str(e)))
    else:
        messages.success(request, _("Your application was withdrawn. You may start a new one."))
    return redirect("registration:application-detail", pk=pk)


@require_GET
@login_required
def material_file(request, pk):
    material = ApplicationMaterial.objects.filter(pk=pk).only("application_id").first()
    if material is None:
        raise Http404
    get_visible_or_404(RegistrationApplication, request.user, pk=material.application_id)
    material = ApplicationMaterial.objects.get(pk=pk)
    return serve_private_file(material.file)


@login_required
@worker_required
def ce_ledger(request):
    """继续教育: the worker's hours, the tally against what the next renewal needs, and claims."""
    worker = _worker(request)
    latest = worker.registrations.order_by("-valid_to").first()
    tally = ce_tally(worker=worker, registration=latest, on_date=timezone.localdate())
    return render(request, "registration/worker/ce.html", {
        "worker": worker, "tally": tally,
        "records": worker.ce_records.order_by("-completed_on")[:200],
        "claims": CEClaim.objects.owned_by(request.user).order_by("-created_at"),
    })


@login_required
@worker_required
def ce_claim_edit(request, pk=None):
    worker = _worker(request)
    claim = get_visible_or_404(CEClaim, request.user, pk=pk) if pk else None
    initial = {f: getattr(claim, f) for f in ("provider", "course", "started_on", "finished_on", "hours")} if claim else {}
    form = CEClaimForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.ce_claim_submit(worker=worker, claim=claim, data=form.cleaned_data,
                                     proof=form.cleaned_data.get("proof"))
        except (services.RegistrationError, WorkflowError) as e:
            form.add_error(None, getattr(e, "message", str(e)))
        else:
            messages.success(request, _("Your hours were sent to the county for checking."))
            return redirect("registration:ce")
    return render(request, "registration/worker/ce_claim_form.html", {
        "form": form, "claim": claim, "log": review_log_for(claim) if claim else [],
    })


@require_GET
@login_required
def ce_claim_proof(request, pk):
    claim = get_visible_or_404(CEClaim, request.user, pk=pk)
    return serve_private_file(claim.proof)


@require_POST
@login_required
@worker_required
def restore_new(request, pk):
    worker = _worker(request)
    registration = get_visible_or_404(Registration, request.user, pk=pk)
    try:
        services.restore_submit(worker=worker, registration=registration, reason=request.POST.get("reason", ""))
    except (services.RegistrationError, WorkflowError) as e:
        messages.error(request, getattr(e, "message", str(e)))
    else:
        messages.success(request, _("Your restore application was submitted."))
    return redirect("registration:history")


@login_required
@worker_required
def region_change(request):
    """工作区域 / 所属机构变更 for a worker whose profile is approved."""
    worker = _worker(request)
    form = RegionChangeForm(request.POST or None, initial={"new_employer": worker.employer})
    if request.method == "POST" and form.is_valid():
        try:
            services.region_change_submit(
                worker=worker, new_region=form.cleaned_data["work_region"],
                new_employer=form.cleaned_data["new_employer"], reason=form.cleaned_data["reason"],
            )
        except (services.RegistrationError, WorkflowError) as e:
            form.add_error(None, getattr(e, "message", str(e)))
        else:
            messages.success(request, _("Your change request was sent to the new region for review."))
            return redirect("registration:region-change")
    return render(request, "registration/worker/region_change.html", {
        "worker": worker, "form": form, "cascade": region_cascade(None),
        "rows": RegionChangeRequest.objects.owned_by(request.user).select_related("old_region", "new_region")
        .order_by("-created_at"),
    })


@require_POST
@login_required
@worker_required
def replacement_new(request, pk):
    worker = _worker(request)
    registration = get_visible_or_404(Registration, request.user, pk=pk)
    try:
        services.replacement_submit(worker=worker, registration=registration, reason=request.POST.get("reason", ""),
                                    details=request.POST.get("details", ""))
    except (services.RegistrationError, WorkflowError) as e:
        messages.error(request, getattr(e, "message", str(e)))
    else:
        messages.success(request, _("Your replacement request was sent to the county."))
    return redirect("registration:history")


@login_required
@worker_required
def courseware_library(request):
    """Courseware the province opened; finishing one records its hours once."""
    worker = _worker(request)
    done = set(worker.ce_records.filter(external_ref__startswith="courseware:").values_list("external_ref", flat=True))
    rows = list(Courseware.objects.visible_to(request.user).order_by("-decided_at")[:200])
    for c in rows:
        c.finished = f"courseware:{c.pk}:worker:{worker.pk}" in done
    return render(request, "registration/worker/courseware.html", {"rows": rows})


@require_POST
@login_required
@worker_required
def courseware_finish(request, pk):
    from .review import ReviewError, courseware_finish

    worker = _worker(request)
    courseware = get_visible_or_404(Courseware, request.user, pk=pk)
    try:
        _record, created = courseware_finish(courseware=courseware, worker=worker)
    except ReviewError as e:
        messages.error(request, e.message)
    else:
        if created:
            messages.success(request, _("%(hours)s hours were added to your continuing education.") % {
                "hours": courseware.hours})
        else:
            messages.info(request, _("This course is already in your continuing education."))
    return redirect("registration:courseware-library")


@require_GET
@login_required
@rate_limited("pdf")
def application_form(request, pk):
    """The printable application form (PDF) for the applicant and the officials in scope."""
    from django.http import HttpResponse

    from .certificates import application_form_pdf

    application = get_visible_or_404(
        RegistrationApplication.objects.select_related("worker", "qualification", "region"), request.user, pk=pk
    )
    response = HttpResponse(application_form_pdf(application), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="application-{application.pk}.pdf"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_GET
@login_required
def certificate_file(request, pk):
    """The certificate PDF: for its owner and the officials in scope (others 404)."""
    certificate = get_visible_or_404(Certificate.objects.select_related("registration"), request.user, pk=pk)
    return serve_private_file(
        certificate.file, download_name=f"{certificate.registration.registration_no}.pdf", inline=False
    )


@login_required
@worker_required
def history(request):
    worker = _worker(request)
    applications = list(
        RegistrationApplication.objects.owned_by(request.user).select_related("qualification").order_by("-created_at")
    )
    return render(request, "registration/worker/history.html", {
        "worker": worker,
        "registrations": Registration.objects.owned_by(request.user).order_by("-valid_from").prefetch_related(
            Prefetch("certificates", queryset=Certificate.objects.current(), to_attr="current_certificates")
        ),
        "applications": applications,
        "renewals": [a for a in applications if a.kind == RegistrationKind.RENEWAL],
        "replacement_reasons": ReplacementRequest.Reason.choices,
        "replacements": ReplacementRequest.objects.owned_by(request.user).select_related("registration").order_by(
            "-created_at"
        ),
        "restores": RestoreApplication.objects.owned_by(request.user).select_related("registration").order_by(
            "-created_at"
        ),
        "ce_total": ce_hours_between(worker, timezone.localdate().replace(year=timezone.localdate().year - 3),
                                     timezone.localdate()),
    })
