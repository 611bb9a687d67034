from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"
    verbose_name = "Voice assistants and calls"

    def ready(self):
        from integrations.inbox import ANY_TYPE, register_handler

        from . import bookings, live, live_setup

        # Every stored Vapi message converges the Call; unknown types too (they still name the call).
        register_handler("vapi", ANY_TYPE, live.vapi_message_process)
        for event_type in ("AppointmentCreate", "AppointmentUpdate", "AppointmentDelete"):
            register_handler("ghl", event_type, bookings.booking_sync_from_ghl)
        live_setup.receivers_connect()
