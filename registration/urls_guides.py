from django.urls import path

from . import views_guides as v
from .models import GuideKind

# The registration guide and FAQ: readable by anyone (the sign-up page links them), edited by the province.
urlpatterns = [
    path("guide/", v.guide, {"kind": GuideKind.GUIDE}, name="guide"),
    path("faq/", v.guide, {"kind": GuideKind.FAQ}, name="faq"),
    path("guide/edit/", v.guide_edit, {"kind": GuideKind.GUIDE}, name="guide-edit"),
    path("faq/edit/", v.guide_edit, {"kind": GuideKind.FAQ}, name="faq-edit"),
]
