from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.forms import UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _
from mptt.admin import MPTTModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from swms.admin import ReadOnlyAdmin

from .models import Region, SecurityEvent, User

# 三员分立: roles are the operator_role field (accounts/operator_roles.py), never Groups or per-user permissions,
# which could give one account two roles' powers. Neither is offered in the admin.
if admin.site.is_registered(Group):
    admin.site.unregister(Group)


@admin.register(Region)
class RegionAdmin(MPTTModelAdmin):
    list_display = ("name", "code", "level")
    search_fields = ("name", "code")
    list_filter = ("level",)
    # Regions are loaded with `manage.py import_regions`; the admin only reads and renames.
    readonly_fields = ("code", "parent")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OperatorUserChangeForm(UserChangeForm):
    def clean(self):
        data = super().clean()
        if data.get("operator_role") and (data.get("kind") or data.get("region")):
            raise forms.ValidationError(
                _("An operator role is the account's only role: clear the account type and region first."))
        return data


# Role fields: who may never change them on their own account.
ROLE_FIELDS = ("kind", "region", "operator_role", "is_active")


@admin.register(User)
class SwmsUserAdmin(SimpleHistoryAdmin, UserAdmin):
    """Accounts: the security administrator's (三员). No superuser flag, no groups, no per-user permissions;
    operators get their powers from `operator_role` alone, and nobody changes their own role."""

    form = OperatorUserChangeForm
    list_display = ("username", "full_name", "kind", "operator_role", "region", "is_active", "last_login")
    list_filter = ("kind", "operator_role", "is_active")
    search_fields = ("username", "full_name", "=phone", "=id_number", "email")  # encrypted: whole numbers only
    raw_id_fields = ("region", "created_by")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("full_name", "email", "phone", "id_number")}),
        (_("Role"), {"fields": ("kind", "region", "operator_role", "is_active")}),
        (_("Password and dates"), {"fields": ("must_change_password", "password_changed_at", "last_login",
                                               "date_joined", "created_by")}),
    )
    readonly_fields = ("last_login", "date_joined", "password_changed_at", "created_by")
    actions = ["end_sessions"]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None and obj.pk == request.user.pk:
            return (*fields, *ROLE_FIELDS)
        return fields

    def save_model(self, request, obj, form, change):
        from .services import security_event_record

        if change and obj.pk == request.user.pk and any(f in form.changed_data for f in ROLE_FIELDS):
            raise PermissionDenied  # unreachable through the form: the fields are read-only
        # The admin is where operators work: staff exactly when holding a role, never superuser.
        obj.is_staff = bool(obj.operator_role)
        obj.is_superuser = False
        if not change:
            obj.created_by = request.user
            obj.must_change_password = True
        super().save_model(request, obj, form, change)
        changed = [f for f in ("kind", "region", "operator_role") if f in form.changed_data]
        if changed:
            security_event_record(
                kind=SecurityEvent.Kind.ROLE_CHANGED, request=request, actor=request.user, target=obj,
                username=obj.get_username(), success=True,
                detail="; ".join(f"{f}: {form.initial.get(f) or '-'} -> {form.cleaned_data.get(f) or '-'}"
                                 for f in changed),
            )

    def user_change_password(self, request, id, form_url=""):
        """Setting another account's password here is a reset by the security administrator: logged, and the
        holder must change it at the next login (every session of theirs ends with the old password hash)."""
        from django.contrib.admin.utils import unquote

        from .services import security_event_record

        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            target = self.get_object(request, unquote(id))
            if target is not None and target.pk != request.user.pk:
                User.objects.filter(pk=target.pk).update(must_change_password=True)
                security_event_record(kind=SecurityEvent.Kind.PASSWORD_RESET, request=request, actor=request.user,
                                      target=target, success=True, detail="by security administrator (admin)")
        return response

    @admin.action(description=_("End the sessions of the selected accounts"), permissions=["change"])
    def end_sessions(self, request, queryset):
        from .services import sessions_end_for

        ended = sum(sessions_end_for(user) for user in queryset.exclude(pk=request.user.pk))
        self.message_user(request, _("%(count)d sessions ended.") % {"count": ended}, messages.SUCCESS)


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    """The security log is evidence: read-only for everyone; the auditor alone reads it (三员), and checks its
    hash chain from here (the result of `manage.py verify_audit_chain`)."""

    change_list_template = "admin/accounts/securityevent/change_list.html"

    def get_urls(self):
        from django.urls import path

        return [path("verify-chain/", self.admin_site.admin_view(self.verify_chain_view),
                     name="accounts_securityevent_verify_chain"), *super().get_urls()]

    def verify_chain_view(self, request):
        from django.template.response import TemplateResponse

        from .audit_chain import verify

        if not self.has_view_permission(request):
            raise PermissionDenied
        checked, broken = verify()
        return TemplateResponse(request, "admin/accounts/securityevent/verify_chain.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "title": _("Audit chain"),
            "checked": checked, "broken": broken,
        })

    list_display = ("created_at", "kind", "username", "actor", "ip_address", "success")
    list_filter = ("kind", "success")
    search_fields = ("username",)
    date_hierarchy = "created_at"


class LockoutAdmin(AccessAttemptAdmin):
    """axes' lockouts: the security administrator unlocks (deletes the attempt row), the auditor only reads;
    axes' clean-up action deletes too, so it needs the delete permission like any deletion."""

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not self.has_delete_permission(request):
            actions.pop("cleanup_expired_attempts", None)
        return actions


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
    admin.site.register(AccessAttempt, LockoutAdmin)
