urlpatterns = []
app_name = "notices"
