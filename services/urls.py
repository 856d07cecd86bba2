from .urls_activities import urlpatterns as activity_urls
from .urls_clients import urlpatterns as client_urls
from .urls_summaries import urlpatterns as summary_urls

app_name = "services"

# Station side (clients, activities, summaries of the current station) and officials' read-only views.
urlpatterns = [*client_urls, *activity_urls, *summary_urls]
