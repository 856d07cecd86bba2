from django.urls import path

from swms.review_queues import review_urls

from . import views_review as v
from .queues import QUEUES

urlpatterns = [
    *review_urls(QUEUES),
    path("review/courseware/new/", v.courseware_edit, name="courseware-new"),
    path("review/courseware/<int:pk>/edit/", v.courseware_edit, name="courseware-edit"),
    path("windows/", v.window_list, name="window-list"),
    path("windows/new/", v.window_edit, name="window-create"),
    path("windows/<int:pk>/", v.window_edit, name="window-edit"),
]
