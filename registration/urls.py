
from .urls_review import urlpatterns as review_urlpatterns
from .urls_worker import urlpatterns as worker_urlpatterns

app_name = "registration"

# Worker-side pages (sign-up, profile, applications, histories) and officials' review pages.
urlpatterns = [*worker_urlpatterns, *review_urlpatterns]
