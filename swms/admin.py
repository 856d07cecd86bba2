from django.apps import apps
from django.contrib import admin

from swms.models import BeatHeartbeat, OutboxTask, ReviewLog, WorkerHeartbeat


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


@admin.register(OutboxTask)
class OutboxTaskAdmin(ReadOnlyAdmin):
    """Tasks queued by the web (swms/outbox.py): pending ones (no "sent at") wait for the broker."""

    list_display = ["id", "task", "created_at", "sent_at", "attempts", "last_attempt_at", "last_error"]
    list_filter = [("sent_at", admin.EmptyFieldListFilter), "task"]
    search_fields = ["task", "task_id"]
    date_hierarchy = "created_at"


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdmin):
    """Each Celery worker's last heartbeat (swms/heartbeats.py); `manage.py celery_status` says which are lost."""

    list_display = ["hostname", "last_seen_at", "queues", "pid", "concurrency", "started_at", "stopped_at"]


@admin.register(BeatHeartbeat)
class BeatHeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["sent_at", "ran_at", "ran_by"]


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
