
from .urls_guides import urlpatterns as guide_urlpatterns
from .urls_org import urlpatterns as org_urlpatterns
from .urls_registry import urlpatterns as registry_urlpatterns
from .urls_review import urlpatterns as review_urlpatterns
from .urls_worker import urlpatterns as worker_urlpatterns

app_name = "registration"

# Worker-side pages (sign-up, profile, applications, histories), the registration guide and FAQ,
# organizations' pages, officials' review pages and the officials' registry.
urlpatterns = [*worker_urlpatterns, *guide_urlpatterns, *org_urlpatterns, *review_urlpatterns, *registry_urlpatterns]
