from django.urls import path

from .webhooks import ghl_webhook

urlpatterns = [
    path("", ghl_webhook, name="ghl_webhook"),
]
