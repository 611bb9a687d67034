from django.urls import path

from . import views

urlpatterns = [
    path("integrations/ghl/callback/", views.oauth_callback, name="ghl_oauth_callback"),
    path("connect/<str:token>/", views.consent, name="ghl_consent"),
    path("a/<slug:agency_slug>/connections/", views.connection_list, name="ghl_connection_list"),
    path("a/<slug:agency_slug>/connections/install/", views.company_install, name="ghl_company_install"),
    path("a/<slug:agency_slug>/connections/locations/", views.installed_locations, name="ghl_installed_locations"),
    path("a/<slug:agency_slug>/settings/ghl/", views.app_settings, name="ghl_app_settings"),
    path("a/<slug:agency_slug>/clients/<uuid:client_id>/ghl/connect/", views.client_connect, name="ghl_client_connect"),
    path(
        "a/<slug:agency_slug>/clients/<uuid:client_id>/ghl/consent-link/",
        views.consent_link_create,
        name="ghl_consent_link_create",
    ),
    path(
        "a/<slug:agency_slug>/clients/<uuid:client_id>/ghl/disconnect/",
        views.client_disconnect,
        name="ghl_client_disconnect",
    ),
    path(
        "a/<slug:agency_slug>/clients/<uuid:client_id>/ghl/adopt/",
        views.client_location_adopt,
        name="ghl_client_location_adopt",
    ),
    path(
        "a/<slug:agency_slug>/clients/<uuid:client_id>/ghl/private-token/",
        views.private_token_connect,
        name="ghl_private_token",
    ),
]
