from django.apps import apps
from django.contrib import admin

from swms.models import ReviewLog


class ReadOnlyAdmin(admin.ModelAdmin):
    """Audit trails are evidence: nobody adds, changes or deletes a row here (PostgreSQL refuses it as well);
    who may read them is the model's view_ permission — the security auditor's (三员, accounts/operator_roles.py)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ReviewLog)
class ReviewLogAdmin(ReadOnlyAdmin):
    """Read-only: the review log is an audit trail, written only by swms.workflow.transition."""

    list_display = [
        "created_at",
        "action",
        "step",
        "from_state",
        "to_state",
        "actor",
        "actor_region",
        "content_type",
        "object_id",
    ]
    list_filter = ["action", "step", "content_type"]
    search_fields = ["comment", "actor__username", "actor__full_name"]
    list_select_related = ["actor", "actor_region", "content_type"]
    date_hierarchy = "created_at"


class HistoryRecordAdmin(ReadOnlyAdmin):
    """One simple_history table (who changed what, when): read by the auditor."""

    list_display = ["history_date", "history_type", "history_user", "__str__"]
    list_filter = ["history_type"]
    list_select_related = ["history_user"]
    date_hierarchy = "history_date"


class HistoryLinkAdmin(ReadOnlyAdmin):
    """The m2m links of a history record (simple_history's m2m_fields tables): they have no date of their own."""

    list_display = ["history", "__str__"]
    list_select_related = ["history"]


def _register_history_tables():
    for model in apps.get_models():
        if model.__name__.startswith("Historical") and hasattr(model, "history_id") \
                and not admin.site.is_registered(model):
            admin.site.register(model, HistoryRecordAdmin if hasattr(model, "history_date") else HistoryLinkAdmin)


_register_history_tables()
