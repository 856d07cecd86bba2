from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from mptt.admin import MPTTModelAdmin
from simple_history.admin import SimpleHistoryAdmin

from .models import Region, SecurityEvent, User


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


@admin.register(User)
class SwmsUserAdmin(SimpleHistoryAdmin, UserAdmin):
    list_display = ("username", "full_name", "kind", "region", "is_active", "last_login")
    list_filter = ("kind", "is_active", "is_superuser")
    search_fields = ("username", "full_name", "phone", "email")
    raw_id_fields = ("region", "created_by")
    fieldsets = (
        *UserAdmin.fieldsets,
        ("SWMS", {"fields": ("kind", "full_name", "phone", "id_number", "region", "must_change_password",
                             "password_changed_at", "created_by")}),
    )


@admin.register(SecurityEvent)
class SecurityEventAdmin(admin.ModelAdmin):
    """The security log is evidence: read-only for everyone, including superusers."""

    list_display = ("created_at", "kind", "username", "actor", "ip_address", "success")
    list_filter = ("kind", "success")
    search_fields = ("username",)
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
