import uuid

from django.core.management.base import BaseCommand, CommandError

from integrations.inbox import webhook_replay
from integrations.models import WebhookEvent, WebhookStatus


class Command(BaseCommand):
    help = "Resets a stored webhook event and processes it now, printing the outcome."

    def add_arguments(self, parser):
        parser.add_argument("event_id", help="The event's id or public id (UUID).")

    def handle(self, *args, event_id: str, **options):
        event = _event_by_id(event_id)
        if event is None:
            raise CommandError(f"No webhook event {event_id}.")
        outcome = webhook_replay(event=event)
        if outcome is None:
            raise CommandError(f"Event {event.pk} is being processed by a worker right now; try again later.")
        summary = f"Event {outcome.pk} ({outcome.provider} {outcome.event_type}): {outcome.status}"
        summary += f" after {outcome.attempts} attempt{'s' if outcome.attempts != 1 else ''}"
        if outcome.status == WebhookStatus.FAILED:
            self.stdout.write(self.style.ERROR(f"{summary}: {outcome.last_error}"))
        else:
            self.stdout.write(self.style.SUCCESS(summary))


def _event_by_id(event_id: str) -> WebhookEvent | None:
    if event_id.isdigit():
        return WebhookEvent.objects.filter(pk=int(event_id)).first()
    try:
        public_id = uuid.UUID(event_id)
    except ValueError:
        return None
    return WebhookEvent.objects.filter(public_id=public_id).first()
