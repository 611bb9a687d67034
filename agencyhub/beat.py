"""Celery beat's schedule (settings.CELERY_BEAT_SCHEDULE): every periodic task, with why and how often it runs."""

from celery.schedules import crontab

BEAT_SCHEDULE: dict = {}
# GHL access tokens live a day; refreshing hours ahead means a live call never waits on a refresh.
BEAT_SCHEDULE["ghl-tokens-refresh-due"] = {
    "task": "integrations.ghl.tasks.tokens_refresh_due_task",
    "schedule": 900.0,
}
BEAT_SCHEDULE["ghl-states-purge"] = {
    "task": "integrations.ghl.tasks.oauth_states_purge_task",
    "schedule": 3600.0,
}
# Webhook inbox: re-enqueue events whose enqueue was lost, retries that are due, dead workers' claims.
BEAT_SCHEDULE["webhook-inbox-sweep"] = {"task": "integrations.tasks.webhook_sweep_task", "schedule": 60.0}
# The watchdog checks every client and sends held alerts once quiet hours end.
BEAT_SCHEDULE["watchdog-run"] = {"task": "voice.watchdog.tasks.watchdog_run_task", "schedule": 900.0}
# Appointment reminders by SMS: planned and sent every five minutes (reminders.LATE_GRACE covers two beats).
BEAT_SCHEDULE["text-reminders-due"] = {
    "task": "voice.messaging.tasks.reminders_due_send_task",
    "schedule": 300.0,
}
# Booking proof: recent bookings are looked up in GHL again, so one moved or deleted there is noticed.
BEAT_SCHEDULE["proof-recheck"] = {"task": "voice.proof.tasks.proof_recheck_task", "schedule": 3600.0}
# Bookings whose GHL answer was lost are looked up and finished; notes no task added are sent again.
BEAT_SCHEDULE["bookings-reconcile"] = {"task": "voice.bookings.tasks.bookings_reconcile_task", "schedule": 60.0}
# Kept appointments: the GHL status (showed, no-show...) of the last two weeks' appointments, re-read nightly.
BEAT_SCHEDULE["kept-reconcile"] = {
    "task": "voice.kept.tasks.kept_reconcile_task",
    "schedule": crontab(hour=3, minute=20),
}
# The monthly client report, on the 1st at noon UTC: the 1st or the 2nd in every time zone, so "last month"
# is the month that just ended wherever the client is.
BEAT_SCHEDULE["client-reports-send"] = {
    "task": "voice.reports.tasks.client_reports_send_task",
    "schedule": crontab(day_of_month=1, hour=12, minute=0),
}
BEAT_SCHEDULE["call-notes-sweep"] = {"task": "voice.calls.tasks.call_notes_sweep_task", "schedule": 300.0}
# Write-backs (tags, contact fields) whose task was lost or retried out, once the client is connected.
BEAT_SCHEDULE["call-writebacks-sweep"] = {
    "task": "voice.writeback.tasks.call_writebacks_sweep_task",
    "schedule": 300.0,
}
# Events spooled while the database was down go into the inbox within a minute of its return.
BEAT_SCHEDULE["webhook-spool-drain"] = {"task": "integrations.tasks.webhook_spool_drain_task", "schedule": 20.0}
# Audit records of availability tool calls and the calls assistant-requests start, queued in Redis by the live
# endpoint, reach the database within seconds.
BEAT_SCHEDULE["tool-call-records-flush"] = {
    "task": "voice.live.tasks.tool_call_records_flush_task",
    "schedule": 5.0,
}
# Jobs and assistant pushes whose enqueue was lost to a broker outage.
BEAT_SCHEDULE["jobs-queued-sweep"] = {"task": "integrations.tasks.jobs_queued_sweep_task", "schedule": 60.0}
BEAT_SCHEDULE["assistants-pending-sweep"] = {
    "task": "voice.assistants.tasks.assistants_pending_sweep_task",
    "schedule": 60.0,
}
