from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"
    verbose_name = "Voice assistants and calls"

    def ready(self):
        # Imported here: these modules import models, which load only once the app registry is ready.
        from integrations.inbox import ANY_TYPE, register_batch_handler, register_handler
        from integrations.jobs import register_job_runner
        from tenants.signals import call_start_changed
        from voice.assistants.services import client_call_start_changed
        from voice.assistants.tasks import assistants_import_task, assistants_push_task
        from voice.bookings.services import booking_sync_from_ghl
        from voice.calls.ingest import vapi_message_process, vapi_reports_process
        from voice.calls.tasks import call_export_task
        from voice.calltests.tasks import assistant_push_check_task, call_tests_run_task
        from voice.live.setup import receivers_connect
        from voice.proof.services import proof_appointment_changed

        # Every stored Vapi message converges the Call; unknown types too (they still name the call).
        register_handler("vapi", ANY_TYPE, vapi_message_process)
        # A drained batch's end-of-call reports are stored together (each alone again if that fails).
        register_batch_handler("vapi", vapi_reports_process, replaces=vapi_message_process)
        for event_type in ("AppointmentCreate", "AppointmentUpdate", "AppointmentDelete"):
            register_handler("ghl", event_type, booking_sync_from_ghl)
            # After the booking follows the appointment: the calls that spoke of it are proven again.
            register_handler("ghl", event_type, proof_appointment_changed)
        receivers_connect()
        call_start_changed.connect(client_call_start_changed, dispatch_uid="voice_client_call_start_changed")
        # The jobs sweeper enqueues a job whose enqueue was lost with the task of its kind.
        register_job_runner("call_export", call_export_task)
        register_job_runner("vapi_import", assistants_import_task)
        register_job_runner("assistants_push", assistants_push_task)
        register_job_runner("call_tests_run", call_tests_run_task)
        register_job_runner("assistant_push_check", assistant_push_check_task)
