from django.urls import path

from integrations.ghl import sandbox_views

app_name = "ghl_sandbox"

urlpatterns = [
    path("oauth/chooselocation", sandbox_views.chooselocation, name="chooselocation"),
    path("appointments/", sandbox_views.appointments, name="appointments"),
]
