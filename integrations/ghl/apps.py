from django.apps import AppConfig


class GhlConfig(AppConfig):
    name = "integrations.ghl"
    label = "ghl"
    verbose_name = "GoHighLevel"

    def ready(self):
        from integrations.ghl.services import ghl_install, ghl_location_update, ghl_uninstall
        from integrations.inbox import register_handler

        register_handler("ghl", "INSTALL", ghl_install)
        register_handler("ghl", "UNINSTALL", ghl_uninstall)
        register_handler("ghl", "LocationUpdate", ghl_location_update)
