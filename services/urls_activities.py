from django.urls import path, register_converter

from . import views_activities as views
from .categories import CATEGORIES


class CategoryConverter:
    """Only the seven declared categories match: any other word is a 404 before a view runs."""

    regex = "|".join(str(key) for key in CATEGORIES)

    def to_python(self, value):
        return value

    def to_url(self, value):
        return str(value)


register_converter(CategoryConverter, "activity_category")

urlpatterns = [
    path("activities/", views.activity_overview, name="activity-overview"),
    path("activities/clients/", views.activity_client_search, name="activity-client-search"),
    path("activities/item/<int:pk>/", views.activity_detail, name="activity-detail"),
    path("activities/item/<int:pk>/edit/", views.activity_edit, name="activity-edit"),
    path("activities/item/<int:pk>/delete/", views.activity_delete_view, name="activity-delete"),
    path("activities/<activity_category:category>/", views.activity_list, name="activity-list"),
    path("activities/<activity_category:category>/new/", views.activity_new, name="activity-new"),
    path("official/activities/", views.official_activity_list, name="official-activity-list"),
    path("official/activities/<int:pk>/", views.official_activity_detail, name="official-activity-detail"),
]
