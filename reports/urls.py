from django.urls import path

from . import views, views_review

app_name = "reports"

urlpatterns = [
    path("", views.workbench, name="workbench"),
    path("station/", views.station_workbench_view, name="station-workbench"),
    path("statistics/", views.statistics_view, name="statistics"),
    path("statistics/<int:pk>/", views.statistics_view, name="statistics-region"),
    path("review-oversight/", views_review.review_dashboard_view, name="review-dashboard"),
]
