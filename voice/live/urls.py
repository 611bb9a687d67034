from django.urls import path

from voice.live.api import VapiServerUrlView

urlpatterns = [
    path("<uuid:agency_id>/", VapiServerUrlView.as_view(), name="vapi_server_url"),
]
