from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from swms.decorators import kind_required
from swms.exports import Table, export_requested, export_response
from swms.pagination import paginate
from swms.pii import mask_phone
from swms.scoping import get_visible_or_404, within_requested_region
from swms.throttle import check as throttle_check

from . import mfa, services
from .forms import LoginForm, OfficialCreateForm, PasswordChangeForm, SelfServicePasswordResetForm
from .models import Region, RegionLevel, SecurityEvent, User
from .operator_roles import MANAGE_ACCOUNTS, can
from .reauth import recent_auth_required

# Accounts are managed by officials (their subtree) and the security administrator (三员), not the system one.
account_managers_required = kind_required("official", operator_capability=MANAGE_ACCOUNTS)


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
def login_view(request):
    if request.user.is_authenticated:
        return redirect(settings.LOGIN_REDIRECT_URL)
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if request.method == "POST":
        form = LoginForm(request, data=request.POST)
        if form.is_valid():
            auth_login(request, form.get_user())
            if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
                next_url = reverse(settings.LOGIN_REDIRECT_URL)
            next_url = next_url or reverse(settings.LOGIN_REDIRECT_URL)
            if mfa.session_needs_mfa(request):
                # The second factor (A5): enrolment at the first login, verification at every later one.
                return HttpResponseRedirect(mfa.step_url(request, next_url))
            return HttpResponseRedirect(next_url)
    else:
        form = LoginForm(request)
    return render(request, "accounts/login.html", {"form": form, "next": next_url})


def admin_login(request):
    """The Django admin signs in through this site's login (captcha, lockout, second factor)."""
    next_url = request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("admin:index")
    if request.user.is_authenticated and request.user.is_staff:
        return HttpResponseRedirect(next_url)
    if request.user.is_authenticated:
        raise PermissionDenied
    return HttpResponseRedirect(f"{reverse('accounts:login')}?{urlencode({'next': next_url})}")


@require_POST
def logout_view(request):
    auth_logout(request)
    messages.info(request, _("You have logged out."))
    return redirect("accounts:login")


@sensitive_post_parameters()
@login_required
def password_change_view(request):
    if request.method == "POST":
        form = PasswordChangeForm(request.user, request.POST)
        if form.is_valid():
            try:
                services.password_change(
                    user=request.user, new_password=form.cleaned_data["new_password1"], request=request
                )
            except ValidationError as e:
                form.add_error("new_password1", e)
            else:
                messages.success(request, _("Your password has been changed."))
                return redirect(settings.LOGIN_REDIRECT_URL)
    else:
        form = PasswordChangeForm(request.user)
    return render(
        request,
        "accounts/password_change.html",
        {"form": form, "forced": request.user.must_change_password},
    )


