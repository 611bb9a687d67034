from django.contrib import admin
from django.urls import include, path

from .health import healthz

admin.site.site_header = "AgencyHub platform admin"

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("tenants.urls")),
    path("", include("voice.urls")),
]
