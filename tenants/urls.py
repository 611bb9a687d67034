from django.urls import path

from . import views

urlpatterns = [
    path("", views.home, name="home"),
    path("agencies/new/", views.agency_create, name="agency_create"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("a/<slug:agency_slug>/clients/", views.client_list, name="client_list"),
    path("a/<slug:agency_slug>/clients/new/", views.client_create, name="client_create"),
    path("a/<slug:agency_slug>/clients/<uuid:client_id>/edit/", views.client_edit, name="client_edit"),
    path("a/<slug:agency_slug>/clients/<uuid:client_id>/invite/", views.client_invite, name="client_invite"),
    path("a/<slug:agency_slug>/team/", views.team, name="team"),
    path("a/<slug:agency_slug>/team/invite/", views.team_invite, name="team_invite"),
    path("a/<slug:agency_slug>/team/<uuid:membership_id>/role/", views.member_role, name="member_role"),
    path("a/<slug:agency_slug>/team/<uuid:membership_id>/remove/", views.member_remove, name="member_remove"),
    path(
        "a/<slug:agency_slug>/invitations/<uuid:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
    path("a/<slug:agency_slug>/settings/", views.agency_settings, name="agency_settings"),
    path("a/<slug:agency_slug>/settings/api-keys/", views.api_key_create, name="api_key_create"),
    path(
        "a/<slug:agency_slug>/settings/api-keys/<uuid:api_key_id>/revoke/",
        views.api_key_revoke,
        name="api_key_revoke",
    ),
]
