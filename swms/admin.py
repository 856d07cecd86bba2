from django.contrib import admin

from swms.models import ReviewLog


@admin.register(ReviewLog)
class ReviewLogAdmin(admin.ModelAdmin):
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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
