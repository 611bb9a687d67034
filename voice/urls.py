from django.urls import path

from . import views

A = "a/<slug:agency_slug>/"
ASSISTANT = A + "assistants/<uuid:assistant_id>/"

urlpatterns = [
    path(A, views.dashboard, name="dashboard"),
    path(A + "clients/<uuid:client_id>/dashboard/", views.client_dashboard, name="client_dashboard"),
    path(A + "usage/", views.usage, name="usage"),
    path(A + "usage/export.csv", views.usage_export, name="usage_export"),
    path("c/<uuid:client_id>/", views.client_portal, name="client_portal"),
    path(A + "assistants/", views.assistant_list, name="assistant_list"),
    path(A + "assistants/push-all/", views.assistants_push_all, name="assistants_push_all"),
    path(A + "assistants/new/<uuid:client_id>/", views.assistant_create, name="assistant_create"),
    path(ASSISTANT, views.assistant_detail, name="assistant_detail"),
    path(ASSISTANT + "edit/", views.assistant_update, name="assistant_update"),
    path(ASSISTANT + "delete/", views.assistant_delete, name="assistant_delete"),
    path(ASSISTANT + "preview/", views.assistant_prompt_preview, name="assistant_prompt_preview"),
    path(ASSISTANT + "push/", views.assistant_push, name="assistant_push"),
    path(
        ASSISTANT + "revisions/<uuid:revision_id>/restore/",
        views.assistant_revision_restore,
        name="assistant_revision_restore",
    ),
    path(A + "settings/vapi/", views.vapi_settings, name="vapi_settings"),
    path(A + "vapi/import/", views.vapi_import, name="vapi_import"),
    path(A + "phone-numbers/", views.phone_number_list, name="phone_number_list"),
    path(A + "phone-numbers/<uuid:phone_number_id>/assign/", views.phone_number_assign, name="phone_number_assign"),
    path(A + "calls/", views.call_list, name="call_list"),
    path(A + "calls/export/", views.call_export, name="call_export"),
    path(A + "calls/<uuid:call_id>/", views.call_detail, name="call_detail"),
    path(A + "bookings/", views.booking_list, name="booking_list"),
    path(ASSISTANT + "simulate-call/", views.call_simulate, name="call_simulate"),
    path("c/<uuid:client_id>/calls/<uuid:call_id>/", views.client_call_detail, name="client_call_detail"),
    path("c/<uuid:client_id>/calls/", views.client_call_list, name="client_call_list"),
    path("c/<uuid:client_id>/bookings/", views.client_booking_list, name="client_booking_list"),
]
