from django.apps import AppConfig


class GhlConfig(AppConfig):
    name = "integrations.ghl"
    label = "ghl"
    verbose_name = "GoHighLevel"
