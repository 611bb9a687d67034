from django.shortcuts import render

from tenants.access import agency_view
from tenants.selectors import client_list


@agency_view()
def dashboard(request):
    context = {"client_count": client_list(agency=request.agency).count()}
    return render(request, "voice/dashboard.html", context)


@agency_view()
def assistant_list(request):
    return render(request, "voice/assistant_list.html")


@agency_view()
def call_list(request):
    return render(request, "voice/call_list.html")


@agency_view()
def booking_list(request):
    return render(request, "voice/booking_list.html")
