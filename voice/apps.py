from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"
    verbose_name = "Voice assistants and calls"

    def ready(self):
        # Imported here: these modules import models, which load only once the app registry is ready.
        from integrations.inbox import ANY_TYPE, register_handler
        from voice.bookings.services import booking_sync_from_ghl
        from voice.calls.ingest import vapi_message_process
        from voice.live.setup import receivers_connect
        from voice.proof.services import proof_appointment_changed

        # Every stored Vapi message converges the Call; unknown types too (they still name the call).
        register_handler("vapi", ANY_TYPE, vapi_message_process)
        for event_type in ("AppointmentCreate", "AppointmentUpdate", "AppointmentDelete"):
            register_handler("ghl", event_type, booking_sync_from_ghl)
            # After the booking follows the appointment: the calls that spoke of it are proven again.
            register_handler("ghl", event_type, proof_appointment_changed)
        receivers_connect()
