from django.urls import path

from swms.review_queues import review_urls

from . import views_summaries as v
from .queues import QUEUES

urlpatterns = [
    path("summaries/", v.summary_list, name="summary-list"),
    path("summaries/new/", v.summary_new, name="summary-new"),
    path("summaries/<int:pk>/", v.summary_detail, name="summary-detail"),
    path("summaries/<int:pk>/edit/", v.summary_edit, name="summary-edit"),
    path("summaries/<int:pk>/document/", v.summary_document, name="summary-document"),
    path("summaries/completeness/", v.summary_completeness, name="summary-completeness"),
    # Officials' queue, detail and decision (review/summaries/…).
    *review_urls(QUEUES),
]
