from django.urls import path

from .api import VapiServerUrlView

urlpatterns = [
    path("<uuid:agency_id>/", VapiServerUrlView.as_view(), name="vapi_server_url"),
]
