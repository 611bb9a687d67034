from django.urls import path

from . import views

urlpatterns = [
    path("a/<slug:agency_slug>/events/", views.webhook_event_list, name="webhook_event_list"),
    path("a/<slug:agency_slug>/events/<uuid:event_id>/retry/", views.webhook_event_retry, name="webhook_event_retry"),
]
