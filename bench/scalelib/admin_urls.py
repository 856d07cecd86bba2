"""Plain ModelAdmins (same columns as the app's list pages, 25 per page, same ordering), registered only
for the benchmark, then the project's URLconf. Region scope is passed as MPTT range lookups, which
`lookup_allowed` lets through (e.g. ?station__region__tree_id=1&station__region__lft__gte=..)."""

from django.contrib import admin

from notices.models import Notice
from registration.models import RegistrationApplication, SocialWorker
from services.models import Activity, Client, MonthlySummary
from stations.models import Station, StationWorker


class PerfAdmin(admin.ModelAdmin):
    list_per_page = 25

    def lookup_allowed(self, lookup, value, request=None):
        return True

    def has_add_permission(self, request):
        return False


@admin.register(Client)
class ClientAdmin(PerfAdmin):
    list_display = (
        "name",
        "gender",
        "age",
        "id_number",
        "person_types",
        "filed",
        "source",
        "station_name",
        "station_code",
        "region_name",
    )
    list_select_related = ("station", "station__region")
    search_fields = ("name",)
    list_filter = ("filed", "gender", "source")
    ordering = ("station__code", "-created_at", "-id")

    def station_name(self, o):
        return o.station.name

    def station_code(self, o):
        return o.station.code

    def region_name(self, o):
        return o.station.region.name


@admin.register(Activity)
class ActivityAdmin(PerfAdmin):
    list_display = (
        "code",
        "name",
        "category",
        "status",
        "station_name",
        "region_name",
        "lead_name",
        "started_at",
    )
    list_select_related = ("station", "station__region", "lead_worker")
    search_fields = ("name",)
    list_filter = ("category", "status")
    ordering = ("-started_at", "-id")

    def station_name(self, o):
        return o.station.name

    def region_name(self, o):
        return o.station.region.name

    def lead_name(self, o):
        return o.lead_worker.name


@admin.register(Station)
class StationAdmin(PerfAdmin):
    list_display = ("code", "name", "tier", "region_name", "contact_person", "contact_phone", "founded_on")
    list_select_related = ("region", "account")
    search_fields = ("name",)
    list_filter = ("tier",)
    ordering = ("code",)

    def region_name(self, o):
        return o.region.name


@admin.register(StationWorker)
class StationWorkerAdmin(PerfAdmin):
    list_display = (
        "name",
        "id_number",
        "level",
        "source",
        "station_name",
        "station_code",
        "region_name",
        "left_on",
    )
    list_select_related = ("station", "station__region")
    search_fields = ("name",)
    ordering = ("station__code", "left_on", "-is_head", "name")

    def station_name(self, o):
        return o.station.name

    def station_code(self, o):
        return o.station.code

    def region_name(self, o):
        return o.station.region.name


class ReviewableAdmin(PerfAdmin):
    ordering = ("submitted_at", "pk")
    list_filter = ("status",)


@admin.register(RegistrationApplication)
class ApplicationAdmin(ReviewableAdmin):
    list_display = ("worker_name", "kind", "worker_id_number", "region_name", "submitted_at", "status")
    list_select_related = ("worker", "region", "qualification", "initial_region", "final_region")
    search_fields = ("worker__name",)

    def worker_name(self, o):
        return o.worker.name

    def worker_id_number(self, o):
        return o.worker.id_number

    def region_name(self, o):
        return o.region.name


@admin.register(SocialWorker)
class SocialWorkerAdmin(ReviewableAdmin):
    list_display = ("name", "id_number", "region_name", "submitted_at", "status")
    list_select_related = ("work_region", "initial_region", "final_region")
    search_fields = ("name",)

    def region_name(self, o):
        return o.work_region.name if o.work_region_id else ""


@admin.register(MonthlySummary)
class SummaryAdmin(ReviewableAdmin):
    list_display = ("station_name", "month", "station_code", "region_name", "submitted_at", "status")
    list_select_related = ("station", "station__region", "initial_region", "final_region")
    search_fields = ("station__name",)

    def station_name(self, o):
        return o.station.name

    def station_code(self, o):
        return o.station.code

    def region_name(self, o):
        return o.station.region.name


@admin.register(Notice)
class NoticeAdmin(PerfAdmin):
    list_display = ("title", "category", "status", "published_at", "sender_region")
    list_select_related = ("sender_region",)
    search_fields = ("title",)
    ordering = ("-published_at", "-created_at")


from accounts.admin import SwmsUserAdmin  # noqa: E402
from accounts.models import User  # noqa: E402

admin.site.unregister(User)


@admin.register(User)
class PerfUserAdmin(SwmsUserAdmin):
    """The project's user admin, with region-range lookups let through for the same scope."""

    list_per_page = 25

    def lookup_allowed(self, lookup, value, request=None):
        return True


# Every other model a measured page lists (registry, certificates, spot checks, every review queue):
# a plain changelist with the model's own ordering.
from registration.models import Certificate, Registration  # noqa: E402
from spotchecks.models import SpotCheckBatch, SpotCheckItem  # noqa: E402
from swms.review_queues import all_queues  # noqa: E402

for _model in [Registration, Certificate, SpotCheckBatch, SpotCheckItem, *(q.model for q in all_queues())]:
    if not admin.site.is_registered(_model):
        admin.site.register(_model, type(f"{_model.__name__}PerfAdmin", (PerfAdmin,), {}))

from swms.urls import handler404, handler500, urlpatterns  # noqa: E402,F401
