from django.urls import path

from . import views

urlpatterns = [
    path("a/<slug:agency_slug>/", views.dashboard, name="dashboard"),
    path("a/<slug:agency_slug>/assistants/", views.assistant_list, name="assistant_list"),
    path("a/<slug:agency_slug>/calls/", views.call_list, name="call_list"),
    path("a/<slug:agency_slug>/bookings/", views.booking_list, name="booking_list"),
]
