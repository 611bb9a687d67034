from celery import shared_task

from voice.messaging import reminders, services


@shared_task
def text_message_send_task(message_id: int) -> None:
    services.text_message_send(message_id=message_id)


@shared_task
def reminders_due_send_task() -> None:
    reminders.reminders_due_send()
