from django.urls import path

from voice.assistants import vapi_org_views as vapi_org_views
from voice.assistants import views as assistants_views
from voice.bookings import views as bookings_views
from voice.calls import views as calls_views
from voice.calltests import views as calltests_views
from voice.dashboards import views as dashboards_views
from voice.kept import views as kept_views
from voice.messaging import views as messaging_views
from voice.reports import views as reports_views
from voice.simulator import views as simulator_views
from voice.watchdog import views as watchdog_views
from voice.writeback import views as writeback_views

A = "a/<slug:agency_slug>/"
ASSISTANT = A + "assistants/<uuid:assistant_id>/"

urlpatterns = [
    path(A, dashboards_views.dashboard, name="dashboard"),
    path(A + "clients/<uuid:client_id>/", dashboards_views.client_detail, name="client_detail"),
    path(A + "clients/<uuid:client_id>/dashboard/", dashboards_views.client_dashboard, name="client_dashboard"),
    path(A + "clients/<uuid:client_id>/services/", kept_views.client_service_values, name="client_service_values"),
    path(A + "clients/<uuid:client_id>/messaging/", messaging_views.client_messaging, name="client_messaging"),
    path(A + "clients/<uuid:client_id>/messaging/texts/", messaging_views.client_texts, name="client_texts"),
    path(A + "clients/<uuid:client_id>/write-back/", writeback_views.client_writeback, name="client_writeback"),
    path(A + "usage/", dashboards_views.usage, name="usage"),
    path(A + "usage/export.csv", dashboards_views.usage_export, name="usage_export"),
    path("c/<uuid:client_id>/", dashboards_views.client_portal, name="client_portal"),
    path(A + "assistants/", assistants_views.assistant_list, name="assistant_list"),
    path(A + "assistants/push-all/", assistants_views.assistants_push_all, name="assistants_push_all"),
    path(A + "assistants/new/<uuid:client_id>/", assistants_views.assistant_create, name="assistant_create"),
    path(ASSISTANT, assistants_views.assistant_detail, name="assistant_detail"),
    path(ASSISTANT + "edit/", assistants_views.assistant_update, name="assistant_update"),
    path(ASSISTANT + "delete/", assistants_views.assistant_delete, name="assistant_delete"),
    path(ASSISTANT + "preview/", assistants_views.assistant_prompt_preview, name="assistant_prompt_preview"),
    path(ASSISTANT + "push/", assistants_views.assistant_push, name="assistant_push"),
    path(
        ASSISTANT + "revisions/<uuid:revision_id>/restore/",
        assistants_views.assistant_revision_restore,
        name="assistant_revision_restore",
    ),
    path(A + "settings/vapi/", vapi_org_views.vapi_settings, name="vapi_settings"),
    path(A + "vapi/import/", vapi_org_views.vapi_import, name="vapi_import"),
    path(A + "phone-numbers/", vapi_org_views.phone_number_list, name="phone_number_list"),
    path(
        A + "phone-numbers/<uuid:phone_number_id>/assign/",
        vapi_org_views.phone_number_assign,
        name="phone_number_assign",
    ),
    path(A + "calls/", calls_views.call_list, name="call_list"),
    path(A + "calls/export/", calls_views.call_export, name="call_export"),
    path(A + "calls/client-picker/", calls_views.client_picker, name="client_picker"),
    path(A + "calls/assistant-picker/", calls_views.assistant_picker, name="assistant_picker"),
    path(A + "calls/<uuid:call_id>/", calls_views.call_detail, name="call_detail"),
    path(A + "calls/<uuid:call_id>/save-test/", calltests_views.call_test_create, name="call_test_create"),
    path(ASSISTANT + "tests/", calltests_views.call_test_list, name="call_test_list"),
    path(ASSISTANT + "tests/run/", calltests_views.call_tests_run, name="call_tests_run"),
    path(ASSISTANT + "push-checks/<uuid:check_id>/", calltests_views.assistant_push_check, name="assistant_push_check"),
    path(A + "call-tests/<uuid:test_id>/", calltests_views.call_test_detail, name="call_test_detail"),
    path(A + "call-tests/<uuid:test_id>/run/", calltests_views.call_test_run, name="call_test_run"),
    path(A + "call-tests/<uuid:test_id>/delete/", calltests_views.call_test_delete, name="call_test_delete"),
    path(A + "bookings/", bookings_views.booking_list, name="booking_list"),
    path(A + "alerts/", watchdog_views.alert_list, name="alert_list"),
    path(A + "alerts/settings/", watchdog_views.alert_settings, name="alert_settings"),
    path(
        A + "alerts/<uuid:incident_id>/acknowledge/",
        watchdog_views.incident_acknowledge,
        name="incident_acknowledge",
    ),
    path(ASSISTANT + "simulate-call/", simulator_views.call_simulate, name="call_simulate"),
    path("c/<uuid:client_id>/calls/<uuid:call_id>/", calls_views.client_call_detail, name="client_call_detail"),
    path("c/<uuid:client_id>/calls/", calls_views.client_call_list, name="client_call_list"),
    path("c/<uuid:client_id>/bookings/", bookings_views.client_booking_list, name="client_booking_list"),
    path("c/<uuid:client_id>/report/", reports_views.client_report, name="client_report"),
]
