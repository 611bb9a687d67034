from django.apps import AppConfig


class GhlConfig(AppConfig):
    name = "integrations.ghl"
    label = "ghl"
    verbose_name = "GoHighLevel"

    def ready(self):
        # Models are ready only now, so these imports cannot sit at the top of the module.
        from integrations.ghl.services import ghl_install, ghl_location_update, ghl_uninstall
        from integrations.ghl.signals import receivers_connect
        from integrations.inbox import register_handler

        receivers_connect()

        register_handler("ghl", "INSTALL", ghl_install)
        register_handler("ghl", "UNINSTALL", ghl_uninstall)
        register_handler("ghl", "LocationUpdate", ghl_location_update)