class PasswordResetView(auth_views.PasswordResetView):
    form_class = SelfServicePasswordResetForm
    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("accounts:password-reset-done")

    def post(self, request, *args, **kwargs):
        # D3: so many requests per hour per typed address and per client address, whether or not an
        # account has that address (the answer does not tell).
        refused = throttle_check(request, "password_reset", subject=request.POST.get("email", ""))
        return refused if refused is not None else super().post(request, *args, **kwargs)

    def form_valid(self, form):
        services.security_event_record(
            kind=SecurityEvent.Kind.PASSWORD_RESET_REQUEST,
            request=self.request,
            username=form.cleaned_data["email"],
        )
        return super().form_valid(form)


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    success_url = reverse_lazy("accounts:password-reset-complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.password_reset_completed(user=form.user, request=self.request)
        return response


# --- Officials manage the accounts of their subtree ------------------------------------------


def _officials(request):
    """The scoped, searched officials of the list and of its export, by region then username: (queryset, region, q)."""
    officials = User.objects.visible_to(request.user).officials().select_related("region")
    officials, region = within_requested_region(officials, request)
    q = request.GET.get("q", "").strip()
    if q:
        officials = officials.filter(Q(username__icontains=q) | Q(full_name__icontains=q))
    return officials.order_by("region__tree_id", "region__lft", "username"), region, q


@login_required
@account_managers_required
def official_list(request):
    if export_requested(request):
        return export_response(request, official_table)
    officials, region, q = _officials(request)
    page = paginate(request, officials, 25)
    return render(
        request,
        "accounts/official_list.html",
        {"page": page, "region": region, "q": q, "tree_roots": region_tree_root_for(request.user)},
    )


def official_table(request) -> Table:
    """The filtered officials as an export table (also rebuilt by a background job); mobile numbers masked."""
    officials, _region, _q = _officials(request)
    headers = [_("Username"), _("Full name"), _("Region"), _("division code"), _("Level"), _("Mobile phone"),
               _("Status"), _("Last login"), _("created at")]
    levels = {value: str(label) for value, label in RegionLevel.choices}
    deactivated, initial, active = _("Deactivated"), _("Initial password"), _("Active")

    def local(moment):
        return timezone.localtime(moment).replace(tzinfo=None) if moment else None

    def rows():
        for o in officials.iterator(chunk_size=2000):
            status = deactivated if not o.is_active else initial if o.must_change_password else active
            yield [o.username, o.full_name, o.region.name, o.region.code, levels.get(o.region.level, o.region.level),
                   mask_phone(o.phone), status, local(o.last_login), local(o.date_joined)]

    return Table(f"officials-{timezone.localdate():%Y%m%d}.xlsx", headers, rows(), _("Officials"),
                 officials.count())


@login_required
@account_managers_required
def official_create(request):
    regions = (Region.objects.all() if can(request.user, MANAGE_ACCOUNTS) and not request.user.is_official
               else Region.objects.visible_to(request.user).below(request.user.region)).exclude(
        level=RegionLevel.VILLAGE
    )
    if request.method == "POST":
        form = OfficialCreateForm(request.POST, regions=regions)
        if form.is_valid():
            try:
                user, password = services.official_create(actor=request.user, request=request, **form.cleaned_data)
            except (services.AccountError, PermissionDenied) as e:
                form.add_error(None, str(e))
            else:
                return render(
                    request, "accounts/password_shown_once.html", {"account": user, "password": password}
                )
    else:
        form = OfficialCreateForm(regions=regions, initial={"region": request.GET.get("region")})
    return render(request, "accounts/official_form.html", {"form": form})


@login_required
@account_managers_required
def official_detail(request, pk):
    account = get_visible_or_404(User.objects.officials().select_related("region"), request.user, pk=pk)
    can_manage = User.objects.manageable_by(request.user).filter(pk=account.pk).exists()
    events = SecurityEvent.objects.filter(target=account).order_by("-created_at")[:20]
    return render(
        request,
        "accounts/official_detail.html",
        {"account": account, "can_manage": can_manage, "events": events,
         "can_reset_mfa": mfa.can_reset(request.user, account), "has_mfa": mfa.has_authenticator(account)},
    )


def _managed_action(request, pk, action):
    account = get_visible_or_404(User.objects.officials(), request.user, pk=pk)
    try:
        result = action(actor=request.user, target=account, request=request)
    except services.AccountError as e:
        messages.error(request, str(e))
    except PermissionDenied:
        raise
    else:
        return result, account
    return None, account


@require_POST
@login_required
@account_managers_required
def official_deactivate(request, pk):
    result, account = _managed_action(request, pk, services.user_deactivate)
    if result is not None:
        messages.success(request, _("The account %(name)s is deactivated.") % {"name": account.username})
    return redirect("accounts:official-detail", pk=account.pk)


@require_POST
@login_required
@account_managers_required
def official_activate(request, pk):
    result, account = _managed_action(request, pk, services.user_activate)
    if result is not None:
        messages.success(request, _("The account %(name)s is active again.") % {"name": account.username})
    return redirect("accounts:official-detail", pk=account.pk)


@require_POST
@login_required
@account_managers_required
@recent_auth_required
def official_mfa_reset(request, pk):
    """The account enrols a new authenticator at its next login (a lost phone); its sessions end."""
    account = get_visible_or_404(User.objects.officials(), request.user, pk=pk)
    mfa.mfa_reset(actor=request.user, target=account, request=request)
    messages.success(request, _("The second factor of %(name)s is reset: a new authenticator is set up at the next "
                                "login.") % {"name": account.username})
    return redirect("accounts:official-detail", pk=account.pk)


@require_POST
@login_required
@account_managers_required
@recent_auth_required
def official_password_reset(request, pk):
    password, account = _managed_action(request, pk, services.user_password_reset)
    if password is None:
        return redirect("accounts:official-detail", pk=account.pk)
    return render(request, "accounts/password_shown_once.html", {"account": account, "password": password})


# --- Officials reset the passwords of social workers and organizations of their subtree ---------------


def _subject_password_reset(request, account, done_url):
    password = services.subject_password_reset(actor=request.user, target=account, request=request)
    return render(request, "accounts/password_shown_once.html",
                  {"account": account, "password": password, "done_url": done_url})


@require_POST
@login_required
@account_managers_required
@recent_auth_required
def worker_password_reset(request, pk):
    """From the worker's profile page (review queue): scope is the worker's work region."""
    from registration.models import SocialWorker

    worker = get_visible_or_404(SocialWorker.objects.select_related("user"), request.user, pk=pk)
    return _subject_password_reset(request, worker.user, reverse("registration:profile-review", args=[worker.pk]))


@require_POST
@login_required
@account_managers_required
@recent_auth_required
def organization_password_reset(request, pk):
    """From the organization's review page: scope is the organization's region."""
    from registration.models import Organization

    organization = get_visible_or_404(Organization.objects.select_related("account"), request.user, pk=pk)
    return _subject_password_reset(
        request, organization.account, reverse("registration:organization-review", args=[organization.pk])
    )


# --- Region tree (htmx) ----------------------------------------------------------------------


@require_GET
@login_required
def region_children(request, pk):
    """The children of one region, as tree rows for the lazy-loading sidebar."""
    region = get_visible_or_404(Region, request.user, pk=pk)
    children = (
        Region.objects.visible_to(request.user)
        .filter(parent=region)
        .exclude(level=RegionLevel.VILLAGE)
        .order_by("code")
    )
    return render(
        request,
        "includes/region_tree_nodes.html",
        {"nodes": children, "base": _local_path(request.GET.get("base", ""))},
    )


def _local_path(value: str) -> str:
    """Only a path on this site may be the link base of tree nodes (no open redirect): swms.http.safe_local_path."""
    from swms.http import safe_local_path

    return safe_local_path(value)


def region_tree_root_for(user) -> list[Region]:
    """The top of the tree a user sees in the sidebar."""
    if user.is_official:
        return [user.region]
    return list(Region.objects.root_nodes())


_CASCADE_LEVELS = ["province", "city", "county", "town", "village"]


def region_cascade(selected, *, root=None, villages: bool = False) -> list[dict]:
    """The cascading region selects (templates/registration/worker/region_cascade.html), pre-filled
    along `selected`'s path: from the top of the tree down to towns (or villages), or — with `root` —
    from that region (fixed as the first select) down. Each level: depth, options, selected."""
    bottom = "village" if villages else "town"
    top = root.level if root is not None and root.level in _CASCADE_LEVELS else "province"
    count = _CASCADE_LEVELS.index(bottom) - _CASCADE_LEVELS.index(top) + 1
    path = list(selected.get_ancestors(include_self=True)) if selected else []
    if root is not None:
        path = [root] + [r for r in path if root.contains(r) and r.pk != root.pk]
    levels, parent = [], None
    for depth in range(count):
        if depth == 0:
            options = [root] if root is not None else Region.objects.filter(parent=None)
        elif parent is None:
            options = []
        else:
            options = Region.objects.filter(parent=parent)
        if not isinstance(options, list):
            options = options.order_by("code")
            if not villages:
                options = options.exclude(level=RegionLevel.VILLAGE)
        chosen = path[depth] if depth < len(path) else None
        levels.append({"depth": depth, "options": options, "selected": chosen})
        parent = chosen
    return levels
