"""Organizations' own pages (社会工作服务机构): sign-up, registration profile, contact data and staff.

Officials review organizations through the shared review queue (registration/queues.py).
"""

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Region
from accounts.views import region_cascade
from swms.decorators import kind_required
from swms.workflow import WorkflowError, review_log_for

from .forms import (
    OrganizationContactForm,
    OrganizationForm,
    OrganizationSignupForm,
    OrganizationStaffForm,
    StaffLeaveForm,
)
from .models import Organization
from .services import organizations as org_services

# An organization's pages act on its own records: operators do not work them on its behalf.
organization_required = kind_required("organization", allow_superuser=False)

_DOMAIN_ERRORS = (org_services.OrganizationError, WorkflowError)


def _organization(request) -> Organization | None:
    return Organization.objects.owned_by(request.user).select_related("region", "account").first()


def _organization_or_404(request) -> Organization:
    organization = _organization(request)
    if organization is None:
        raise Http404
    return organization


def _chosen_region(form) -> Region | None:
    """The region the form holds (posted or stored), to pre-fill the cascading selects."""
    value = form["region"].value()
    if value and str(value).isdigit():
        return Region.objects.filter(pk=int(value)).first()
    return None


def signup(request):
    if request.user.is_authenticated:
        return redirect("reports:workbench")
    form = OrganizationSignupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            organization = org_services.organization_signup(
                username=data["username"], password=data["password1"], name=data["name"], uscc=data["uscc"],
                legal_representative=data["legal_representative"], region=data["region"], address=data["address"],
                contact_person=data["contact_person"], mobile=data["mobile"],
                service_domains=data["service_domains"], founded_on=data["founded_on"],
                registration_authority=data["registration_authority"], email=data["email"],
            )
        except ValidationError as e:
            form.add_error("password1", e)
        except org_services.OrganizationError as e:
            form.add_error(None, e.message)
        else:
            login(request, organization.account, backend="accounts.backends.IdentifierBackend")
            messages.success(request, _("Welcome. Check your organization's data, then submit it for review."))
            return redirect("registration:organization-profile")
    return render(request, "registration/org/signup.html", {
        "form": form, "cascade": region_cascade(_chosen_region(form)),
    })




@login_required
@organization_required
def profile(request):
    organization = _organization(request)
    if organization is None:
        return render(request, "registration/org/no_record.html")
    form = OrganizationForm(request.POST or None, instance=organization)
    if request.method == "POST":
        if not organization.is_editable:
            messages.error(request, _("The registration is under review or approved and cannot be changed now."))
            return redirect("registration:organization-profile")
        if form.is_valid():
            data = {k: form.cleaned_data[k] for k in form.changed_data if k in org_services.PROFILE_FIELDS}
            try:
                organization = org_services.organization_save(organization=organization, data=data, actor=request.user)
                if request.POST.get("action") == "submit":
                    org_services.organization_submit(organization=organization, actor=request.user)
                    messages.success(request, _("Your registration was submitted for review."))
                else:
                    messages.success(request, _("Saved."))
            except _DOMAIN_ERRORS as e:
                messages.error(request, getattr(e, "message", str(e)))
            return redirect("registration:organization-profile")
        organization = _organization(request)  # validation wrote the posted values onto the instance
    return _profile_page(request, organization, form, OrganizationContactForm(instance=organization))


def _profile_page(request, organization, form, contact_form):
    log = list(review_log_for(organization).select_related("actor", "actor_region"))
    # Why it came back: the comment of the reviewer's last step.
    reason = log[-1].comment if log and organization.status in ("returned", "rejected") else ""
    return render(request, "registration/org/profile.html", {
        "organization": organization, "form": form, "contact_form": contact_form, "log": log, "reason": reason,
        "cascade": region_cascade(_chosen_region(form)) if organization.is_editable else [],
        "missing": [Organization._meta.get_field(f).verbose_name for f in org_services.missing_fields(organization)],
    })


@require_POST
@login_required
@organization_required
def contact(request):
    organization = _organization_or_404(request)
    form = OrganizationContactForm(request.POST, instance=organization)
    if form.is_valid():
        try:
            org_services.organization_contact_update(organization=organization, data=form.cleaned_data,
                                                     actor=request.user)
        except _DOMAIN_ERRORS as e:
            form.add_error(None, getattr(e, "message", str(e)))
        else:
            messages.success(request, _("The contact information was updated."))
            return redirect("registration:organization-profile")
    # Show the page again with the contact form's errors (and the stored record, not the posted one).
    organization = _organization_or_404(request)
    return _profile_page(request, organization, OrganizationForm(instance=organization), form)


# --- Staff ---------------------------------------------------------------------------------------------


@login_required
@organization_required
def staff_list(request):
    organization = _organization_or_404(request)
    rows = org_services.with_level_labels(org_services.organization_staff(organization))
    return render(request, "registration/org/staff.html", {
        "organization": organization, "rows": rows, "today": timezone.localdate(),
        "current_count": sum(1 for r in rows if r.left_on is None),
    })


@login_required
@organization_required
def staff_edit(request, pk=None):
    organization = _organization_or_404(request)
    staff = get_object_or_404(org_services.organization_staff(organization), pk=pk) if pk else None
    form = OrganizationStaffForm(request.POST or None, instance=staff)
    if request.method == "POST" and form.is_valid():
        try:
            org_services.staff_save(organization=organization, staff=staff, data=form.cleaned_data)
        except org_services.OrganizationError as e:
            form.add_error(None, e.message)
        else:
            messages.success(request, _("Saved."))
            return redirect("registration:organization-staff")
    return render(request, "registration/org/staff_form.html", {"form": form, "staff": staff})


@require_POST
@login_required
@organization_required
def staff_leave(request, pk):
    organization = _organization_or_404(request)
    staff = get_object_or_404(org_services.organization_staff(organization), pk=pk)
    form = StaffLeaveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the date the staff member left."))
    else:
        try:
            org_services.staff_leave(staff=staff, left_on=form.cleaned_data["left_on"])
        except org_services.OrganizationError as e:
            messages.error(request, e.message)
        else:
            messages.success(request, _("%(name)s is recorded as having left.") % {"name": staff.name})
    return redirect("registration:organization-staff")
