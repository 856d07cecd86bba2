from django.urls import path

from . import views, views_notices

app_name = "notices"

urlpatterns = [
    # 我的消息
    path("", views.inbox, name="inbox"),
    path("<int:pk>/", views.message_detail, name="message"),
    path("read-all/", views.mark_all_read, name="mark-all-read"),
    # 通知公告: receive list and reading
    path("notices/", views_notices.received_list, name="received"),
    path("notices/<int:pk>/", views_notices.notice_detail, name="notice-detail"),
    path("notices/attachments/<int:pk>/", views_notices.attachment, name="attachment"),
    # 通知公告: the office's send list, composer and actions
    path("notices/sent/", views_notices.sent_list, name="sent"),
    path("notices/new/", views_notices.notice_edit, name="notice-new"),
    path("notices/preview/", views_notices.notice_preview, name="notice-preview"),
    path("notices/sent/<int:pk>/", views_notices.sent_detail, name="sent-detail"),
    path("notices/sent/<int:pk>/edit/", views_notices.notice_edit, name="notice-edit"),
    path("notices/sent/<int:pk>/publish/", views_notices.notice_publish, name="notice-publish"),
    path("notices/sent/<int:pk>/withdraw/", views_notices.notice_withdraw, name="notice-withdraw"),
    path("notices/sent/<int:pk>/remind/", views_notices.notice_remind, name="notice-remind"),
]
