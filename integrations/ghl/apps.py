from django.apps import AppConfig


class GhlConfig(AppConfig):
    name = "integrations.ghl"
    label = "ghl"
    verbose_name = "GoHighLevel"

    def ready(self):
        try:
            from integrations.inbox import register_handler
        except ImportError:
            # The webhook inbox is optional for this app: without it, installs come only through the portal.
            return
        from .services import ghl_install, ghl_uninstall

        register_handler("ghl", "INSTALL", ghl_install)
        register_handler("ghl", "UNINSTALL", ghl_uninstall)
