from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from tenants.api import ClientListApi
from voice.api import BookingListApi, CallDetailApi, CallListApi
from voice.kept.api import ClientSummaryApi
from voice.proof.api import ProofSummaryApi

from .health import healthz

admin.site.site_header = "AgencyHub platform admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/webhooks/ghl/", include("integrations.ghl.webhook_urls")),
    path("api/webhooks/vapi/", include("voice.live.urls")),
    path("api/v1/clients/", ClientListApi.as_view(), name="api_client_list"),
    path("api/v1/clients/<uuid:client_id>/summary/", ClientSummaryApi.as_view(), name="api_client_summary"),
    path("api/v1/calls/", CallListApi.as_view(), name="api_call_list"),
    path("api/v1/calls/<uuid:call_id>/", CallDetailApi.as_view(), name="api_call_detail"),
    path("api/v1/bookings/", BookingListApi.as_view(), name="api_booking_list"),
    path("api/v1/proof/", ProofSummaryApi.as_view(), name="api_proof_summary"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("", include("tenants.urls")),
    path("", include("integrations.ghl.urls")),
    path("", include("integrations.urls")),
    path("", include("voice.urls")),
]

if settings.SANDBOX:
    urlpatterns.append(path("sandbox/ghl/", include("integrations.ghl.sandbox_urls")))
    urlpatterns.append(path("sandbox/vapi/", include("integrations.vapi.sandbox_urls")))
