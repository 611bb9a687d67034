from django.urls import path

from . import views

urlpatterns = [
    path("a/<slug:agency_slug>/events/", views.webhook_event_list, name="webhook_event_list"),
    path("a/<slug:agency_slug>/events/<uuid:event_id>/retry/", views.webhook_event_retry, name="webhook_event_retry"),
    path("a/<slug:agency_slug>/jobs/<uuid:job_id>/", views.job_detail, name="job_detail"),
    path("a/<slug:agency_slug>/jobs/<uuid:job_id>/download/", views.job_download, name="job_download"),
]
