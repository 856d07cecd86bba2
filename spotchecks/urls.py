from django.urls import path

from swms.review_queues import review_urls

from . import views as v
from .queues import QUEUES

app_name = "spotchecks"

urlpatterns = [
    *review_urls(QUEUES),
    path("", v.batch_list, name="batch-list"),
    path("new/", v.batch_new, name="batch-new"),
    path("<int:pk>/", v.batch_detail, name="batch-detail"),
    path("<int:pk>/report/", v.batch_report_view, name="batch-report"),
    path("items/<int:pk>/", v.item_detail, name="item-detail"),
    path("items/<int:pk>/result/", v.item_result, name="item-result"),
    path("rectifications/", v.rectification_list, name="rectification-list"),
    path("rectifications/<int:pk>/answer/", v.rectification_answer, name="rectification-answer"),
]
