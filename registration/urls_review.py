from django.urls import path

from . import views_review as v

urlpatterns = [
    path("review/", v.application_queue, name="review-queue"),
    path("review/<int:pk>/", v.application_detail, name="review-detail"),
    path("review/<int:pk>/decide/", v.application_decide, name="review-decide"),
    path("review/profiles/", v.profile_queue, name="profile-queue"),
    path("review/profiles/<int:pk>/", v.profile_detail, name="profile-review"),
    path("review/profiles/<int:pk>/decide/", v.profile_decide, name="profile-decide"),
    path("review/corrections/", v.correction_queue, name="correction-queue"),
    path("review/corrections/<int:pk>/", v.correction_detail, name="correction-review"),
    path("review/corrections/<int:pk>/decide/", v.correction_decide, name="correction-decide"),
    path("review/ce/", v.ce_queue, name="ce-queue"),
    path("review/ce/<int:pk>/", v.ce_detail, name="ce-review"),
    path("review/ce/<int:pk>/decide/", v.ce_decide, name="ce-decide"),
    path("review/restores/", v.restore_queue, name="restore-queue"),
    path("review/restores/<int:pk>/", v.restore_detail, name="restore-review"),
    path("review/restores/<int:pk>/decide/", v.restore_decide, name="restore-decide"),
    path("review/replacements/", v.replacement_queue, name="replacement-queue"),
    path("review/replacements/<int:pk>/", v.replacement_detail, name="replacement-review"),
    path("review/replacements/<int:pk>/decide/", v.replacement_decide, name="replacement-decide"),
    path("review/courseware/", v.courseware_queue, name="courseware-queue"),
    path("review/courseware/new/", v.courseware_edit, name="courseware-new"),
    path("review/courseware/<int:pk>/", v.courseware_detail, name="courseware-review"),
    path("review/courseware/<int:pk>/edit/", v.courseware_edit, name="courseware-edit"),
    path("review/courseware/<int:pk>/decide/", v.courseware_decide, name="courseware-decide"),
    path("windows/", v.window_list, name="window-list"),
    path("windows/new/", v.window_edit, name="window-create"),
    path("windows/<int:pk>/", v.window_edit, name="window-edit"),
]
