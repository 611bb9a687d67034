"""Bench-only URLconf: the project's URLs plus a trivial JSON view to measure the endpoints against."""

from django.http import JsonResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt  # posted to exactly like the Vapi endpoint, which is CSRF-exempt too
def ping(request):
    return JsonResponse({"ok": True})


urlpatterns = [
    path("bench/ping/", ping),
    path("", include("agencyhub.urls")),
]
