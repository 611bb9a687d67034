from django.urls import path

from integrations.vapi import sandbox_views

app_name = "vapi_sandbox"

urlpatterns = [
    path("recordings/<uuid:call_id>.wav", sandbox_views.recording, name="recording"),
]
